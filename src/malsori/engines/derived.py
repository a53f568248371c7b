"""Networks exported once to ONNX into MALSORI_HOME's ``derived/`` folder, for runtimes faster
than torch on a CPU (onnxruntime, OpenVINO).

An export is named after the network and the first 16 hex digits of its checkpoint's sha256, so
other weights get their own file, and it is kept only when the runtime that will run it agrees
with torch on probe inputs. Nothing here is required: where export, the check or the runtime
fails, the caller runs torch."""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from pathlib import Path
from typing import Callable


def derived_onnx(kind: str, checkpoint: Path, net, probe: tuple, inputs: list[str], outputs: list[str],
                 axes: dict, agrees: Callable[[Path], bool], refresh: bool = False) -> Path | None:
    """``derived/{kind}-{digest}.onnx`` for ``net`` (loaded from ``checkpoint``), exported on first
    use with ``probe`` as example inputs and kept only where ``agrees(path)``; ``refresh`` exports
    again (a cached file the runtime could not read). None where export or the check fails."""
    from malsori.models.catalog import malsori_home, sha256_file

    target = malsori_home() / "derived" / f"{kind}-{sha256_file(checkpoint)[:16]}.onnx"
    staging = target.with_name(f"{target.stem}.{os.getpid()}.onnx")
    try:
        from malsori.training import to_onnx

        if refresh:
            target.unlink(missing_ok=True)
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():  # the exporter's notes (constant folding, LSTMs) are not the user's
            warnings.simplefilter("ignore")
            to_onnx(net, probe, staging, inputs, outputs, axes)
        if not agrees(staging):
            return None
        os.replace(staging, target)
        return target
    except Exception:  # noqa: BLE001 - no exporter, a read-only home, an operator not exported: torch it is
        return None
    finally:
        with contextlib.suppress(OSError):  # nothing was written (a home that is not a folder...)
            staging.unlink(missing_ok=True)


def openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except Exception:  # noqa: BLE001 - not installed, or a build that does not load here
        return False
    return True


# One compile at a time: OpenVINO compiles running at once in threads with a model cache left
# the process's C locale at "C" (2026.4.1; subprocess output was then decoded as ASCII).
_COMPILING = threading.Lock()


def openvino_model(path: Path, threads: int, fast: bool):
    """An OpenVINO model compiled for this CPU. ``fast`` lets OpenVINO choose its precision
    (bfloat16 on CPUs with bfloat16 instructions, float32 elsewhere); otherwise float32 throughout."""
    with _COMPILING:
        return _compile(path, threads, fast)


def _compile(path: Path, threads: int, fast: bool):
    import openvino

    from malsori.models.catalog import malsori_home

    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": max(1, threads),
              # compiled models kept beside the exports: later loads skip most of the compiling
              "CACHE_DIR": str(malsori_home() / "derived" / "openvino")}
    if not fast:
        config["INFERENCE_PRECISION_HINT"] = "f32"
    core = openvino.Core()
    model = core.read_model(str(path))
    try:
        return core.compile_model(model, "CPU", config)
    except Exception:  # noqa: BLE001 - e.g. a cache folder that cannot be written: compile without it
        del config["CACHE_DIR"]
        return core.compile_model(model, "CPU", config)
