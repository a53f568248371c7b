"""Enrolled voices in an SQLite file: enrol, identify, list, remove.

SQLite in write-ahead-log mode lets any number of readers identify while one process enrols,
and every enrolment is one transaction: a speaker's recordings are all stored or none are.
Each row keeps the encoder's name, so a database built with one encoder is never scored with
another.
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
from malsori.pipelines.verify import DEFAULT_THRESHOLD, Verifier

# Identification's "unknown" line, on the cosine to the best voiceprint: GE2E's wide-band EER point;
# for CAM++ the calibrated verifier's even-odds boundary for 3 s of speech (verify.CALIBRATION).
IDENTIFY_THRESHOLDS = {"ge2e": DEFAULT_THRESHOLD, "campplus": 0.5}

SCHEMA = """
CREATE TABLE IF NOT EXISTS speakers (
    name TEXT PRIMARY KEY,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS recordings (
    id INTEGER PRIMARY KEY,
    speaker TEXT NOT NULL REFERENCES speakers(name) ON DELETE CASCADE,
    source TEXT NOT NULL,
    encoder TEXT NOT NULL,
    vector BLOB NOT NULL
);
"""


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


class SpeakerStore:
    def __init__(self, path: str | Path | None = None, verifier: Verifier | None = None,
                 threshold: float | None = None, timeout_s: float = 10.0):
        """Without a ``verifier``, the encoder is the one the database was built with (so voices
        enrolled with GE2E before CAM++ became the default keep working), or the default for a
        new database. ``threshold``: the cosine under which the best match is "unknown"."""
        self.path = Path(path) if path else default_path()
        self.timeout_s = timeout_s
        self.verifier = verifier or Verifier(self.stored_encoder())
        self.threshold = threshold if threshold is not None else IDENTIFY_THRESHOLDS.get(
            self.verifier.encoder.name, DEFAULT_THRESHOLD)

    def stored_encoder(self) -> str | None:
        """The encoder the database's voices were embedded with (None: new or empty)."""
        if not self.path.exists():
            return None
        rows = self._read("SELECT encoder FROM recordings LIMIT 1")
        return rows[0][0] if rows else None

    def _read(self, query: str) -> list[tuple]:
        db = self._connect()
        try:
            return db.execute(query).fetchall()
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
                db.executescript(SCHEMA)
            else:
                db.execute("SELECT 1 FROM speakers LIMIT 1")
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc) from None
        return db

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
        encoder = self.verifier.encoder.name
        db = self._connect(create=True)
        try:
            with db:
                self._check_encoder(db, encoder)
                db.execute("INSERT OR IGNORE INTO speakers(name, created) VALUES (?, ?)", (name, time.time()))
                db.executemany("INSERT INTO recordings(speaker, source, encoder, vector) VALUES (?, ?, ?, ?)",
                               [(name, s, encoder, v.astype(np.float32).tobytes()) for s, v in zip(sources, vectors)])
            return db.execute("SELECT COUNT(*) FROM recordings WHERE speaker = ?", (name,)).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc) from None
        finally:
            db.close()

    def speakers(self) -> list[EnrolledSpeaker]:
        if not self.path.exists():
            return []
        db = self._connect()
        try:
            rows = db.execute("SELECT s.name, COUNT(r.id), s.created FROM speakers s "
                              "LEFT JOIN recordings r ON r.speaker = s.name GROUP BY s.name ORDER BY s.name").fetchall()
        except sqlite3.DatabaseError as exc:
            raise _database_error(self.path, exc) from None
        finally:
            db.close()
        return [EnrolledSpeaker(*row) for row in rows]

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

    def voiceprints(self) -> dict[str, np.ndarray]:
        """Each speaker's pooled embedding: the normalised mean of their recordings'."""
        rows = self._read("SELECT speaker, encoder, vector FROM recordings")
        encoder = self.verifier.encoder.name
        pooled: dict[str, list[np.ndarray]] = {}
        for speaker, used, blob in rows:
            if used != encoder:
                raise MalsoriError(f"{self.path}: enrolled with encoder {used!r}, cannot score with {encoder!r} "
                                   f"(use --encoder {used}, or enrol everyone again in a new database)")
            pooled.setdefault(speaker, []).append(np.frombuffer(blob, np.float32))
        return {s: unit(np.mean(v, axis=0)) for s, v in pooled.items()}

    def identify(self, audio: Audio, top: int = 1) -> Identification:
        prints = self.voiceprints()
        if not prints:
            raise MalsoriError(f"{self.path}: nobody is enrolled")
        probe = self.verifier.embed(audio, "recording to identify")
        ranked = sorted((Candidate(n, float(probe @ v)) for n, v in prints.items()), key=lambda c: -c.score)
        best = ranked[0]
        name = best.name if best.score >= self.threshold else "unknown"
        return Identification(name, best.score, self.threshold, ranked[:max(1, top)])

    @staticmethod
    def _check_encoder(db: sqlite3.Connection, encoder: str) -> None:
        other = db.execute("SELECT encoder FROM recordings WHERE encoder != ? LIMIT 1", (encoder,)).fetchone()
        if other:
            raise MalsoriError(f"this database holds voices embedded with {other[0]!r}, not {encoder!r}")


def _database_error(path: Path, exc: sqlite3.DatabaseError) -> MalsoriError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return MalsoriError(f"{path}: the speaker database is locked by another process; try again")
    if "not a database" in text or "malformed" in text or "no such table" in text:
        return MalsoriError(f"{path}: not a malsori speaker database (corrupt or another kind of file)")
    return MalsoriError(f"{path}: speaker database error: {text}")

