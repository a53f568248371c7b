"""AudioGen (and MusicGen) audiocraft checkpoints into transformers' MusicGen classes.

audiocraft cannot be installed beside our PyTorch and transformers has no AudioGen port, but
AudioGen is MusicGen's architecture: a transformer language model over EnCodec codebooks (4, a
delay of one step each), cross-attending to a projected T5 encoding of the prompt, with
classifier-free guidance; and a 16 kHz EnCodec (SEANet encoder and decoder, residual vector
quantiser). So its two files map onto ``MusicgenForConditionalGeneration``:

- ``state_dict.bin``: ``{"xp.cfg": the training config, "best_state": the language model}``
- ``compression_state_dict.bin``: the same for EnCodec

plus the T5 encoder it was trained with (t5-large for AudioGen), a local transformers folder.
Both files are pickles with an OmegaConf config inside: they are read with ``weights_only=False``,
so convert only checkpoints you trust (Meta's own, for instance).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

from malsori.engines.generation import first_line
from malsori.errors import ModelError

LM_FILE, COMPRESSION_FILE = "state_dict.bin", "compression_state_dict.bin"


def _load(path: Path) -> tuple[dict, dict]:
    import torch

    if not path.is_file():
        raise ModelError(f"{path.parent}: {path.name} is missing (an audiocraft folder holds {LM_FILE} and {COMPRESSION_FILE})")
    try:
        from omegaconf import OmegaConf
    except ImportError:
        raise ModelError("reading audiocraft checkpoints needs omegaconf: pip install 'malsori[generate]'") from None
    try:
        data = torch.load(path, map_location="cpu", weights_only=False)
        config = OmegaConf.to_container(data["xp.cfg"], resolve=True) if not isinstance(data["xp.cfg"], dict) \
            else data["xp.cfg"]
        return config, data["best_state"]
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign pickle fails in many ways; all mean "not this"
        raise ModelError(f"{path}: not an audiocraft checkpoint ({type(exc).__name__}: {str(exc)[:120]})") from None


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise ModelError(f"this audiocraft model has {what}, which transformers' MusicGen classes do not have")


def _lm_config(cfg: dict):
    from transformers import MusicgenDecoderConfig

    lm = cfg.get("transformer_lm", {})
    try:
        dim, heads, layers, n_q, card = (int(lm[k]) for k in ("dim", "num_heads", "num_layers", "n_q", "card"))
    except KeyError as exc:
        raise ModelError(f"the language model's config lacks transformer_lm.{exc.args[0]}") from None
    _require(lm.get("positional_embedding", "sin") == "sin", f"positional embedding {lm.get('positional_embedding')!r}")
    _require(lm.get("norm", "layer_norm") == "layer_norm" and lm.get("norm_first", True), "a norm other than pre-LayerNorm")
    _require(not lm.get("bias_attn", False) and not lm.get("bias_ff", False) and not lm.get("bias_proj", False),
             "biases in its attention or feed-forward layers")
    _require(lm.get("activation") == "gelu", f"activation {lm.get('activation', 'relu')!r}")  # audiocraft's default is ReLU
    pattern = cfg.get("codebooks_pattern", {})
    _require(pattern.get("modeling", "delay") == "delay"
             and list(pattern.get("delay", {}).get("delays", range(n_q))) == list(range(n_q)),
             "a codebook pattern other than one step of delay per codebook")
    return MusicgenDecoderConfig(
        vocab_size=card, hidden_size=dim, num_attention_heads=heads, num_hidden_layers=layers,
        ffn_dim=int(dim * lm.get("hidden_scale", 4)), num_codebooks=n_q, max_position_embeddings=2048,
        activation_function="gelu", pad_token_id=card, bos_token_id=card, dropout=0.0,
    )


def _compression_config(cfg: dict):
    from transformers import EncodecConfig

    seanet, rvq = cfg.get("seanet", {}), cfg.get("rvq", {})
    try:
        ratios = [int(r) for r in seanet["ratios"]]
        rate = int(cfg["sample_rate"])
        n_q, bins = int(rvq["n_q"]), int(rvq["bins"])
    except KeyError as exc:
        raise ModelError(f"the compression model's config lacks {exc.args[0]}") from None
    _require(seanet.get("norm", "weight_norm") == "weight_norm", f"norm {seanet.get('norm')!r}")
    _require(seanet.get("activation", "ELU") == "ELU", f"activation {seanet.get('activation')!r}")
    frame_rate = rate / math.prod(ratios)
    bits = (bins - 1).bit_length()
    return EncodecConfig(
        sampling_rate=rate, audio_channels=int(cfg.get("channels", 1)), hidden_size=int(seanet.get("dimension", 128)),
        num_filters=int(seanet.get("n_filters", 32)), num_residual_layers=int(seanet.get("n_residual_layers", 1)),
        upsampling_ratios=ratios, norm_type="weight_norm", kernel_size=int(seanet.get("kernel_size", 7)),
        last_kernel_size=int(seanet.get("last_kernel_size", 7)),
        residual_kernel_size=int(seanet.get("residual_kernel_size", 3)),
        dilation_growth_rate=int(seanet.get("dilation_base", 2)), use_causal_conv=bool(seanet.get("causal", False)),
        pad_mode=str(seanet.get("pad_mode", "constant")), compress=int(seanet.get("compress", 2)),
        num_lstm_layers=int(seanet.get("lstm", 2)), codebook_size=bins, codebook_dim=int(seanet.get("dimension", 128)),
        use_conv_shortcut=not seanet.get("true_skip", True), trim_right_ratio=1.0, normalize=False,
        # transformers derives the number of codebooks from the top bandwidth: n_q codebooks of
        # log2(bins) bits at the frame rate.
        target_bandwidths=[n_q * bits * frame_rate / 1000.0],
    )


def lm_weights(state: dict) -> dict:
    """audiocraft LMModel names -> MusicgenForConditionalGeneration names (attention in_proj split
    into q, k, v)."""
    out = {}
    renames = [(r"^emb\.(\d+)\.", r"decoder.model.decoder.embed_tokens.\1."),
               (r"^linears\.(\d+)\.", r"decoder.lm_heads.\1."),
               (r"^out_norm\.", "decoder.model.decoder.layer_norm."),
               (r"^condition_provider\.conditioners\.description\.output_proj\.", "enc_to_dec_proj."),
               (r"^transformer\.layers\.(\d+)\.", r"decoder.model.decoder.layers.\1.")]
    parts = {"self_attn.mha.out_proj": "self_attn.out_proj", "cross_attention.mha.out_proj": "encoder_attn.out_proj",
             "linear1": "fc1", "linear2": "fc2", "norm1": "self_attn_layer_norm", "norm2": "final_layer_norm",
             "norm_cross": "encoder_attn_layer_norm"}
    for key, value in state.items():
        if key.startswith("condition_provider.") and "output_proj" not in key:
            continue  # T5 itself is not in the checkpoint; anything else is not used at inference
        name = key
        for pattern, repl in renames:
            name = re.sub(pattern, repl, name)
        for old, new in parts.items():
            name = name.replace(f".{old}.", f".{new}.")
        match = re.match(r"(.*)\.(self_attn|cross_attention)\.mha\.in_proj_weight$", name)
        if match:
            prefix, kind = match.groups()
            attention = "self_attn" if kind == "self_attn" else "encoder_attn"
            for proj, chunk in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0)):
                out[f"{prefix}.{attention}.{proj}.weight"] = chunk
            continue
        out[name] = value
    return out


def compression_weights(state: dict) -> dict:
    """audiocraft EncodecModel names -> transformers' EncodecModel names under ``audio_encoder.``."""
    out = {}
    for key, value in state.items():
        name = re.sub(r"^(encoder|decoder)\.model\.", r"\1.layers.", key)
        name = name.replace(".conv.conv.", ".conv.").replace(".convtr.convtr.", ".conv.")
        name = name.replace("quantizer.vq.layers.", "quantizer.layers.").replace("._codebook.", ".codebook.")
        name = name.replace(".weight_g", ".parametrizations.weight.original0").replace(
            ".weight_v", ".parametrizations.weight.original1")
        out[f"audio_encoder.{name}"] = value
    return out


def convert_audiocraft(src: str | Path, text_encoder: str | Path, output: str | Path) -> Path:
    """Write a transformers MusicGen folder for the audiocraft model in ``src``, its prompts read
    by the T5 encoder in ``text_encoder``; the folder is complete or absent."""
    import torch
    from transformers import (AutoTokenizer, EncodecFeatureExtractor, MusicgenConfig, MusicgenForConditionalGeneration,
                              MusicgenProcessor, T5Config, T5EncoderModel)

    src, text_encoder, output = Path(src), Path(text_encoder), Path(output)
    if output.exists():
        raise ModelError(f"{output} already exists: choose a new folder")
    lm_cfg, lm_state = _load(src / LM_FILE)
    comp_cfg, comp_state = _load(src / COMPRESSION_FILE)
    decoder = _lm_config(lm_cfg)
    audio = _compression_config(comp_cfg)
    if not (text_encoder / "config.json").is_file():
        raise ModelError(f"{text_encoder}: not a T5 folder in transformers format (config.json, weights, spiece.model)")
    try:
        t5 = T5EncoderModel.from_pretrained(text_encoder)
        tokenizer = AutoTokenizer.from_pretrained(text_encoder)
    except (OSError, ValueError) as exc:
        raise ModelError(f"{text_encoder}: cannot load T5 ({first_line(exc)})") from None
    text = T5Config(**{k: v for k, v in t5.config.to_dict().items() if k in T5Config().to_dict()})
    config = MusicgenConfig(text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict())
    model = MusicgenForConditionalGeneration(config).eval()
    weights = {**lm_weights(lm_state), **compression_weights(comp_state)}
    weights.update({f"text_encoder.{k}": v for k, v in t5.state_dict().items()})
    wanted = model.state_dict()
    missing = sorted(set(wanted) - set(weights))
    shapes = [k for k in weights if k in wanted and tuple(weights[k].shape) != tuple(wanted[k].shape)]
    if missing or shapes:
        raise ModelError(f"{src}: the checkpoint does not fit MusicGen's classes ({len(missing)} tensors missing, "
                         f"{len(shapes)} of other shapes; first: {(missing + shapes)[0]})")
    with torch.no_grad():
        model.load_state_dict({k: weights[k] for k in wanted}, strict=True)
    generation = model.generation_config
    generation.do_sample, generation.top_k = True, 250  # audiocraft's sampling defaults
    generation.guidance_scale = float(lm_cfg.get("classifier_free_guidance", {}).get("inference_coef", 3.0))
    generation.max_length = 1500
    staging = output.with_name(output.name + ".converting")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        model.save_pretrained(staging)
        MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(feature_size=audio.audio_channels,
                                                                    sampling_rate=audio.sampling_rate),
                          tokenizer=tokenizer).save_pretrained(staging)
        # AudioGen is the 16 kHz one (MusicGen's EnCodec runs at 32 kHz): its folder says so, so
        # that `malsori models import` files it under its own name.
        config_path = staging / "config.json"
        config = json.loads(config_path.read_text())
        config["malsori_family"] = "audiogen" if audio.sampling_rate == 16000 else "musicgen"
        config_path.write_text(json.dumps(config, indent=2))
        staging.rename(output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return output
