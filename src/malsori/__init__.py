"""malsori: offline speech translation and speech AI on a CPU.

Imports are lazy so that `malsori --help` and `import malsori` stay fast: the heavy runtimes
(CTranslate2, onnxruntime, PyTorch) load only when a model is first used.
"""

from importlib import import_module

__version__ = "0.1.0"

_LAZY = {
    "Translator": "malsori.pipelines.translate",
    "TranslationResult": "malsori.pipelines.translate",
    "Audio": "malsori.audio",
    "load_audio": "malsori.audio",
    "save_audio": "malsori.audio",
    "MalsoriError": "malsori.errors",
    "TrainedVoice": "malsori.engines.tts.trained.voice",
    "train_voice": "malsori.engines.tts.trained.train",
    "speak_document": "malsori.pipelines.speak",
    "generate": "malsori.pipelines.generate",
    "TextToAudio": "malsori.pipelines.generate",
}

__all__ = sorted(_LAZY) + ["__version__"]


_RENAMED = {"train_voice": "train"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), _RENAMED.get(name, name))
    raise AttributeError(f"module 'malsori' has no attribute {name!r}")
