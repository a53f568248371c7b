"""Speaker encoders (GE2E, the VoiceFilter-Lite d-vector) and VoiceFilter-Lite extraction."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


def unit(v: np.ndarray) -> np.ndarray:
    """``v`` scaled to length 1 (a zero vector stays zero)."""
    return v / max(float(np.linalg.norm(v)), 1e-9)


def unit_rows(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-9)


ENCODERS = ("campplus", "ge2e")


def default_encoder_name() -> str:
    """CAM++ where its weights are installed (far better on real speech), else GE2E."""
    from malsori.models.catalog import is_available

    return "campplus" if is_available("campplus") else "ge2e"


def shared_encoder(name: str | None = None, fast: bool = False):
    """One encoder of each kind per process (its model loads on first use). ``fast``: CAM++ in
    the precision its runtime finds fastest (``CamPlusPlusEncoder``), for the diarizer; scores
    that are calibrated (verification) keep float32."""
    from malsori.errors import MalsoriError

    name = name or default_encoder_name()
    if name not in ENCODERS:
        raise MalsoriError(f"unknown speaker encoder {name!r}: choose one of {', '.join(ENCODERS)}")
    return _shared(name, fast and name == "campplus")


@lru_cache(maxsize=None)
def _shared(name: str, fast: bool):
    if name == "campplus":
        from malsori.engines.speaker.campplus import CamPlusPlusEncoder

        return CamPlusPlusEncoder(fast=fast)
    from malsori.engines.speaker.ge2e import shared_encoder as ge2e

    return ge2e()
