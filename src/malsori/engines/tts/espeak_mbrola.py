"""eSpeak NG's MBROLA voices: eSpeak NG reads the text (phones, durations, intonation) and MBROLA
speaks it from diphones cut from one real person's recordings.

Their excitation is a human voice's rather than a formant synthesiser's buzz, which is what a
speaker encoder hears most: resynthesising the dev speakers' own speech with a pulse-train
excitation scored only 0.57-0.82 GE2E against the original. Debian has five Spanish men; eight
men's databases of other languages (Italian, French, German, Portuguese, Romanian, Greek) speak
Spanish well enough too, fed Spanish phones (``mb-it3-es``). Whisper base reads them back at
chrF 81-95, against 87.7 for eSpeak NG's own Spanish (VOICES). ``mb-es1+0.95`` is es1 with its
formants scaled by 0.95 (a longer vocal tract).

eSpeak NG's tables for these voices name phones some databases lack (stressed vowels ``e/``,
``l^`` for ``ll``); an unknown phone would be spoken as silence, so each is renamed to the
nearest one the database has. Phrases (expressive output) are read one by one and their pitch
targets moved to the wanted register and spread before MBROLA speaks them in one go: eSpeak NG
ignores SSML pitch for MBROLA voices.

The voices are Debian non-free packages (to be used with MBROLA only, not to be sold):
``bash scripts/install_mbrola_voices.sh es1 es2 ...`` unpacks them and ``mbrola`` into malsori's
model folder; ``apt-get install mbrola mbrola-es1 ...`` (non-free) works too. eSpeak NG only
looks for databases under /usr/share/mbrola or its own data folder, so for a database in
malsori's folder it runs on a data folder of links to its own plus the database.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from malsori.audio import Audio
from malsori.errors import ModelError
from malsori.protocols import Phrase

# Voices by language, as eSpeak NG names them without "mb-": a database ("es1"), or a database
# of another language reading this one through eSpeak NG's MBROLA table for it ("it3-es": it3
# reads Spanish as es1 would; eSpeak NG itself has such voices, e.g. mb-de1-en). Admitted: the
# voices of real speakers Whisper base reads back at chrF 80 or more on 10 Spanish sentences
# (eSpeak NG's es-419: 87.7): es1 90.0, es2 86.5, mx1 90.4, mx2 92.2, vz1 95.1; from other
# languages (all men) it3 89.5, fr3 88.0, de6 86.9, br3 82.4, ro1 81.8, gr1 81.4, de4 81.4,
# gr2 81.1. Left out: es3, the only Spanish woman (62.3: its database lacks most diphones of ll,
# ch, j and rr with vowels), es4 (47: eSpeak NG's es4 table names phones it lacks), fr1 77.6,
# pt1 80.4 (a woman: women's similarity target is met without her), nl2 75.7, en1 73.0, br1 69.3,
# de2 66.1, us2 63.8, us3 57.8.
VOICES = {"spa": ("es1", "es2", "mx1", "mx2", "vz1",
                  "it3-es", "fr3-es", "de6-es", "br3-es", "ro1-es", "gr1-es", "de4-es", "gr2-es")}
# The database whose eSpeak NG table reads a language for the others ("-es" voices).
READERS = {"es": "es1"}
SYSTEM_DIR = Path("/usr/share/mbrola")
# Phones eSpeak NG's tables name -> what a database may have instead, nearest first. Stress
# marks ("e/", "a*") are dropped first; a phone with no stand-in is left to MBROLA, which
# bridges it with silence. Other languages' databases have long or open vowels instead of
# Spanish ones, a uvular or tapped r, h for the jota.
STAND_INS = {"l^": ("jj", "j", "L"), "L": ("jj", "j", "l"), "J^": ("J",), "J": ("n",), "R2": ("r",), "R": ("rr", "r"),
             "rr": ("r", "R"), "r": ("4", "R"), "H": ("x", "h"), "x": ("H", "h", "X", "k"), "jj": ("j", "J\\", "Z", "dZ"),
             "j": ("jj",), "s2": ("s",), "T": ("s", "f"), "eU": ("e",), "B": ("b",), "D": ("d",), "G": ("g",),
             "dZ": ("jj", "j"), "tS": ("ts",), "w": ("u",), "d": ("t",), "g": ("k",),
             "a": ("a:", "A", "A:", "{"), "e": ("e:", "E", "E:"), "i": ("i:", "I"), "o": ("o:", "O", "O:"), "u": ("u:", "U")}
# A phrase's trailing silence from eSpeak NG is replaced by the pause the phrase asks for.
SILENCE = "_"


@dataclass(frozen=True)
class VoiceName:
    """"mb-it3-es+0.95": database it3, reading as eSpeak NG's mb-es1 does, formants x0.95."""

    database: str
    reader: str  # the database whose eSpeak NG voice reads the text
    scale: float = 1.0  # formants scaled by MBROLA reading the database at this multiple of its rate

    @classmethod
    def parse(cls, voice: str) -> "VoiceName | None":
        """None for a name that is not an MBROLA voice's."""
        if not voice.startswith("mb-"):
            return None
        body, _, scale = voice[3:].partition("+")
        database, _, reads = body.partition("-")
        try:
            factor = float(scale) if scale else 1.0
        except ValueError:
            return None
        reader = READERS.get(reads) if reads else database
        return cls(database, reader, factor) if reader and 0.7 <= factor <= 1.4 else None


def mbrola_language(voice: str) -> str:
    """The language an MBROLA voice ("mb-es1", "mb-it3-es+0.95") speaks, as malsori's code ("" if
    none)."""
    name = voice[3:].partition("+")[0]
    return next((code for code, names in VOICES.items() if name in names), "")


@dataclass(frozen=True)
class Phone:
    name: str
    ms: int
    pitch: tuple[tuple[float, float], ...]  # (percent of the phone, Hz) targets

    def line(self) -> str:
        points = " ".join(f"{p:g} {hz:.0f}" for p, hz in self.pitch)
        return f"{self.name} {self.ms} {points}".rstrip()


@dataclass
class Installation:
    program: Path  # the mbrola executable
    databases: dict[str, Path]  # name -> database file


def find_voices(model_dir: str | os.PathLike | None = None) -> Installation:
    """The mbrola program and the known databases found in ``model_dir``, malsori's model folder
    or where Debian's packages put them (an empty ``databases`` when none is installed)."""
    from malsori.models.catalog import imported_dir

    folder = Path(model_dir).expanduser() if model_dir else imported_dir("mbrola-voices")
    program = folder / "mbrola" if (folder / "mbrola").is_file() else None
    system_program = shutil.which("mbrola")
    databases = {}
    for names in VOICES.values():
        for name in {n.partition("-")[0] for n in names} | set(READERS.values()):
            if program and (folder / name / name).is_file():
                databases[name] = folder / name / name
            elif model_dir is None and system_program and (SYSTEM_DIR / name / name).is_file():
                databases[name] = SYSTEM_DIR / name / name
    return Installation(program or Path(system_program or "mbrola"), databases)


def parse_pho(text: str) -> list[Phone]:
    phones = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 2 or line.startswith(";"):
            continue
        values = [float(v) for v in fields[2:]]
        phones.append(Phone(fields[0], int(fields[1]), tuple(zip(values[::2], values[1::2]))))
    return phones


def reshape_pitch(phones: list[Phone], median_hz: float | None, spread_factor: float) -> list[Phone]:
    """Pitch targets moved so that their median is ``median_hz`` (None: kept) and their
    log-distance from it scaled by ``spread_factor``."""
    targets = [hz for phone in phones for _, hz in phone.pitch if hz > 0]
    if not targets:
        return phones
    centre = float(np.median(np.log(targets)))
    goal = float(np.log(median_hz)) if median_hz else centre
    return [Phone(p.name, p.ms, tuple((at, float(np.exp(goal + spread_factor * (np.log(hz) - centre))))
                                      for at, hz in p.pitch if hz > 0)) for p in phones]


def trim_silence(phones: list[Phone]) -> list[Phone]:
    start, end = 0, len(phones)
    while start < end and phones[start].name == SILENCE:
        start += 1
    while end > start and phones[end - 1].name == SILENCE:
        end -= 1
    return phones[start:end]


class EspeakMbrola:
    """Speaks text through eSpeak NG's MBROLA voices ("mb-es1", ...)."""

    def __init__(self, model_dir: str | os.PathLike | None = None, timeout: float = 60.0):
        self.model_dir = model_dir
        self.timeout = timeout
        self._installation: Installation | None = None
        self._known: dict[str, dict[str, bool]] = {}
        self._rates: dict[str, int] = {}
        self._data_path: Path | None = None

    @property
    def installation(self) -> Installation:
        if self._installation is None:
            self._installation = find_voices(self.model_dir)
        return self._installation

    def voices(self, language: str) -> list[str]:
        """eSpeak NG voice names of the installed databases that speak ``language``."""
        if shutil.which("espeak-ng") is None:
            return []
        # Formant-scaled versions ("mb-es1+0.95") are not offered: as extra candidates for
        # expressive output (x0.92/1.08, or x0.9-1.1 in 5% steps) they moved the male similarity
        # gain by +0.002, within run-to-run noise, for 4-15% more time.
        return [f"mb-{n}" for n in VOICES.get(language, ()) if self.speaks(f"mb-{n}")]

    def speaks(self, voice: str) -> bool:
        name = VoiceName.parse(voice)
        return (name is not None and {name.database, name.reader} <= set(self.installation.databases)
                # eSpeak NG's voice file for the reader (`espeak-ng --voices` leaves them out)
                and (espeak_data_dir() / "voices" / "mb" / f"mb-{name.reader}").is_file())

    def phones(self, voice: str, text: str, rate: int, pitch: int, gap: int) -> list[Phone]:
        """eSpeak NG's reading of ``text``, renamed into the database's phones."""
        name = self._parse(voice)
        args = ["espeak-ng", "-v", f"mb-{name.reader}", "-s", str(rate), "-p", str(pitch), "-g", str(gap), "-q", "--pho"]
        proc = self._call(args, text.encode("utf-8"), "espeak-ng", env=self._espeak_env(name.reader))
        return [self._rename(name.database, p) for p in parse_pho(proc.stdout.decode("ascii", errors="replace"))]

    def speak(self, voice: str, text: str, rate: int, pitch: int, gap: int) -> Audio:
        return self.render(voice, self.phones(voice, text, rate, pitch, gap))

    def speak_phrases(self, voice: str, phrases: Sequence[Phrase], rate: int, pitch: int, gap: int,
                      spread: float | None) -> Audio:
        """Each phrase read at its pace, its pitch targets moved to its register and spread
        (relative to the voice's own ``spread`` of log F0), its pause after it, and its level
        applied to its stretch of the output."""
        phones: list[Phone] = [Phone(SILENCE, 100, ())]
        spans = []
        for k, phrase in enumerate(phrases):
            text = phrase.text.strip()
            if k < len(phrases) - 1 and text and text[-1].isalnum():
                text += ","  # a continuation, not a statement's final fall
            said = trim_silence(self.phones(voice, text, int(round(rate * np.clip(phrase.speed, 0.5, 2.5))), pitch, gap))
            factor = float(np.clip(phrase.pitch_spread / spread, 0.2, 2.0)) if phrase.pitch_spread and spread else 1.0
            said = reshape_pitch(said, phrase.pitch_hz, factor)
            start = sum(p.ms for p in phones)
            phones += said
            spans.append((start, start + sum(p.ms for p in said)))
            pause = round(1000 * phrase.pause_after) if phrase.pause_after > 0 else 0
            if pause or k == len(phrases) - 1:
                phones.append(Phone(SILENCE, max(pause, 100), ()))
        speech = self.render(voice, phones)
        gains = np.ones(speech.frames, np.float32)
        for (start_ms, end_ms), phrase in zip(spans, phrases):
            if abs(phrase.volume_db) > 0.1:
                a, b = (int(t * speech.sample_rate / 1000) for t in (start_ms, end_ms))
                gains[a:b] = 10 ** (float(np.clip(phrase.volume_db, -12, 12)) / 20)
        return Audio(speech.samples * gains[:speech.frames], speech.sample_rate)

    def render(self, voice: str, phones: list[Phone]) -> Audio:
        from malsori.engines.tts.mbrola import run_mbrola

        name = self._parse(voice)
        read_rate = round(self.database_rate(name.database) * name.scale) if name.scale != 1.0 else None
        return run_mbrola(self.installation.program, self._database(name.database),
                          "\n".join(p.line() for p in phones) + "\n", read_rate, self.timeout)

    def database_rate(self, database: str) -> int:
        """The sample rate the database was recorded at (the rate MBROLA speaks it at)."""
        if database not in self._rates:
            self._rates[database] = self.render(f"mb-{database}", [Phone(SILENCE, 20, ())]).sample_rate
        return self._rates[database]

    def knows(self, database: str, phone: str) -> bool:
        """Whether the database has ``phone`` (its diphones with silence)."""
        known = self._known.setdefault(database, {SILENCE: True})
        if phone not in known:
            pho = f"_ 50\n{phone} 80\n_ 50\n".encode("ascii", errors="replace")
            proc = subprocess.run([str(self.installation.program), str(self._database(database)), "-", "-.raw"],
                                  input=pho, capture_output=True, timeout=self.timeout)
            known[phone] = proc.returncode == 0 and b"unknown" not in proc.stderr
        return known[phone]

    def _rename(self, database: str, phone: Phone) -> Phone:
        if self.knows(database, phone.name):
            return phone
        bare = phone.name.replace("/", "").replace("*", "")
        for name in (bare, *STAND_INS.get(bare, ())):
            if name and self.knows(database, name):
                return Phone(name, phone.ms, phone.pitch)
        return phone

    def _parse(self, voice: str) -> VoiceName:
        name = VoiceName.parse(voice)
        if name is None:
            raise ModelError(f"{voice!r} is not an MBROLA voice name (mb-es1, mb-it3-es, mb-es1+0.95)")
        return name

    def _database(self, name: str) -> Path:
        try:
            return self.installation.databases[name]
        except KeyError:
            raise ModelError(f"the MBROLA voice {name} is not installed: bash scripts/install_mbrola_voices.sh {name} "
                             f"(in malsori's source), or apt-get install mbrola mbrola-{name} from Debian non-free") from None

    def _espeak_env(self, database: str) -> dict[str, str] | None:
        """eSpeak NG finds MBROLA databases only in /usr/share/mbrola or its data folder: for one
        elsewhere, a data folder of links to its own plus the database (made once)."""
        path = self._database(database)
        env = dict(os.environ, PATH=f"{self.installation.program.parent}{os.pathsep}{os.environ.get('PATH', '')}")
        if path.parent.parent == SYSTEM_DIR:
            return env
        if self._data_path is None:
            self._data_path = _overlay(espeak_data_dir(), self.installation.databases)
        env["ESPEAK_DATA_PATH"] = str(self._data_path)
        return env

    def _call(self, args: list[str], data: bytes, what: str, env: dict | None = None) -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run(args, input=data, capture_output=True, timeout=self.timeout, env=env)
        except subprocess.TimeoutExpired:
            raise ModelError(f"{what} did not finish within {self.timeout:.0f} s") from None
        except OSError as exc:
            raise ModelError(f"{what} could not run: {exc}") from None
        if proc.returncode != 0:
            raise ModelError(f"{what} failed: {proc.stderr.decode(errors='replace').strip()[:200]}")
        return proc


@functools.lru_cache(maxsize=1)
def espeak_data_dir() -> Path:
    """eSpeak NG's own data folder ("Data at: ..." in its version line)."""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=20).stdout
    if "Data at:" not in out:
        raise ModelError(f"cannot tell where espeak-ng keeps its data: {out.strip()[:120]}")
    return Path(out.split("Data at:", 1)[1].strip())


def _overlay(data_dir: Path, databases: dict[str, Path]) -> Path:
    """A folder whose espeak-ng-data links to ``data_dir``'s entries, with mbrola/NAME linking to
    each database. Made in a fresh temporary folder: nothing shared is written."""
    root = Path(tempfile.mkdtemp(prefix="malsori-espeak-"))
    atexit.register(shutil.rmtree, root, True)
    data = root / "espeak-ng-data"
    (data / "mbrola").mkdir(parents=True)
    for entry in data_dir.iterdir():
        if entry.name != "mbrola":
            (data / entry.name).symlink_to(entry)
    for name, path in databases.items():
        (data / "mbrola" / name).symlink_to(path)
    return root
