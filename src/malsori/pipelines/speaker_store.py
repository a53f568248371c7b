"""Enrolled voices in an SQLite file: enrol, identify, list, remove.

SQLite in write-ahead-log mode lets any number of readers identify while one process enrols,
and every enrolment is one transaction: a speaker's recordings are all stored or none are.

Each recording keeps its audio (16-bit, at most 16 kHz) and one voiceprint per encoder, so a
database enrolled with one encoder is scored with another by embedding the kept audio once, on
demand. Databases from before audio was kept (schema 1: GE2E vectors only) are migrated in place;
their recordings keep the GE2E voiceprints and are flagged as having no audio: those speakers are
scored with GE2E until they are enrolled again.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from malsori.audio import Audio
from malsori.engines.speaker import unit
from malsori.errors import MalsoriError
from malsori.pipelines.verify import DEFAULT_THRESHOLD, Verifier, is_narrowband, narrowband_fusion

# Identification's "unknown" line, on the cosine to the best voiceprint: GE2E's wide-band EER point;
# for CAM++ the calibrated verifier's even-odds boundary for 3 s of speech (verify.CALIBRATION).
IDENTIFY_THRESHOLDS = {"ge2e": DEFAULT_THRESHOLD, "campplus": 0.5}

SCHEMA_VERSION = 2
RECORDINGS = """
CREATE TABLE IF NOT EXISTS recordings (
    id INTEGER PRIMARY KEY,
    speaker TEXT NOT NULL REFERENCES speakers(name) ON DELETE CASCADE,
    source TEXT NOT NULL,
    sample_rate INTEGER,
    audio BLOB
);
CREATE TABLE IF NOT EXISTS voiceprints (
    recording INTEGER NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
    encoder TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (recording, encoder)
);
"""
SCHEMA = """
CREATE TABLE IF NOT EXISTS speakers (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL
);
""" + RECORDINGS
# Schema 1 kept one vector per recording and no audio; its vectors become GE2E (or whichever
# encoder the row names) voiceprints of audio-less recordings.
MIGRATE_FROM_1 = "ALTER TABLE recordings RENAME TO recordings_v1;" + RECORDINGS + """
INSERT INTO recordings(id, speaker, source) SELECT id, speaker, source FROM recordings_v1;
INSERT INTO voiceprints(recording, encoder, vector) SELECT id, encoder, vector FROM recordings_v1;
DROP TABLE recordings_v1;
"""
KEPT_RATE = 16000  # both encoders work at 16 kHz; narrow-band audio is kept at its own rate


def default_path() -> Path:
    home = os.environ.get("MALSORI_HOME") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share"), "malsori")
    return Path(home) / "speakers.db"


@dataclass(frozen=True)
class Candidate:
    name: str
    score: float


@dataclass
class Identification:
    """``name`` is the best candidate, or "unknown" when even the best is below the threshold."""

    name: str
    score: float
    threshold: float
    candidates: list[Candidate]

    def to_dict(self) -> dict:
        return {"name": self.name, "score": round(self.score, 4), "threshold": self.threshold,
                "candidates": [{"name": c.name, "score": round(c.score, 4)} for c in self.candidates]}


@dataclass(frozen=True)
class EnrolledSpeaker:
    name: str
    recordings: int
    created: float
    encoders: tuple[str, ...] = ()  # encoders with a voiceprint of every recording
    audio_kept: int = 0  # recordings whose audio is kept (re-embeddable with any encoder)


class SpeakerStore:
    def __init__(self, path: str | Path | None = None, verifier: Verifier | None = None,
                 threshold: float | None = None, timeout_s: float = 10.0):
        """Without a ``verifier``, the default encoder, unless some recordings predate kept audio
        and have no voiceprint from it: then the encoder they were enrolled with, so old databases
        keep working. ``threshold``: the cosine under which the best match is "unknown"."""
        self.path = Path(path) if path else default_path()
        self.timeout_s = timeout_s
        self.verifier = verifier or Verifier(self.default_encoder())
        self.threshold = threshold if threshold is not None else IDENTIFY_THRESHOLDS.get(
            self.verifier.encoder.name, DEFAULT_THRESHOLD)

    def default_encoder(self) -> str | None:
        """The encoder that can score every recording when the default cannot (None: the default)."""
        if not self.path.exists():
            return None
        rows = self._read("SELECT group_concat(v.encoder) FROM recordings r "
                          "LEFT JOIN voiceprints v ON v.recording = r.id WHERE r.audio IS NULL GROUP BY r.id")
        if not rows:
            return None
        from malsori.engines.speaker import default_encoder_name

        common = set.intersection(*(set((found or "").split(",")) for (found,) in rows)) - {""}
        if not common or default_encoder_name() in common:
            return None
        return sorted(common)[0]

    def _read(self, query: str, args: tuple = ()) -> list[tuple]:
        db = self._connect()
        try:
            return db.execute(query, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc) from None
        finally:
            db.close()

    def _connect(self, create: bool = False) -> sqlite3.Connection:
        if not self.path.exists():
            if not create:
                raise MalsoriError(f"{self.path}: no speaker database yet (enrol someone first)")
            if not self.path.parent.is_dir():
                self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, timeout=self.timeout_s)
            db.execute("PRAGMA foreign_keys = ON")
            if create:
                db.execute("PRAGMA journal_mode = WAL")
            else:
                db.execute("SELECT 1 FROM speakers LIMIT 1")
            self._upgrade(db)
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc) from None
        return db

    @staticmethod
    def _upgrade(db: sqlite3.Connection) -> None:
        """Create the tables, or migrate a schema-1 database, in one transaction."""
        if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        columns = {row[1] for row in db.execute("PRAGMA table_info(recordings)")}
        # Foreign keys would cascade the rename's drop into nothing useful; they are off meanwhile.
        db.execute("PRAGMA foreign_keys = OFF")
        try:
            db.executescript("BEGIN IMMEDIATE;" + (MIGRATE_FROM_1 if "encoder" in columns else "") + SCHEMA
                             + f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;")
        except sqlite3.DatabaseError:
            if db.in_transaction:
                db.rollback()
            raise
        finally:
            db.execute("PRAGMA foreign_keys = ON")

    def enroll(self, name: str, recordings: Sequence[Audio], sources: Sequence[str] | None = None) -> int:
        """Add recordings to ``name`` (created if new); returns how many that speaker now has.

        All recordings are checked and embedded before anything is written, so a bad file leaves
        the database as it was."""
        name = name.strip()
        if not name:
            raise MalsoriError("a speaker needs a name")
        if not recordings:
            raise MalsoriError(f"no recordings given to enrol {name}")
        sources = list(sources or [f"recording {i + 1}" for i in range(len(recordings))])
        vectors = [self.verifier.embed(audio, source) for audio, source in zip(recordings, sources)]
        kept = [_kept_audio(audio) for audio in recordings]
        encoder = self.verifier.encoder.name
        db = self._connect(create=True)
        try:
            with db:
                db.execute("INSERT OR IGNORE INTO speakers(name, created) VALUES (?, ?)", (name, time.time()))
                for source, (rate, audio), vector in zip(sources, kept, vectors):
                    row = db.execute("INSERT INTO recordings(speaker, source, sample_rate, audio) VALUES (?, ?, ?, ?)",
                                     (name, source, rate, audio)).lastrowid
                    db.execute("INSERT INTO voiceprints(recording, encoder, vector) VALUES (?, ?, ?)",
                               (row, encoder, vector.astype(np.float32).tobytes()))
            return db.execute("SELECT COUNT(*) FROM recordings WHERE speaker = ?", (name,)).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc) from None
        finally:
            db.close()

    def speakers(self) -> list[EnrolledSpeaker]:
        if not self.path.exists():
            return []
        rows = self._read("SELECT s.name, COUNT(r.id), s.created, COUNT(r.audio) FROM speakers s "
                          "LEFT JOIN recordings r ON r.speaker = s.name GROUP BY s.name ORDER BY s.name")
        prints = self._read("SELECT r.speaker, v.encoder, COUNT(*) FROM voiceprints v "
                            "JOIN recordings r ON r.id = v.recording GROUP BY r.speaker, v.encoder")
        return [EnrolledSpeaker(name, count, created,
                                tuple(sorted(e for s, e, n in prints if s == name and n == count)), kept)
                for name, count, created, kept in rows]

    def remove(self, name: str) -> int:
        """Delete a speaker and their recordings; returns how many recordings went."""
        db = self._connect()
        try:
            with db:
                count = db.execute("SELECT COUNT(*) FROM recordings WHERE speaker = ?", (name,)).fetchone()[0]
                if not db.execute("DELETE FROM speakers WHERE name = ?", (name,)).rowcount:
                    raise MalsoriError(f"no enrolled speaker named {name!r}")
            return count
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc) from None
        finally:
            db.close()

    def recordings(self, name: str) -> list[Audio]:
        """The kept audio of a speaker's enrolment recordings (for extraction by voice)."""
        rows = self._read("SELECT sample_rate, audio FROM recordings WHERE speaker = ? AND audio IS NOT NULL", (name,))
        if not rows:
            known = ", ".join(s.name for s in self.speakers()) or "none"
            raise MalsoriError(f"{self.path}: no kept recordings of {name!r} (enrolled: {known})")
        return [_audio_from_blob(audio, rate) for rate, audio in rows]

    def voiceprints(self) -> dict[str, np.ndarray]:
        """Each speaker's pooled embedding: the normalised mean of their recordings'. Recordings
        without a voiceprint from this encoder are embedded from their kept audio, and the new
        voiceprints saved for next time."""
        encoder = self.verifier.encoder.name
        rows = self._read("SELECT r.id, r.speaker, r.sample_rate, r.audio, v.vector FROM recordings r "
                          "LEFT JOIN voiceprints v ON v.recording = r.id AND v.encoder = ?", (encoder,))
        stuck = sorted({speaker for _, speaker, _, audio, vector in rows if vector is None and audio is None})
        if stuck:
            others = self._read("SELECT DISTINCT v.encoder FROM voiceprints v JOIN recordings r "
                                "ON r.id = v.recording WHERE r.audio IS NULL")
            used = ", ".join(sorted(e for (e,) in others))
            raise MalsoriError(f"{self.path}: {', '.join(stuck)} enrolled with {used} before recordings were kept; "
                               f"score with --encoder {used.split(', ')[0]}, or enrol them again")
        pooled: dict[str, list[np.ndarray]] = {}
        fresh = []
        for row, speaker, rate, audio, vector in rows:
            if vector is None:
                embedded = unit(self.verifier.encoder.embed(_audio_from_blob(audio, rate))).astype(np.float32)
                fresh.append((row, encoder, embedded.tobytes()))
                pooled.setdefault(speaker, []).append(embedded)
            else:
                pooled.setdefault(speaker, []).append(np.frombuffer(vector, np.float32))
        if fresh:
            self._save_voiceprints(fresh)
        return {s: unit(np.mean(v, axis=0)) for s, v in pooled.items()}

    def _save_voiceprints(self, rows: list[tuple]) -> None:
        """Best effort: a read-only or busy database still identifies, it just embeds again next time."""
        try:
            db = sqlite3.connect(self.path, timeout=min(self.timeout_s, 1.0))
            try:
                with db:
                    db.executemany("INSERT OR IGNORE INTO voiceprints(recording, encoder, vector) VALUES (?, ?, ?)",
                                   rows)
            finally:
                db.close()
        except sqlite3.DatabaseError:
            pass

    def identify(self, audio: Audio, top: int = 1) -> Identification:
        """The best candidates by cosine. For narrow-band (telephone) audio under the calibrated
        CAM++ verifier, GE2E's cosine joins in with the calibration's weights (GE2E holds up
        better on short 8 kHz clips), its voiceprints embedded from the kept audio."""
        prints = self.voiceprints()
        if not prints:
            raise MalsoriError(f"{self.path}: nobody is enrolled")
        probe = self.verifier.embed(audio, "recording to identify")
        scores = {n: float(probe @ v) for n, v in prints.items()}
        if self.verifier.calibrated and is_narrowband(audio):
            scores = self._with_ge2e(audio, scores)
        ranked = sorted((Candidate(n, score) for n, score in scores.items()), key=lambda c: -c.score)
        best = ranked[0]
        name = best.name if best.score >= self.threshold else "unknown"
        return Identification(name, best.score, self.threshold, ranked[:max(1, top)])

    def _with_ge2e(self, audio: Audio, scores: dict[str, float]) -> dict[str, float]:
        """CAM++ and GE2E cosines averaged with the calibration's narrow-band weights (so the
        result stays on a cosine's scale); CAM++ alone where GE2E cannot score everyone."""
        try:
            other = SpeakerStore(self.path, Verifier("ge2e", check_speech=False), timeout_s=self.timeout_s)
            prints = other.voiceprints()
            probe = other.verifier.embed(audio, "recording to identify")
        except MalsoriError:
            return scores
        return {n: narrowband_fusion(s, float(probe @ prints[n])) for n, s in scores.items()}


def _kept_audio(audio: Audio) -> tuple[int, bytes]:
    """Mono 16-bit PCM at no more than KEPT_RATE: enough for any speaker encoder to re-embed."""
    clip = audio.to_mono()
    if clip.sample_rate > KEPT_RATE:
        clip = clip.resample(KEPT_RATE)
    pcm = np.round(np.clip(clip.samples, -1.0, 1.0) * 32767).astype("<i2")
    return clip.sample_rate, pcm.tobytes()


def _audio_from_blob(blob: bytes, rate: int) -> Audio:
    return Audio(np.frombuffer(blob, "<i2").astype(np.float32) / 32767, int(rate))


def _database_error(path: Path, exc: sqlite3.DatabaseError) -> MalsoriError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return MalsoriError(f"{path}: the speaker database is locked by another process; try again")
    if "not a database" in text or "malformed" in text or "no such table" in text:
        return MalsoriError(f"{path}: not a malsori speaker database (corrupt or another kind of file)")
    return MalsoriError(f"{path}: speaker database error: {text}")

