"""The Synthesizer over a voice folder malsori trained (``export``): onnxruntime on a CPU, then the
voice's trained vocoder (``vocoder.py``) or Griffin-Lim (training-free) from the predicted mel."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from malsori.audio import Audio
from malsori.engines.tts.trained.features import (FeatureConfig, griffin_lim, log_f0, log_mel, loud_frames, loud_span,
                                                  spectrum_to_waveform)
from malsori.engines.tts.trained.features import energy as frame_energy
from malsori.engines.tts.trained.symbols import PAUSES, PhoneSet
from malsori.errors import LanguageError, MalsoriError, ModelError
from malsori.languages import normalize_language

VOCODERS = ("auto", "neural", "griffin-lim")  # auto: the trained vocoder where it measured better than Griffin-Lim
REGISTER_PULL = 0.5  # how far each sentence of a document is drawn toward the document's pace and pitch so far


def vocoder_beats_griffin_lim(entry: dict) -> bool:
    """Whether the card's vocoder reconstructed the training recordings' mels more closely than
    Griffin-Lim did (measured when it was trained; unmeasured counts as no)."""
    ours, theirs = entry.get("mel_error"), entry.get("griffin_lim_mel_error")
    return ours is not None and theirs is not None and ours < theirs


def is_voice_dir(path: str | Path) -> bool:
    card = Path(path) / "voice.json"
    if not card.is_file():
        return False
    try:
        return json.loads(card.read_text()).get("format") == "malsori-voice"
    except (OSError, json.JSONDecodeError):
        return False


@dataclass
class Spoken:
    audio: Audio
    phones: list[str]
    durations_s: np.ndarray  # per phone
    pitch: np.ndarray  # per phone, the speaker's normalised log-F0 units
    energy: np.ndarray


class TrainedVoice:
    """A voice trained by ``malsori tts train``. ``speaker``: one of the card's speakers (default
    the first listed); ``emotion``: a stored style; ``style_ref``: a recording whose manner of
    speaking to carry (overrides ``emotion``). With a reference, the learned style sequence steers
    the model, and ``match_reference`` (default on) also sets the output's pitch level and range
    and its loudness to the reference's measured ones: the learned path alone moved them too little
    (docs/benchmarks.md)."""

    supports_speed = True

    def __init__(self, voice_dir: str | Path, speaker: str | None = None, emotion: str | None = None,
                 style_ref: Audio | None = None, iterations: int = 32, keep_register: bool = True,
                 vocoder: str = "auto", match_reference: bool = True):
        self.voice_dir = Path(voice_dir)
        if not is_voice_dir(self.voice_dir):
            raise ModelError(f"{voice_dir}: not a malsori voice folder (no voice.json of format malsori-voice)")
        self.card = json.loads((self.voice_dir / "voice.json").read_text())
        self.name = f"voice:{self.voice_dir.name}"
        self.language = self.card["language"]
        self.features = FeatureConfig.from_dict(self.card["features"])
        self.phone_set = PhoneSet(self.language, self.card["symbols"])
        self.speakers: list[str] = self.card["speakers"]
        self.speaker = self._speaker(speaker)
        self.iterations = iterations
        if vocoder not in VOCODERS:
            raise MalsoriError(f"vocoder: one of {', '.join(VOCODERS)}, not {vocoder!r}")
        neural = "vocoder" in self.card and (self.voice_dir / "vocoder.onnx").is_file()
        if vocoder == "neural" and not neural:
            raise ModelError(f"{self.voice_dir.name} has no trained vocoder (malsori tts train-vocoder)")
        if vocoder == "auto":
            vocoder = "neural" if neural and vocoder_beats_griffin_lim(self.card["vocoder"]) else "griffin-lim"
        self.vocoder = vocoder
        self.keep_register = keep_register
        self._stats = dict(np.load(self.voice_dir / "stats.npz"))
        self._styles = dict(np.load(self.voice_dir / "styles.npz"))
        self._sessions: dict = {}
        self._lock = threading.Lock()
        self._register: list[tuple[float, float]] = []
        self.style = self.reference_style(style_ref) if style_ref is not None else self.stored_style(emotion)
        self.reference = reference_prosody(style_ref, self.features) if style_ref is not None and match_reference else None

    # --- Synthesizer protocol -------------------------------------------------------------------
    @property
    def sample_rate(self) -> int:
        return self.features.sample_rate

    def voice_languages(self) -> set[str]:
        return {self.language}

    def voices(self, language: str) -> list[str]:
        return list(self.speakers) if normalize_language(language) == self.language else []

    def synthesize(self, text: str, language: str | None = None, voice: str | None = None, speed: float = 1.0) -> Audio:
        return self.speak(text, language, voice, speed).audio

    # --- the voice's own controls ---------------------------------------------------------------
    def begin_document(self) -> None:
        """Forget the pace and pitch of sentences spoken so far (a new document starts)."""
        self._register = []

    def stored_style(self, emotion: str | None) -> np.ndarray:
        if emotion is None:
            own = f"{self.speakers[self.speaker]}/neutral"
            return self._styles.get(own, self._styles["no_style"])
        keys = [f"{self.speakers[self.speaker]}/{emotion}"] + sorted(k for k in self._styles if k.endswith(f"/{emotion}"))
        for key in keys:
            if key in self._styles:
                return self._styles[key]
        known = sorted({k.split("/", 1)[1] for k in self._styles if "/" in k})
        raise MalsoriError(f"{self.voice_dir.name} has no {emotion!r} style; it has: {', '.join(known)}")

    def reference_style(self, audio: Audio) -> np.ndarray:
        """The style sequence of a reference recording (any rate; resampled)."""
        samples = audio.to_mono().resample(self.sample_rate).samples
        if len(samples) < self.features.n_fft * 4:
            raise MalsoriError("the style reference is too short (under 0.2 s of audio)")
        mel = (log_mel(samples, self.features) - self._stats["mel_mean"]) / self._stats["mel_std"]
        return self._run("style.onnx", mel=mel[None].astype(np.float32))[0]

    def speak(self, text: str, language: str | None = None, voice: str | None = None, speed: float = 1.0,
              style: np.ndarray | None = None) -> Spoken:
        if language is not None and normalize_language(language) != self.language:
            raise LanguageError(f"{self.name} speaks only {self.language}")
        if speed <= 0:
            raise MalsoriError(f"speed must be positive, not {speed}")
        phones = self.phone_set.phones(text)
        if all(p in PAUSES for p in phones):
            raise MalsoriError(f"nothing to say in {text[:60]!r}")
        ids = np.array([[self.phone_set.index[p] for p in phones]], np.int64)
        speaker = np.array([self._speaker(voice) if voice else self.speaker], np.int64)
        match = self.reference is not None and style is None  # the reference measured belongs to self.style
        style = self.style if style is None else style
        h, log_dur, pitch, energy = self._run("encoder.onnx", phones=ids, speaker=speaker, style=style.astype(np.float32))
        frames = np.maximum(np.expm1(log_dur[0]), 0.0)
        pitch, energy = pitch[0], energy[0]
        if match:
            pitch, energy = self._match_reference(phones, pitch, energy, int(speaker[0]))
        if self.keep_register:  # on the model's own pace: the register must not undo a speed asked for
            frames, pitch = self._hold_register(phones, frames, pitch)
        frames = frames / speed
        durations = np.maximum(np.round(frames), 1).astype(np.int64)[None]
        mel = self._run("decoder.onnx", encodings=h, durations=durations, pitch=pitch[None].astype(np.float32),
                        energy=energy[None].astype(np.float32), speaker=speaker)[0][0]
        mel, durations[0] = _trim_silence(mel * self._stats["mel_std"] + self._stats["mel_mean"], durations[0])
        mel = (mel - self._stats["mel_mean"]) / self._stats["mel_std"]
        if self.vocoder == "neural":
            log_magnitude, phase = self._run("vocoder.onnx", mel=mel[None].astype(np.float32), speaker=speaker)
            samples = spectrum_to_waveform(log_magnitude[0], phase[0], self.features)
        else:
            samples = griffin_lim(mel * self._stats["mel_std"] + self._stats["mel_mean"], self.features, self.iterations)
        if match:
            samples = self._match_loudness(samples)
        return Spoken(Audio(samples, self.sample_rate), phones, durations[0] * self.features.frame_s, pitch, energy)

    def _match_reference(self, phones: list[str], pitch: np.ndarray, energy: np.ndarray, speaker: int):
        """The spoken phones' pitch moved to the reference's level and range (in this speaker's
        normalised units), and their energy to the reference's level."""
        spoken = np.array([p not in PAUSES for p in phones])
        if spoken.sum() < 2:
            return pitch, energy
        ref_f0_mean, ref_f0_std, ref_energy = self.reference[:3]
        level = (ref_f0_mean - self._stats["f0_mean"][speaker]) / self._stats["f0_std"][speaker]
        spread = ref_f0_std / self._stats["f0_std"][speaker]
        own = pitch[spoken]
        scale = np.clip(spread / max(float(own.std()), 1e-3), 0.5, 2.0)
        pitch = pitch.copy()
        pitch[spoken] = (own - own.mean()) * scale + level
        energy = energy.copy()
        target = (ref_energy - float(self._stats["energy_mean"])) / float(self._stats["energy_std"])
        energy[spoken] += target - energy[spoken].mean()
        return pitch, energy

    def _match_loudness(self, samples: np.ndarray) -> np.ndarray:
        """The waveform brought to the reference's loudness: the energy fed to the decoder moves the
        mel only a little, and the vocoder keeps the model's own level. A second pass makes up for
        what the limiter took off the peaks."""
        for _ in range(2):
            if not np.abs(samples).max() > 1e-4:
                return samples
            samples = soft_limit(samples * np.exp(self.reference.loudness - speech_loudness(samples, self.features)))
        return samples

    def _hold_register(self, phones: list[str], frames: np.ndarray, pitch: np.ndarray):
        """Pull this sentence's mean pitch and pace part of the way toward the document's so far,
        so that a long text keeps one register instead of drifting sentence by sentence."""
        spoken = np.array([p not in PAUSES for p in phones])
        if not spoken.any():
            return frames, pitch
        level, pace = float(pitch[spoken].mean()), float(np.log(np.maximum(frames[spoken], 0.5)).mean())
        if self._register:
            doc_level = float(np.mean([r[0] for r in self._register]))
            doc_pace = float(np.mean([r[1] for r in self._register]))
            pitch = pitch + REGISTER_PULL * (doc_level - level) * spoken
            frames = frames * np.where(spoken, np.exp(REGISTER_PULL * (doc_pace - pace)), 1.0)
        self._register.append((level, pace))
        return frames, pitch

    def _speaker(self, name: str | None) -> int:
        if name is None:
            return 0
        if name not in self.speakers:
            raise MalsoriError(f"{self.voice_dir.name} has no speaker {name!r}; it has: {', '.join(self.speakers)}")
        return self.speakers.index(name)

    def _run(self, graph: str, **inputs) -> list[np.ndarray]:
        with self._lock:
            session = self._sessions.get(graph)
            if session is None:
                import onnxruntime as ort

                path = self.voice_dir / graph
                if not path.is_file():
                    raise ModelError(f"{self.voice_dir}: {graph} is missing (export the voice again)")
                options = ort.SessionOptions()
                options.log_severity_level = 3
                session = self._sessions[graph] = ort.InferenceSession(str(path), options,
                                                                       providers=["CPUExecutionProvider"])
        return session.run(None, inputs)


class Prosody(NamedTuple):
    """What a style reference's delivery is matched on, in the units the voice was trained on."""
    f0_mean: float  # log-F0 over the voiced speech frames
    f0_std: float
    energy: float  # mean log frame energy over the speech (the decoder's energy input)
    loudness: float  # log RMS of the speech frames (what a listener hears as level; the final gain)


def reference_prosody(audio: Audio, features: FeatureConfig) -> Prosody | None:
    """A recording's pitch level and range and its loudness; None if it has too little voicing."""
    samples = audio.to_mono().resample(features.sample_rate).samples
    level = frame_energy(samples, features)
    f0 = log_f0(samples, features, len(level))
    speech = loud_frames(level, SILENCE_BELOW_DB)
    voiced = f0[(f0 > 0) & speech]
    if len(voiced) < 10:
        return None
    return Prosody(float(voiced.mean()), float(voiced.std()), float(level[speech].mean()), speech_loudness(samples, features))


def speech_loudness(samples: np.ndarray, features: FeatureConfig) -> float:
    """Log RMS over the frames within ``SILENCE_BELOW_DB`` of the loudest (pauses and edges left out)."""
    hop = features.hop
    frames = samples[:len(samples) // hop * hop].reshape(-1, hop).astype(np.float64)
    rms = np.sqrt((frames ** 2).mean(1) + 1e-12)
    speech = loud_frames(np.log(rms), SILENCE_BELOW_DB)
    return float(np.log(np.sqrt((rms[speech] ** 2).mean())))


def soft_limit(samples: np.ndarray, knee: float = 0.5, ceiling: float = 0.98) -> np.ndarray:
    """Samples above ``knee`` bent smoothly under ``ceiling`` (slope 1 at the knee): a gain may
    then raise the level without hard clipping."""
    size = np.abs(samples)
    bent = knee + (ceiling - knee) * np.tanh((size - knee) / (ceiling - knee))
    return np.where(size > knee, np.sign(samples) * bent, samples).astype(np.float32)


SILENCE_BELOW_DB = 40.0  # under the loudest frame: the recordings' lead-in and tail, which the model learned too
KEEP_FRAMES = 4


def _trim_silence(mel: np.ndarray, durations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop the quiet frames before the speech and after it (keeping a few), and take them off
    the first and last phones' durations."""
    start, end = loud_span(np.log(np.exp(mel).sum(1)), KEEP_FRAMES, SILENCE_BELOW_DB)
    durations = durations.copy()
    cut_front, cut_back = start, len(mel) - end
    for order in (range(len(durations)), range(len(durations) - 1, -1, -1)):
        cut = cut_front if order.step == 1 else cut_back
        for i in order:
            if cut <= 0:
                break
            taken = min(int(durations[i]), cut)
            durations[i] -= taken
            cut -= taken
    return mel[start:end], durations
