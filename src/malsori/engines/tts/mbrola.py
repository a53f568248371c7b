"""Korean speech from the MBROLA diphone voice hn1, driven entirely by malsori's front-end.

The voice knows only phones: normalisation, the Standard Pronunciation rules (``text.ko.g2p``),
allophones (``text.ko.phonetic``), durations and intonation are all ours. Intonation follows
the Seoul Korean accentual phrase (Jun's T-H-L-H: a word starts high after an aspirated or tense
consonant, ㅅ or ㅎ, low otherwise, rises on its second syllable and ends high), under a gentle
declination, with a low fall at the end of a statement and a rise at the end of a question.
Phrases (expressive output) set their own register, pitch spread, pace, level and pauses in the
same plan. Two voices: hn1, and hn1-f with its formants and pitch raised.

The voice is Debian's ``mbrola-hn1`` (non-free: to be used with MBROLA only, not to be sold):
``bash scripts/install_korean_voice.sh`` unpacks it and the ``mbrola`` program into malsori's
model folder, or ``apt-get install mbrola mbrola-hn1`` with non-free enabled.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from malsori.audio import Audio
from malsori.errors import LanguageError, ModelError
from malsori.languages import language as lookup
from malsori.protocols import Phrase
from malsori.text.ko.phonetic import syllables

# Our IPA phones -> hn1's SAMPA symbols.
CONSONANTS = {"k": "k", "ɡ": "g", "k͈": "k_>", "kʰ": "k_h", "t": "t", "d": "d", "t͈": "t_>", "tʰ": "t_h",
              "p": "p", "b": "b", "p͈": "p_>", "pʰ": "p_h", "s": "s", "s͈": "s_>", "ɕ": "s\\", "ɕ͈": "s_>",
              "tɕ": "ts\\", "dʑ": "dz\\", "t͈ɕ": "ts\\_>", "tɕʰ": "ts\\_h", "h": "h", "ɦ": "h", "m": "m", "n": "n",
              "ɾ": "4", "l": "l"}
CODAS = {"k̚": "k_}", "t̚": "t_}", "p̚": "p_}", "n": "n_}", "m": "m_}", "l": "l_}", "ŋ": "N"}
VOWELS = {"a": "a", "ɛ": "E", "ʌ": "V", "e": "e", "o": "o", "u": "u", "ɯ": "M", "i": "i", "ja": "ja", "jɛ": "jE",
          "jʌ": "jV", "je": "je", "jo": "jo", "ju": "ju", "wa": "wa", "wɛ": "wE", "we": "we", "wʌ": "wV",
          "wi": "wi", "ɰi": "M\\i"}
# Onset durations in ms (aspiration and frication take longer than a flap).
ONSET_MS = {"4": 28, "h": 55, "s": 90, "s_>": 100, "s\\": 90, "ts\\_h": 90, "ts\\_>": 85, "k_h": 80, "t_h": 80,
            "p_h": 80, "k_>": 80, "t_>": 80, "p_>": 80, "l": 60}
DEFAULT_ONSET_MS = 60
# An accentual phrase starting with these consonants starts high.
HIGH_ONSETS = {"k_h", "t_h", "p_h", "ts\\_h", "k_>", "t_>", "p_>", "ts\\_>", "s", "s_>", "s\\", "h"}
PAUSE_MS = {",": 250, ";": 300, ":": 300, ".": 450, "?": 450, "!": 450}
PHRASE_RE = re.compile(r"([^,;:.?!]+)([,;:.?!]*)")
# Standard deviation of log F0 that the intonation above gives a phrase (measured with Praat on
# five sentences spoken with the defaults: 0.07-0.10); a Phrase's pitch_spread is relative to it.
SPREAD = 0.08


@dataclass(frozen=True)
class Variant:
    formant_scale: float  # > 1 shortens the vocal tract: a woman's or a child's formants
    pitch_hz: float | None  # median F0; None: the synthesiser's pitch_hz


DATABASE_RATE = 16000
SYSTEM_DATABASE = Path("/usr/share/mbrola/hn1/hn1")  # where Debian's mbrola-hn1 puts it
# hn1 is one man's voice. Its formants scaled by 1.19 (about the ratio of women's to men's) and its
# pitch raised give a second, higher voice for female speakers and listeners who want one; Whisper
# base read both at 22.7% CER on 20 dev scripts.
VOICES = {"hn1": Variant(1.0, None), "hn1-f": Variant(1.19, 210.0)}


@dataclass
class Installation:
    program: Path  # the mbrola executable
    database: Path  # hn1's diphone database


def find_voice(model_dir: str | os.PathLike | None = None) -> Installation:
    """The mbrola program and hn1 database: in ``model_dir``, malsori's model folder, or where
    Debian's packages put them."""
    from malsori.models.catalog import imported_dir

    folders = [Path(model_dir).expanduser()] if model_dir else [imported_dir("mbrola-hn1")]
    for folder in folders:
        if (folder / "hn1" / "hn1").is_file() and (folder / "mbrola").is_file():
            return Installation(folder / "mbrola", folder / "hn1" / "hn1")
    program = shutil.which("mbrola")
    if model_dir is None and SYSTEM_DATABASE.is_file() and program:
        return Installation(Path(program), SYSTEM_DATABASE)
    where = model_dir or imported_dir("mbrola-hn1")
    raise ModelError(f"the Korean MBROLA voice is not installed in {where}: bash scripts/install_korean_voice.sh "
                     "(in malsori's source), or apt-get install mbrola mbrola-hn1 from Debian non-free")


class MbrolaKoreanSynthesizer:
    """Synthesizer protocol over MBROLA hn1 (Korean only, one male voice, 16 kHz)."""

    name = "mbrola-hn1"
    supports_speed = True

    def __init__(self, model_dir: str | os.PathLike | None = None, pitch_hz: float = 118.0, tempo: float = 1.45,
                 front_end: bool = True, timeout: float = 60.0):
        self.model_dir = model_dir
        # Without the front-end the syllables are spoken as spelled (no normalisation, no
        # pronunciation rules): the baseline that shows what the front-end is worth.
        self.front_end = front_end
        self.pitch_hz = pitch_hz
        # Durations are stretched by this much. Whisper base's CER on 40 emotional dev scripts at
        # 1.15, 1.3, 1.45, 1.6 and 1.8: 25.8, 20.2, 16.9, 22.0 and 20.9%; on 40 news sentences at
        # 1.3 and 1.45: 28.5 and 22.8%.
        self.tempo = tempo
        self.timeout = timeout
        self._installation: Installation | None = None

    def voice_languages(self) -> set[str]:
        return {"kor"}

    def voices(self, language: str) -> list[str]:
        return list(VOICES) if lookup(language).code == "kor" else []

    def synthesize(self, text: str, language: str, voice: str | None = None, speed: float = 1.0) -> Audio:
        variant = self._check(language, voice)
        return self._run(self.phonemes(text, speed, voice), variant.formant_scale)

    def synthesize_phrases(self, phrases: Sequence[Phrase], language: str, voice: str | None = None) -> Audio:
        """The phrases as one utterance (PhraseSynthesizer): each phrase's register, pitch spread
        and pace go straight into the phone plan, so nothing is resynthesised; pauses are silences
        in the plan, and each phrase's level is applied to its stretch of the output."""
        variant = self._check(language, voice)
        lines, spans = self._plan([(p.text, p.pitch_hz, p.pitch_spread, p.speed, p.pause_after) for p in phrases],
                                  variant.pitch_hz or self.pitch_hz)
        speech = self._run("\n".join(lines) + "\n", variant.formant_scale)
        gains = np.ones(speech.frames, np.float32)
        for (start_ms, end_ms), phrase in zip(spans, phrases):
            if abs(phrase.volume_db) > 0.1:
                a, b = (int(t * speech.sample_rate / 1000) for t in (start_ms, end_ms))
                gains[a:b] = 10 ** (phrase.volume_db / 20)
        return Audio(speech.samples * gains[:speech.frames], speech.sample_rate)

    def phonemes(self, text: str, speed: float = 1.0, voice: str | None = None) -> str:
        """MBROLA's .pho input for ``text``: one phone a line with its duration and pitch targets."""
        base = VOICES[voice or "hn1"].pitch_hz or self.pitch_hz
        return "\n".join(self._plan([(text, None, None, speed, 0.0)], base)[0]) + "\n"

    def _check(self, language: str, voice: str | None) -> "Variant":
        if lookup(language).code != "kor":
            raise LanguageError(f"{self.name} speaks Korean only, not {language}")
        if voice is not None and voice not in VOICES:
            raise LanguageError(f"{self.name} has the voices {', '.join(VOICES)}, not {voice!r}")
        return VOICES[voice or "hn1"]

    def _plan(self, phrases: list[tuple[str, float | None, float | None, float, float]], default_hz: float
              ) -> tuple[list[str], list[tuple[int, int]]]:
        """Phone lines for (text, median Hz, log-F0 spread, speed, pause after) phrases, and each
        phrase's span in ms. Punctuation inside a phrase breaks it further, with its own pause."""
        from malsori.text.ko.g2p import pronounce

        lines, spans, clock = ["_ 120"], [], 120
        for number, (text, pitch_hz, spread, speed, pause_after) in enumerate(phrases):
            scale = self.tempo / max(0.25, speed)
            spoken = pronounce(text).text if self.front_end else text
            parts = [(words, mark) for body, mark in PHRASE_RE.findall(spoken)
                     if (words := [w for w in body.split() if syllables(w)])]
            # The intonation's own spread is about SPREAD; a wanted spread widens or narrows it.
            stretch = float(np.clip(spread / SPREAD, 0.3, 3.0)) if spread else 1.0
            base = pitch_hz or default_hz
            last_phrase = number == len(phrases) - 1
            total = sum(len(words) for words, _ in parts)
            index, start, first_line = 0, clock, len(lines)
            for k, (words, mark) in enumerate(parts):
                final_part = k == len(parts) - 1
                for j, word in enumerate(words):
                    # Declination: each word starts a little lower than the one before.
                    level = base * (1.0 - 0.12 * stretch * (index / max(1, total) - 0.5))
                    index += 1
                    boundary = ""
                    if j == len(words) - 1:
                        boundary = mark[:1] or ("." if final_part and last_phrase else ",")
                    word_lines = self._word(word, level, boundary, scale, stretch)
                    lines.extend(word_lines)
                    clock += sum(int(line.split()[1]) for line in word_lines)
                if not final_part:
                    pause = PAUSE_MS.get(mark[:1], 250)
                    lines.append(f"_ {pause}")
                    clock += pause
            if pitch_hz:
                lines[first_line:] = _centre_pitch(lines[first_line:], pitch_hz)
            spans.append((start, clock))
            pause = round(1000 * pause_after) if pause_after > 0 else (300 if last_phrase and parts else 0)
            if pause:
                lines.append(f"_ {pause}")
                clock += pause
        return lines, spans

    def _word(self, word: str, level: float, boundary: str, scale: float, stretch: float = 1.0) -> list[str]:
        """One accentual phrase; ``boundary`` is the punctuation that ends it, if any (a comma, or
        nothing inside a sentence, rises to continue; a full stop falls; a question rises high)."""
        parts = syllables(word)
        lines = []
        first_onset = CONSONANTS.get(parts[0][0][0]) if parts[0][0] else None
        for k, (onset, vowel, coda) in enumerate(parts):
            tone = _tone(k, len(parts), first_onset in HIGH_ONSETS) ** stretch
            for phone in onset:
                symbol = CONSONANTS[phone]
                lines.append(f"{symbol} {round(ONSET_MS.get(symbol, DEFAULT_ONSET_MS) * scale)}")
            final = k == len(parts) - 1
            ms = 90 + (15 if len(vowel) > 1 else 0) + (20 if final else 0) + (50 if final and boundary else 0)
            hz = level * tone
            if final and boundary == "?":
                pitch = f"20 {hz:.0f} 100 {level * 1.4 ** stretch:.0f}"  # question: a high rise
            elif final and boundary in (".", "!"):
                pitch = f"20 {hz * 0.95:.0f} 100 {level * 0.78 ** stretch:.0f}"  # statement: a low fall
            else:
                pitch = f"50 {hz:.0f}"
            lines.append(f"{VOWELS[''.join(vowel)]} {round(ms * scale)} {pitch}")
            for phone in coda:
                lines.append(f"{CODAS[phone]} {round(65 * scale)}")
        return lines

    def _run(self, pho: str, formant_scale: float = 1.0) -> Audio:
        if self._installation is None:
            self._installation = find_voice(self.model_dir)
        installed = self._installation
        return run_mbrola(installed.program, installed.database, pho,
                          round(DATABASE_RATE * formant_scale) if formant_scale != 1.0 else None, self.timeout)


def run_mbrola(program: Path, database: Path, pho: str, read_rate: int | None = None, timeout: float = 60.0) -> Audio:
    """MBROLA speaking ``pho`` from ``database``. ``read_rate``: the database is read as if
    recorded at that rate, which scales every formant (its own rate / ``read_rate``)."""
    import tempfile

    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="malsori-mbrola-") as folder:
        out = Path(folder) / "speech.wav"  # a file: MBROLA cannot go back to fill in a piped WAV header
        # -e: a missing diphone is bridged rather than fatal (databases lack a few rare pairs).
        scale = ["-l", str(read_rate)] if read_rate else []
        try:
            proc = subprocess.run([str(program), "-e", *scale, str(database), "-", str(out)],
                                  input=pho.encode("ascii", errors="replace"), capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ModelError(f"mbrola did not finish within {timeout:.0f} s") from None
        except OSError as exc:
            raise ModelError(f"mbrola could not run: {exc}") from None
        if proc.returncode != 0 or not out.is_file():
            raise ModelError(f"mbrola failed: {proc.stderr.decode(errors='replace').strip()[:200]}")
        samples, rate = sf.read(out, dtype="float32")
    return Audio(samples, int(rate))


def _centre_pitch(lines: list[str], median_hz: float) -> list[str]:
    """Phone lines with every pitch target scaled so that their median is ``median_hz``: the
    accentual phrases spend more time high than low, which would raise a wanted register."""
    from malsori.engines.tts.espeak_mbrola import parse_pho, reshape_pitch

    return [phone.line() for phone in reshape_pitch(parse_pho("\n".join(lines)), median_hz, 1.0)]


def _tone(position: int, length: int, starts_high: bool) -> float:
    """Pitch of a syllable relative to the phrase's level: T H ... L H (Seoul accentual phrase)."""
    low, high = 0.92, 1.12
    if length == 1:
        return high
    if position == length - 1:
        return high
    if position == 0:
        return high if starts_high else low
    if position == 1:
        return high * 0.98
    return low if position == length - 2 else (low + high) / 2
