"""Speaker verification: is the test recording spoken by the enrolled voice?

Text-independent scoring is the cosine of speaker embeddings, optionally normalised against a
cohort of other voices (adaptive symmetric normalisation, Matějka et al. 2017: each side's score
is standardised by the mean and spread of its ``top_k`` closest cohort scores). Text-dependent
verification also transcribes the test recording and requires the passphrase to have been said.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from malsori.audio import Audio
from malsori.engines.speaker import unit, unit_rows
from malsori.errors import AudioError, MalsoriError
from malsori.protocols import Recognizer, SpeakerEncoder

# GE2E cosine at the equal-error point of the wideband dev trials (benchmarks/verification_bench.py):
# LibriSpeech, SpeechBrain, LJSpeech, LibriVox and the Korean emotiontts speakers, all pairs.
DEFAULT_THRESHOLD = 0.75
# With cohort normalisation the scores are in standard deviations above the cohort.
NORMALISED_THRESHOLD = 2.0
# CAM++ scores calibrated to a log-likelihood ratio, so one threshold (0: as likely the same
# speaker as not) holds for a 10 s studio sentence and a 0.5 s telephone digit alike. Logistic
# regression on the trials of the English dev speech (LibriSpeech CC BY 4.0, LJSpeech and
# LibriVox public domain, Harvard sentences Apache-2.0, FLEURS CC BY 4.0) and half of the FSDD
# digits (CC BY-SA 4.0), balanced classes (benchmarks/verification_bench.py), checked on the
# Korean speakers and the other half of the digits:
#   llr = b0 + b1 cos + b2 nb + b3 nb cos + b4 nb cos_ge2e + b5 ln(shorter duration)
# where nb marks narrow-band (telephone) audio on either side, for which GE2E's cosine is fused in:
# CAM++ alone sorted 8 kHz digits at 19.6% EER, GE2E at 11.4%, the two together at 6.7%.
CALIBRATION = (-5.9652, 16.4692, -11.8768, -1.0961, 17.1152, -2.0945)
CALIBRATED_DURATIONS_S = (0.3, 15.0)  # the range the calibration saw; longer clips count as 15 s
# High-band energy share under which audio counts as narrow-band although stored at 16 kHz or
# more: upsampled 8 kHz recordings measured 1e-7 (median), wide-band dev speech 3.5e-4 at least.
NARROWBAND_SHARE = 1e-5
# The passphrase counts as said when the transcript is this close to it (1 - character error rate).
PHRASE_MATCH = 0.75
# Enough for a spoken digit; white noise and silence give none (tests/test_speakers.py).
MIN_SPEECH_S = 0.1


@dataclass
class VerificationResult:
    score: float  # the encoder's cosine (cohort-normalised with a cohort)
    threshold: float  # on ``llr`` when calibrated, else on ``score``
    accepted: bool
    normalised: bool = False
    llr: float | None = None  # calibrated: natural-log likelihood ratio, same speaker vs not
    probability: float | None = None  # calibrated: P(same speaker) at even prior odds
    encoder: str | None = None
    heard: str | None = None  # text-dependent mode: what the recogniser heard
    phrase_match: float | None = None
    voice_accepted: bool | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["score"] = round(self.score, 4)
        for key in ("llr", "probability"):
            if out[key] is not None:
                out[key] = round(out[key], 4)
        if self.phrase_match is not None:
            out["phrase_match"] = round(self.phrase_match, 3)
        return {k: v for k, v in out.items() if v is not None}


class Verifier:
    """``verify(enrolment, test) -> VerificationResult``; engines are injected or default."""

    def __init__(self, encoder: SpeakerEncoder | str | None = None, threshold: float | None = None,
                 cohort: np.ndarray | None = None, top_k: int = 100, check_speech: bool = True):
        """``encoder``: an encoder, or the name of a shipped one ("campplus", "ge2e"); None picks
        CAM++ where installed. CAM++ without a cohort gives calibrated scores (``llr``)."""
        if encoder is None or isinstance(encoder, str):
            from malsori.engines.speaker import shared_encoder

            encoder = shared_encoder(encoder)
        self._encoder = encoder
        self.calibrated = cohort is None and getattr(encoder, "name", None) == "campplus"
        # Refusing recordings without clear speech guards enrolment against noise; scoring a
        # fixed trial list turns it off so every trial gets a score.
        self.check_speech = check_speech
        self.cohort = None if cohort is None else unit_rows(np.asarray(cohort, np.float32))
        if self.cohort is not None and len(self.cohort) < 3:
            raise MalsoriError("a score-normalisation cohort needs at least 3 voices")
        self.threshold = threshold if threshold is not None else (
            NORMALISED_THRESHOLD if self.cohort is not None else 0.0 if self.calibrated else DEFAULT_THRESHOLD)
        self.top_k = top_k

    @property
    def encoder(self) -> SpeakerEncoder:
        return self._encoder

    def embed(self, audio: Audio | Sequence[Audio], name: str = "audio") -> np.ndarray:
        """One unit vector for one recording, or the pooled mean of several (enrolment)."""
        clips = [audio] if isinstance(audio, Audio) else list(audio)
        if not clips:
            raise AudioError(f"{name}: no recordings given")
        vectors = []
        for clip in clips:
            if self.check_speech:
                require_speech(clip, name)
            vectors.append(self.encoder.embed(clip))
        return unit(np.mean(vectors, axis=0))

    def score(self, a: np.ndarray, b: np.ndarray) -> float:
        raw = float(np.dot(unit(a), unit(b)))
        if self.cohort is None:
            return raw
        return 0.5 * (self._standardise(raw, a) + self._standardise(raw, b))

    def _standardise(self, raw: float, side: np.ndarray) -> float:
        against = np.sort(self.cohort @ unit(side))[-self.top_k:]
        return (raw - float(against.mean())) / max(float(against.std()), 1e-6)

    def calibrate(self, cosine: float, enrolment: Sequence[Audio], test: Audio) -> float:
        """The log-likelihood ratio of a CAM++ cosine, given how long and how wide-band the two
        sides are (GE2E is consulted for narrow-band audio only)."""
        b0, b1, b2, b3, b4, b5 = CALIBRATION
        narrow = any(is_narrowband(a) for a in [*enrolment, test])
        shortest = min(min(a.duration for a in enrolment), test.duration)
        log_duration = float(np.log(np.clip(shortest, *CALIBRATED_DURATIONS_S)))
        llr = b0 + b1 * cosine + b5 * log_duration
        if narrow:
            from malsori.engines.speaker import shared_encoder

            ge2e = shared_encoder("ge2e")
            both = unit(np.mean([ge2e.embed(a) for a in enrolment], axis=0)), ge2e.embed(test)
            llr += b2 + b3 * cosine + b4 * float(np.dot(*both))
        return llr

    def verify(self, enrolment: Audio | Sequence[Audio], test: Audio, passphrase: str | None = None,
               recognizer: Recognizer | None = None, language: str | None = None) -> VerificationResult:
        clips = [enrolment] if isinstance(enrolment, Audio) else list(enrolment)
        score = self.score(self.embed(clips, "enrolment"), self.embed(test, "test recording"))
        result = VerificationResult(score, self.threshold, score >= self.threshold, self.cohort is not None,
                                    encoder=self.encoder.name)
        if self.calibrated:
            result.llr = self.calibrate(score, clips, test)
            result.probability = float(1.0 / (1.0 + np.exp(-result.llr)))
            result.accepted = result.llr >= self.threshold
        voice_ok = result.accepted
        if passphrase is not None:
            heard, match = check_phrase(test, passphrase, recognizer, language)
            result.heard, result.phrase_match, result.voice_accepted = heard, match, voice_ok
            result.accepted = voice_ok and match >= PHRASE_MATCH
        return result


def narrowband_fusion(campplus, ge2e):
    """CAM++ and GE2E cosines (numbers or arrays) averaged with the calibration's weights for
    narrow-band audio: a score on a cosine's scale that ranks 8 kHz speakers better than either."""
    _, b1, _, b3, b4, _ = CALIBRATION
    return ((b1 + b3) * campplus + b4 * ge2e) / (b1 + b3 + b4)


def is_narrowband(audio: Audio) -> bool:
    """Telephone-band audio: stored below 16 kHz, or with (almost) nothing above 4 kHz."""
    if audio.sample_rate < 16_000:
        return True
    samples = audio.to_mono().samples
    power = np.abs(np.fft.rfft(samples[: audio.sample_rate * 30])) ** 2
    high = power[int(len(power) * 4000 / (audio.sample_rate / 2)):].sum()
    return bool(high < NARROWBAND_SHARE * max(float(power.sum()), 1e-20))


def check_phrase(audio: Audio, passphrase: str, recognizer: Recognizer | None = None,
                 language: str | None = None) -> tuple[str, float]:
    """(what was heard, 1 - character error rate against the passphrase, floored at 0)."""
    from malsori.eval.metrics import cer

    if not passphrase.strip():
        raise MalsoriError("the passphrase is empty")
    if recognizer is None:
        from malsori.pipelines.engines import default_recognizers

        recognizers = [r for r in default_recognizers() if language is None or r.languages() is None
                       or language in r.languages()]
        if not recognizers:
            raise MalsoriError(f"no speech recogniser for language {language!r} to check the passphrase")
        recognizer = recognizers[0]
    heard = recognizer.transcribe(audio, language=language).text.strip()
    lang = language or "eng"
    return heard, max(0.0, 1.0 - cer([passphrase], [heard], lang=lang))


def require_speech(audio: Audio, name: str, min_speech_s: float = MIN_SPEECH_S, vad=None) -> float:
    """Seconds of speech in ``audio``; a one-line AudioError when there is too little (silence,
    noise, a click) to say anything about a voice."""
    from malsori.audio.io import validate

    validate(audio, name)
    if vad is None:
        from malsori.engines.vad.silero import SileroVAD

        vad = SileroVAD(threshold=0.35, min_silence_ms=100, speech_pad_ms=30)
    speech = sum(r.end - r.start for r in vad.regions(audio))
    if speech < min_speech_s:
        raise AudioError(f"{name}: {speech:.2f} s of speech found, need at least {min_speech_s:g} s "
                         "(silence or noise cannot identify a voice)")
    return speech


def load_cohort(path: str | Path, encoder: SpeakerEncoder | None = None) -> np.ndarray:
    """Cohort embeddings from a ``.npy`` matrix (one row a voice) or a folder of recordings."""
    from malsori.audio import load_audio

    path = Path(path)
    if path.suffix == ".npy" and path.is_file():
        return np.load(path)
    if not path.is_dir():
        raise MalsoriError(f"{path}: a cohort is a .npy file of embeddings or a folder of recordings")
    if encoder is None:
        from malsori.engines.speaker import shared_encoder

        encoder = shared_encoder()
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".wav", ".flac", ".mp3", ".ogg", ".m4a"))
    return np.stack([encoder.embed(load_audio(f)) for f in files]) if files else np.zeros((0, 1))


