"""Prosody and voice: measure how something was said (pitch, energy, loudness, rate, pauses,
whisper) and carry it over to other speech (expressive translation, `malsori voice transfer`)."""

from malsori.prosody.analysis import Prosody, analyze, loudness_lufs
from malsori.prosody.transfer import TransferReport, transfer

__all__ = ["Prosody", "analyze", "loudness_lufs", "TransferReport", "transfer"]
