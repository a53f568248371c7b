"""The acoustic model: phones -> mel frames, non-autoregressive (FastSpeech 2 / FastPitch kind),
convolutional throughout so that a few million parameters train on a laptop CPU.

    phones -> embedding -> encoder (+ speaker) -> attends to the style sequence
           -> duration, pitch and energy per phone -> frames (length regulation)
           -> decoder (+ speaker, + position inside the phone) -> log-mel

The durations are learned, not given: an aligner scores every phone against every mel frame and
``align`` turns that into durations during training. The style is a *sequence* of vectors from a
reference utterance (one per ~0.19 s), which the phone encodings attend to, so where the reference
rises or slows can reach the phones it suits; a learned "no style" vector stands in when there is
no reference."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from malsori.engines.tts.trained import align


@dataclass
class ModelConfig:
    n_symbols: int
    n_speakers: int = 1
    n_mels: int = 80
    channels: int = 192
    encoder_layers: int = 4
    decoder_layers: int = 6
    kernel: int = 5
    style_dim: int = 32
    style_heads: int = 2
    dropout: float = 0.1
    decoder_block: str = "conv"  # "conv" (plain residual convolutions) or "convnext" (see ConvNextStack)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


class ConvStack(nn.Module):
    """Residual 1-D convolutions, each followed by ReLU, layer norm and dropout; (B, C, T) in and out."""

    def __init__(self, channels: int, layers: int, kernel: int, dropout: float, dilations: tuple[int, ...] = (1,)):
        super().__init__()
        self.convs = nn.ModuleList()
        for i in range(layers):
            d = dilations[i % len(dilations)]
            self.convs.append(nn.Conv1d(channels, channels, kernel, padding=d * (kernel // 2), dilation=d))
        self.norms = nn.ModuleList(nn.LayerNorm(channels) for _ in range(layers))
        self.dropout = dropout

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for conv, norm in zip(self.convs, self.norms):
            y = F.relu(conv(x * mask))
            y = norm(y.transpose(1, 2)).transpose(1, 2)
            x = (x + F.dropout(y, self.dropout, self.training)) * mask
        return x


class ConvNextStack(nn.Module):
    """ConvNeXt blocks over frames: a depthwise convolution for context, then a per-frame MLP four
    times wider, residual. Per frame it costs about twice a plain ``ConvStack`` layer of the same
    width, but the wide MLP is where the phone-to-spectrum mapping gets its capacity; (B, C, T)."""

    def __init__(self, channels: int, layers: int, kernel: int, dilations: tuple[int, ...] = (1,), expansion: int = 4):
        super().__init__()
        self.depthwise = nn.ModuleList()
        for i in range(layers):
            d = dilations[i % len(dilations)]
            self.depthwise.append(nn.Conv1d(channels, channels, kernel, padding=d * (kernel // 2), dilation=d,
                                            groups=channels))
        self.norms = nn.ModuleList(nn.LayerNorm(channels) for _ in range(layers))
        self.wide = nn.ModuleList(nn.Linear(channels, expansion * channels) for _ in range(layers))
        self.narrow = nn.ModuleList(nn.Linear(expansion * channels, channels) for _ in range(layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for depthwise, norm, wide, narrow in zip(self.depthwise, self.norms, self.wide, self.narrow):
            y = norm(depthwise(x * mask).transpose(1, 2))
            y = narrow(F.gelu(wide(y))).transpose(1, 2)
            x = (x + y) * mask
        return x


class Predictor(nn.Module):
    """One value per phone (log duration, pitch or energy) from the phone encodings."""

    def __init__(self, channels: int, dropout: float):
        super().__init__()
        self.stack = ConvStack(channels, 2, 3, dropout)
        self.out = nn.Conv1d(channels, 1, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (self.out(self.stack(x, mask)) * mask).squeeze(1)


class StyleEncoder(nn.Module):
    """Reference log-mel (B, T, n_mels) -> style sequence (B, ~T/16, style_dim)."""

    STRIDE = 16

    def __init__(self, n_mels: int, style_dim: int, hidden: int = 128):
        super().__init__()
        layers, width = [], n_mels
        for _ in range(4):
            layers += [nn.Conv1d(width, hidden, 5, stride=2, padding=2), nn.ReLU()]
            width = hidden
        self.convs = nn.Sequential(*layers)
        self.out = nn.Conv1d(hidden, style_dim, 1)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.out(self.convs(mel.transpose(1, 2)))).transpose(1, 2)

    @classmethod
    def lengths(cls, frames: torch.Tensor) -> torch.Tensor:
        for _ in range(4):
            frames = torch.div(frames - 1, 2, rounding_mode="floor") + 1
        return frames


class Aligner(nn.Module):
    """Scores of every phone against every frame: -distance between a text key and a mel query."""

    def __init__(self, channels: int, n_mels: int, temperature: float = 0.0005):
        super().__init__()
        self.keys = nn.Sequential(nn.Conv1d(channels, 2 * channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv1d(2 * channels, n_mels, 1))
        self.queries = nn.Sequential(nn.Conv1d(n_mels, 2 * n_mels, 3, padding=1), nn.ReLU(),
                                     nn.Conv1d(2 * n_mels, n_mels, 1), nn.ReLU(), nn.Conv1d(n_mels, n_mels, 1))
        self.temperature = temperature

    def forward(self, embedded: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        keys = self.keys(embedded)  # (B, n_mels, N)
        queries = self.queries(mel.transpose(1, 2))  # (B, n_mels, T)
        # |q - k|^2 as |q|^2 - 2 q.k + |k|^2: one matmul instead of a (B, n_mels, T, N) tensor
        distance = (queries.pow(2).sum(1).unsqueeze(-1) - 2 * torch.bmm(queries.transpose(1, 2), keys)
                    + keys.pow(2).sum(1).unsqueeze(1))  # (B, T, N)
        return -self.temperature * distance


def regulate(h: torch.Tensor, durations: torch.Tensor, frames: int | torch.Tensor):
    """Repeat each phone encoding over its frames. h: (B, C, N); durations: (B, N) whole frames.
    Returns (B, C, T) and the position features (B, 2, T): how far through its phone each frame is,
    and the phone's log length."""
    ends = torch.cumsum(durations, dim=1)  # (B, N)
    t = torch.arange(frames, device=h.device).to(ends.dtype)  # (T,)
    index = (t.view(1, -1, 1) >= ends.unsqueeze(1)).sum(-1)  # (B, T) phone of each frame
    index = torch.clamp(index, max=h.shape[2] - 1)
    expanded = torch.gather(h, 2, index.unsqueeze(1).expand(-1, h.shape[1], -1))
    length = torch.gather(durations, 1, index).to(h.dtype)
    start = torch.gather(ends, 1, index).to(h.dtype) - length
    position = (t.to(h.dtype).unsqueeze(0) - start + 0.5) / torch.clamp(length, min=1.0)
    return expanded, torch.stack([position, torch.log1p(length)], dim=1)


class AcousticModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        c = config.channels
        self.config = config
        self.embedding = nn.Embedding(config.n_symbols, c, padding_idx=0)
        self.speaker = nn.Embedding(max(config.n_speakers, 1), c)
        self.encoder = ConvStack(c, config.encoder_layers, config.kernel, config.dropout)
        self.style = StyleEncoder(config.n_mels, config.style_dim)
        self.no_style = nn.Parameter(torch.zeros(1, 1, config.style_dim))
        self.style_attention = nn.MultiheadAttention(c, config.style_heads, kdim=config.style_dim,
                                                     vdim=config.style_dim, batch_first=True)
        self.duration = Predictor(c, config.dropout)
        self.pitch = Predictor(c, config.dropout)
        self.energy = Predictor(c, config.dropout)
        self.pitch_embedding = nn.Conv1d(1, c, 3, padding=1)
        self.energy_embedding = nn.Conv1d(1, c, 3, padding=1)
        self.position = nn.Conv1d(2, c, 1)
        # no dropout over frames: it cost an eighth of a training step and the phones have theirs
        if config.decoder_block == "convnext":
            self.decoder = ConvNextStack(c, config.decoder_layers, 7, dilations=(1, 2, 4))
        elif config.decoder_block == "conv":
            self.decoder = ConvStack(c, config.decoder_layers, config.kernel, 0.0, dilations=(1, 2, 4))
        else:  # a card or recipe from elsewhere: say so rather than build a decoder its weights do not fit
            raise ValueError(f"unknown decoder block {config.decoder_block!r} (conv or convnext)")
        self.to_mel = nn.Conv1d(c, config.n_mels, 1)
        self.aligner = Aligner(c, config.n_mels)

    # --- inference pieces (each one ONNX graph) -------------------------------------------------
    def encode(self, phones: torch.Tensor, speaker: torch.Tensor, style: torch.Tensor,
               style_mask: torch.Tensor | None = None):
        """phones (B, N) ids, speaker (B,), style (B, S, style_dim) -> encodings (B, C, N), log
        durations, pitch, energy (B, N)."""
        mask = (phones > 0).unsqueeze(1).to(self.embedding.weight.dtype)
        x = self.embedding(phones).transpose(1, 2)
        x = self.encoder(x, mask) + self.speaker(speaker).unsqueeze(-1)
        styled, _ = self.style_attention(x.transpose(1, 2), style, style, key_padding_mask=style_mask,
                                         need_weights=False)
        h = (x + styled.transpose(1, 2)) * mask
        return h, self.duration(h, mask), self.pitch(h, mask), self.energy(h, mask)

    def decode(self, h: torch.Tensor, durations: torch.Tensor, pitch: torch.Tensor, energy: torch.Tensor,
               speaker: torch.Tensor, frames: int | torch.Tensor) -> torch.Tensor:
        """Encodings and per-phone durations (frames), pitch and energy -> log-mel (B, T, n_mels)
        in the voice's normalised units."""
        h = h + self.pitch_embedding(pitch.unsqueeze(1)) + self.energy_embedding(energy.unsqueeze(1))
        x, position = regulate(h, durations, frames)
        ends = torch.sum(durations, dim=1, keepdim=True)
        t = torch.arange(x.shape[2], device=x.device).unsqueeze(0)
        mask = (t < ends).unsqueeze(1).to(x.dtype)
        x = (x + self.position(position) + self.speaker(speaker).unsqueeze(-1)) * mask
        return (self.to_mel(self.decoder(x, mask)) * mask).transpose(1, 2)

    def reference_style(self, mel: torch.Tensor | None, batch: int = 1) -> torch.Tensor:
        if mel is None:
            return self.no_style.expand(batch, -1, -1)
        return self.style(mel)

    # --- training ------------------------------------------------------------------------------
    def alignment_scores(self, phones: torch.Tensor, mel: torch.Tensor, prior: torch.Tensor) -> torch.Tensor:
        """log P(phone | frame) from the aligner plus the log prior, (B, T, N); padding phones at -1e4.

        The aligner's scores are normalised over the phones *before* the prior is added. Left
        unnormalised, the forward-sum (CTC) loss lets a frame make every phone unlikely and give
        itself to the blank, so each phone is matched at one spike frame and the hard durations
        collapse to a frame each (what the first real run did)."""
        outside = (phones == 0).unsqueeze(1)
        scores = self.aligner(self.embedding(phones).transpose(1, 2), mel).masked_fill(outside, -1e4)
        return (scores.log_softmax(-1) + prior).masked_fill(outside, -1e4)

    def forward(self, batch: dict, binarize: float = 0.0) -> dict:
        """Losses for one batch (see ``data.collate`` for its keys)."""
        phones, mel = batch["phones"], batch["mel"]
        phone_lengths, frame_lengths = batch["phone_lengths"], batch["frame_lengths"]
        phone_mask = phones > 0
        frame_mask = torch.arange(mel.shape[1]).unsqueeze(0) < frame_lengths.unsqueeze(1)

        # alignment, learned from the text and the frames themselves
        scores = self.alignment_scores(phones, mel, batch["prior"])
        log_soft = scores.log_softmax(-1).masked_fill(~frame_mask.unsqueeze(-1), 0.0)
        hard = align.monotonic_search(log_soft, phone_lengths, frame_lengths)
        durations = hard.sum(1)  # (B, N)

        style = self.style(batch["reference"])
        style_mask = torch.arange(style.shape[1]).unsqueeze(0) >= StyleEncoder.lengths(batch["reference_lengths"]).unsqueeze(1)
        no_reference = batch["no_reference"]
        if bool(no_reference.any()):  # those items learn the "no style" vector, alone in their sequence
            style = torch.where(no_reference.view(-1, 1, 1), self.no_style.expand_as(style), style)
            only_first = (torch.arange(style.shape[1]) > 0).unsqueeze(0)
            style_mask = torch.where(no_reference.view(-1, 1), only_first, style_mask)
        h, log_dur, pitch, energy = self.encode(phones, batch["speaker"], style, style_mask)

        # per-phone targets averaged over the frames the alignment gave each phone
        pitch_target = _phone_average(batch["f0"], hard, batch["voiced"])
        energy_target = _phone_average(batch["energy"], hard, frame_mask.to(mel.dtype))
        predicted = self.decode(h, durations, pitch_target, energy_target, batch["speaker"], mel.shape[1])

        fm = frame_mask.unsqueeze(-1).to(mel.dtype)
        pm = phone_mask.to(mel.dtype)
        losses = {
            "mel": (torch.abs(predicted - mel) * fm).sum() / (fm.sum() * mel.shape[2]),
            "duration": (((log_dur - torch.log1p(durations)) ** 2) * pm).sum() / pm.sum(),
            "pitch": (((pitch - pitch_target) ** 2) * pm).sum() / pm.sum(),
            "energy": (((energy - energy_target) ** 2) * pm).sum() / pm.sum(),
            "align": align.forward_sum_loss(scores.masked_fill(~frame_mask.unsqueeze(-1), 0.0), phone_lengths, frame_lengths),
        }
        if binarize > 0:
            losses["binarize"] = binarize * align.binarization_loss(hard, log_soft.exp())
        losses["total"] = sum(losses.values())
        losses["_alignment"] = hard
        # alignment health (logged, not optimised): a collapsing alignment gives many phones a
        # single frame while a few hold the rest
        losses["one_frame"] = ((durations == 1) & phone_mask).sum() / phone_mask.sum()
        return losses


def _phone_average(values: torch.Tensor, hard: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Mean of frame ``values`` (B, T) over each phone's frames where ``weight`` is 1; 0 if none."""
    w = hard * weight.unsqueeze(-1)  # (B, T, N)
    total = torch.einsum("bt,btn->bn", values, w)
    count = w.sum(1)
    return torch.where(count > 0, total / torch.clamp(count, min=1.0), torch.zeros_like(total))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
