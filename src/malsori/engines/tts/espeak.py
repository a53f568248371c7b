"""eSpeak NG: robotic but intelligible speech in about 100 languages (the Debian program)."""

from __future__ import annotations

import functools
import html
import io
import re
import shutil
import subprocess
from typing import Sequence

import numpy as np

from malsori.audio import Audio
from malsori.engines.tts.espeak_mbrola import EspeakMbrola, mbrola_language
from malsori.errors import LanguageError, ModelError
from malsori.languages import LANGUAGES, language as lookup
from malsori.protocols import Phrase

# espeak-ng voice names that differ from the ISO 639-1 code, or that sound better than the default.
_VOICE_OVERRIDES = {
    "spa": "es-419", "eng": "en-us", "cmn": "cmn", "yue": "yue", "por": "pt-br", "nob": "nb", "haw": "haw",
    "jav": "jv", "pes": "fa", "zsm": "ms", "swh": "sw", "als": "sq", "khk": "mn", "uzn": "uz",
    "npi": "ne", "lvs": "lv", "pbt": "ps", "azj": "az", "plt": "mg",
}


@functools.lru_cache(maxsize=1)
def installed_voices() -> dict[str, str]:
    """Language tag -> the voice that speaks it, from the installed eSpeak NG's own list."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        return {}
    return parse_voice_list(subprocess.run([exe, "--voices"], capture_output=True, text=True, timeout=20).stdout)


_ALSO_SPEAKS = re.compile(r"\(([\w-]+) (\d+)\)")


def parse_voice_list(listing: str) -> dict[str, str]:
    """``espeak-ng --voices`` read into language tag -> voice. A voice answers for its own tag
    and for the tags in its "Other Languages" column ("(fr 5)": fr-fr speaks plain "fr"); where
    several answer, the lowest priority number wins, as in eSpeak NG's own choice."""
    best: dict[str, tuple[int, str]] = {}
    for line in listing.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 4 or not cols[0].isdigit():
            continue
        voice = cols[1].lower()
        offers = [(voice, int(cols[0]))] + [(tag.lower(), int(p)) for tag, p in _ALSO_SPEAKS.findall(line)]
        for tag, priority in offers:
            if tag not in best or priority < best[tag][0]:
                best[tag] = (priority, voice)
    return {tag: voice for tag, (_, voice) in best.items()}


def espeak_voice(code: str) -> str | None:
    """The installed voice for a language: our preferred one, else whichever eSpeak NG lists for
    the language's ISO 639-1 or 639-3 code."""
    lang = lookup(code)
    voices = installed_voices()
    for cand in (_VOICE_OVERRIDES.get(lang.code), lang.iso1, lang.code):
        if cand and cand.lower() in voices:
            return voices[cand.lower()]
    return None


# Vowels and sonorants most voices pronounce alike, to measure a voice's pitch on.
_CALIBRATION_TEXT = "a e i o u, la le li lo lu, ma me mi mo mu."
# Longer, with phrase breaks, for a voice's pace: the vowels alone measured m4 10% slow, 5% on
# sentences.
_PACE_TEXT = _CALIBRATION_TEXT + " mama papa, la casa de la mesa, no se, si lo dice, tampoco."

# How far eSpeak's median log F0 rises per unit of added log-F0 spread (range setting), measured
# on es-419 and es-419+f3 at two pitch levels: 1.6-1.7.
_MEDIAN_PER_SPREAD = 1.65

# eSpeak NG's variants that sound like people and that Whisper base reads as well as the default
# voice: round-trip chrF no more than 3 below it on 8 Spanish and 6 English sentences (default
# 76.6 / 88.9). Left out: boris (48.7 Spanish; it was the nearest voice for low male speakers and
# cost expressive output most of its intelligibility), belinda 64.4, f4 65.6, m1 70.3, m7 71.2,
# steph 71.5, linda 72.6. A second screening, on 6 other Spanish sentences at the default pace,
# found Annie at 57.3 and f1 at 78.8 against 85.9: without them the expressive benchmark's
# round-trip chrF cost went from -5.6% to -3.3% and -2.4% (two runs), with similarity unchanged.
# A third screening (10 other Spanish sentences, half at 110 Hz and half at 200 Hz; default 68.0)
# added the variants that were nearest a dev speaker after equalisation and read at 66 or better:
# edward2 81.8, Gene2 77.0, caleb 76.2, klatt4 75.2, klatt5 74.2, antonio 72.8, benjamin 68.3.
# Nearest but left out: pedro 66.5 (the lowest; with it the benchmark's chrF cost was -5.7%,
# without it -2.8%), Andrea 52.4, Andy 49.0, aunty 55.7, shelby 54.2, linda 52.8, norbert 42.3,
# zac 54.5. One utterance's chrF is too noisy to judge a voice by: antonio's three picks read
# 10-38 points below the plain output, and the voices chosen without antonio read no better.
SPEAKER_VARIANTS = ("m2", "m3", "m4", "m5", "m6", "f2", "f3", "f5", "klatt", "klatt2", "klatt3", "klatt4", "klatt5",
                    "edward", "edward2", "max", "michel", "Gene2", "caleb", "antonio", "benjamin")


class EspeakSynthesizer:
    """Synthesizer protocol over ``espeak-ng``.

    Defaults chosen by how well Whisper base re-transcribes the output (round-trip chrF on 45 dev
    sentences, Spanish): espeak's own 175 wpm gave 54.5, 120 wpm with 30 ms between words and the
    Latin American voice 72.2. Slower, gapped speech is what a listener follows best too.
    """

    name = "espeak-ng"
    supports_speed = True

    def __init__(self, rate: int = 120, pitch: int = 50, word_gap: int = 3, phrase_word_gap: int = 1,
                 timeout: float = 60.0, mbrola_dir: str | None = None):
        self.rate = rate  # words per minute
        self.pitch = pitch  # 0..99
        self.word_gap = word_gap  # pause between words, in units of 10 ms
        # In phrases the pauses are given: 30 ms gaps made 14 extra pauses of >= 0.1 s over 8 Spanish
        # sentences (20 when slowed to 0.75), 10 ms none (8), for the same round-trip chrF (76 vs 76).
        self.phrase_word_gap = phrase_word_gap
        self.timeout = timeout
        self._calibration: dict[str, tuple[float | None, float, float]] = {}
        self._pace: dict[str, float] = {}
        # eSpeak NG's MBROLA voices ("mb-es1", ...), where their databases are installed.
        self.mbrola = EspeakMbrola(mbrola_dir, timeout)

    def voice_languages(self) -> set[str]:
        return {code for code in LANGUAGES if espeak_voice(code)}

    def voices(self, language: str) -> list[str]:
        """The language's voice and its speaker variants (pitch, formant scale, breathiness),
        for choosing the one nearest a speaker. Novelty variants (robots, whisper) are left out."""
        base = espeak_voice(language)
        if not base:
            return []
        return [base] + [f"{base}+{v}" for v in SPEAKER_VARIANTS] + self.mbrola.voices(lookup(language).code)

    def whisper_voice(self, language: str) -> str | None:
        """The language's voice whispering (eSpeak NG's own noise-excited variant). Whisper base
        re-transcribed it at chrF 72.8 on 6 Spanish sentences, against 25 for LPC-whispered
        normal speech; all 6 were classified as whispered."""
        base = espeak_voice(language)
        return f"{base}+whisper" if base else None

    def synthesize(self, text: str, language: str, voice: str | None = None, speed: float = 1.0) -> Audio:
        name = self._voice(language, voice)
        rate = int(round(self.rate * speed * self.pace(name)))
        return self._run(name, text, rate=rate, gap=int(round(self.word_gap / speed)))

    def synthesize_phrases(self, phrases: Sequence[Phrase], language: str, voice: str | None = None) -> Audio:
        """The phrases as one SSML utterance: eSpeak NG changes pitch, range, rate and volume
        itself (no resynthesis artefacts) and keeps one intonation across the breaks. A comma's
        pause is replaced by the break that follows it, and a sentence's ends by it."""
        name = self._voice(language, voice)
        base_hz, per_unit, spread = self.pitch_calibration(name)
        if self.mbrola.speaks(name):
            return self.mbrola.speak_phrases(name, phrases, int(round(self.rate * self.pace(name))), self.pitch,
                                             self.phrase_word_gap, spread)
        parts = []
        for phrase in phrases:
            attrs = []
            factor = 1.0
            if phrase.pitch_spread and spread:
                factor = float(np.clip(phrase.pitch_spread / spread, 0.2, 2.0))
                attrs.append(f'range="{100 * (factor - 1):+.0f}%"')
            if phrase.pitch_hz and base_hz:
                # eSpeak's pitch setting is close to logarithmic in Hz over 10..99, and widening
                # the range raises the median too (the base is its floor).
                log_shift = np.log(phrase.pitch_hz / base_hz) - _MEDIAN_PER_SPREAD * spread * (factor - 1)
                level = float(np.clip(self.pitch + log_shift / per_unit, 10, 99))
                attrs.append(f'pitch="{100 * (level / self.pitch - 1):+.0f}%"')
            speed = phrase.speed * self.pace(name)
            if abs(speed - 1) > 0.02:
                attrs.append(f'rate="{100 * (float(np.clip(speed, 0.5, 2.5)) - 1):+.0f}%"')
            if abs(phrase.volume_db) > 0.3:
                attrs.append(f'volume="{100 * (10 ** (float(np.clip(phrase.volume_db, -12, 12)) / 20) - 1):+.0f}%"')
            # A comma's pause would add to the breaks: where to pause is the phrases' business.
            text = html.escape(re.sub(r"\s*[,;:]+(\s|$)", r"\1", phrase.text), quote=False)
            parts.append(f"<prosody {' '.join(attrs)}>{text}</prosody>" if attrs else text)
            if phrase.pause_after > 0:
                # eSpeak's break comes out about 40 ms longer than asked (measured on es-419).
                parts.append(f'<break time="{max(0, round(1000 * phrase.pause_after) - 40)}ms"/>')
        return self._run(name, "<speak>" + " ".join(parts) + "</speak>", rate=self.rate,
                         gap=self.phrase_word_gap, ssml=True)

    def pitch_reach(self, voice: str) -> tuple[float, float] | None:
        """The lowest and highest median F0 (Hz) the voice reaches through its pitch setting."""
        base_hz, per_unit, _ = self.pitch_calibration(voice)
        if base_hz is None:
            return None
        return base_hz * float(np.exp(per_unit * (10 - self.pitch))), base_hz * float(np.exp(per_unit * (99 - self.pitch)))

    def pace(self, voice: str) -> float:
        """The rate factor that gives ``voice`` its language voice's pace: variants that lengthen
        or shorten stressed syllables (antonio and pedro speak 21% faster) would otherwise carry
        their own pace into the source's."""
        base = voice.split("+")[0]
        if self.mbrola.speaks(voice):  # an MBROLA voice keeps its language's eSpeak NG voice's pace
            base = espeak_voice(mbrola_language(voice)) or base
        if voice == base:
            return 1.0
        if voice not in self._pace:
            own, plain = (_speech_span(self._run(v, _PACE_TEXT, self.rate, self.word_gap)) for v in (voice, base))
            self._pace[voice] = float(np.clip(own / plain, 0.5, 2.0)) if own > 0 and plain > 0 else 1.0
        return self._pace[voice]

    def pitch_calibration(self, voice: str) -> tuple[float | None, float, float]:
        """(median F0 in Hz at the default pitch setting, log-Hz per pitch unit, the voice's spread
        of log F0), measured once per voice on a short neutral sentence."""
        if voice not in self._calibration:
            from malsori.prosody.analysis import analyze

            low = analyze(self._run(voice, _CALIBRATION_TEXT, self.rate, self.word_gap))
            high = analyze(self._run(voice, _CALIBRATION_TEXT, self.rate, self.word_gap, pitch=self.pitch + 30))
            stats_low, stats_high = low.log_f0_stats(), high.log_f0_stats()
            if stats_low is None or stats_high is None:
                self._calibration[voice] = (None, 0.01, 0.1)
            else:
                per_unit = float(np.clip((stats_high[0] - stats_low[0]) / 30, 0.004, 0.02))
                self._calibration[voice] = (float(np.nanmedian(low.f0)), per_unit, stats_low[1])
        return self._calibration[voice]

    def _voice(self, language: str, voice: str | None) -> str:
        if shutil.which("espeak-ng") is None:
            raise ModelError("espeak-ng is not installed: apt-get install espeak-ng")
        name = voice or espeak_voice(language)
        if name is None:
            raise LanguageError(f"espeak-ng has no voice for {LANGUAGES[lookup(language).code].name}")
        return name

    def _run(self, voice: str, text: str, rate: int, gap: int, pitch: int | None = None, ssml: bool = False) -> Audio:
        if not ssml and self.mbrola.speaks(voice):
            return self.mbrola.speak(voice, text, rate, self.pitch if pitch is None else pitch, gap)
        args = ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(self.pitch if pitch is None else pitch),
                "-g", str(gap), "--stdout"] + (["-m"] if ssml else [])
        try:
            proc = subprocess.run(args, input=text.encode("utf-8"), capture_output=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise ModelError(f"espeak-ng did not finish within {self.timeout:.0f} s") from None
        if proc.returncode != 0:
            raise ModelError(f"espeak-ng failed: {proc.stderr.decode(errors='replace').strip()[:200]}")
        import soundfile as sf

        samples, sample_rate = sf.read(io.BytesIO(proc.stdout), dtype="float32")
        return Audio(samples, int(sample_rate))


def _speech_span(audio: Audio) -> float:
    """Seconds from the first to the last sample above 2% of the peak."""
    level = np.abs(audio.to_mono().samples)
    loud = np.flatnonzero(level > 0.02 * level.max()) if level.size else level
    return (loud[-1] - loud[0]) / audio.sample_rate if loud.size > 1 else 0.0
