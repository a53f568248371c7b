"""Audio value type and I/O: any common format in, validated float32 out."""

from malsori.audio.core import Audio, concatenate, silence
from malsori.audio.io import load_audio, save_audio

__all__ = ["Audio", "concatenate", "silence", "load_audio", "save_audio"]
