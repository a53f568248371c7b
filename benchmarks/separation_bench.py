"""Separation and target-speaker extraction on two-speaker mixtures of dev speech.

    python benchmarks/separation_bench.py [--per-pair 1] [--limit N]                 # VoiceFilter-Lite
    python benchmarks/separation_bench.py --model-dir MODEL [--per-pair 2]           # a trained separator

With ``--model-dir`` (a model of ``malsori separate train``, or any separator folder), the same
mixtures go through it: a separation model's two tracks are matched to the two voices (the better
permutation) and a extraction model is given the enrolment. Beside it, in the same run: the
oracle ideal ratio mask at the model's rate (an upper bound no blind method reaches) and the
unprocessed mixture (0 dB by definition). The speakers here must not be in the model's training
speech; the card's training speech is printed so that can be checked.

Speakers: LibriSpeech ls-1988, ls-2412, ls-3752 and speechbrain sb-spk1, sb-spk2. Every ordered
pair of different speakers gives ``--per-pair`` mixtures: a target utterance plus an utterance of
the other speaker, cut to the shorter of the two and mixed at 0 dB; the enrolment is another
utterance of the target speaker. Reported: SI-SNR improvement of the extracted track over the
mixture (mean, median), the interferer's SI-SNR change (negative: it was suppressed), how loud
the output is against the mixture, the real-time factor (compute / mixture duration, models
loaded beforehand), whether the extractor's self-check accepts the mask model, and how often the
d-vector encoder puts the enrolment nearer the target's voice than the interferer's.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np
from common import require_data, utterances

from malsori.audio import Audio, load_audio
from malsori.errors import ModelError
from malsori.eval.separation import si_snr, si_snr_improvement

SPEAKERS = ["ls-1988", "ls-2412", "ls-3752", "sb-spk1", "sb-spk2"]
RATE = 16_000


def mixtures(per_pair: int):
    """(target speaker, interferer speaker, target, interferer, enrolment) at 16 kHz, 0 dB."""
    rows = [r for prefix in ("speech/en/librispeech", "speech/en/speechbrain") for r in utterances(prefix)]
    by_speaker = {s: [r["file"] for r in rows if r["speaker"] == s] for s in SPEAKERS}
    cache: dict[str, np.ndarray] = {}

    def load(path):
        if path not in cache:
            cache[path] = load_audio(path, RATE).samples.astype(np.float64)
        return cache[path]

    for n, (tgt, itf) in enumerate(itertools.permutations(SPEAKERS, 2)):
        for k in range(per_pair):
            own, other = by_speaker[tgt], by_speaker[itf]
            i = (n + k) % len(own)
            target, interferer = load(own[i]), load(other[(n + 2 * k) % len(other)])
            enrolment = load(own[(i + 1) % len(own)])  # another utterance of the same speaker
            length = min(len(target), len(interferer))
            target, interferer = target[:length], interferer[:length]
            interferer = interferer * np.sqrt(np.mean(target ** 2) / np.mean(interferer ** 2))
            yield tgt, itf, target, interferer, enrolment


def energy(x: np.ndarray) -> float:
    return float(np.sum(x.astype(np.float64) ** 2))


def ideal_ratio_mask(mix: np.ndarray, sources: list[np.ndarray], rate: int) -> list[np.ndarray]:
    """Each source as the mixture's STFT under its oracle ratio mask |S|^2 / sum |S_k|^2."""
    from scipy.signal import istft, stft

    spectra = [stft(s, rate, nperseg=256)[2] for s in sources]
    power = sum(np.abs(x) ** 2 for x in spectra) + 1e-12
    mixed = stft(mix, rate, nperseg=256)[2]
    return [istft(mixed * np.abs(x) ** 2 / power, rate, nperseg=256)[1][:len(mix)] for x in spectra]


def trained_model(model_dir: str, per_pair: int, limit: int) -> None:
    import json
    from pathlib import Path

    from malsori.pipelines.separate import BlindSeparator, extractor_for

    card = json.loads((Path(model_dir) / "separator.json").read_text())
    separator = BlindSeparator(model_dir)
    extractor = extractor_for(model_dir) if separator.task == "extraction" else None
    training = card.get("training", {})
    print(f"{separator.name}: {separator.task}, {separator.sample_rate} Hz, {training.get('steps')} steps, "
          f"{training.get('wall_s', 0) / 60:.0f} training min; trained on {training.get('speech')}")
    rate = separator.sample_rate
    ours, oracle, compute, audio_s = [], [], 0.0, 0.0
    cases = list(mixtures(per_pair))[: limit or None]
    for tgt, itf, target, interferer, enrolment in cases:
        mix = Audio((target + interferer).astype(np.float32), RATE)
        t0 = time.perf_counter()
        if extractor is not None:
            outs = [extractor.extract(mix, Audio(enrolment.astype(np.float32), RATE))]
        else:
            outs = separator.separate(mix)
        compute += time.perf_counter() - t0
        audio_s += mix.duration
        refs = [target, interferer][:len(outs)]
        scores = [statistics.mean(si_snr_improvement(o, mix, r) for o, r in zip(order, refs))
                  for order in itertools.permutations(outs, len(refs))]
        ours.append(max(scores))
        low = [Audio(x.astype(np.float32), RATE).resample(rate).samples for x in (target + interferer, target, interferer)]
        masked = ideal_ratio_mask(low[0], low[1:], rate)[:len(refs)]
        oracle.append(statistics.mean(si_snr_improvement(Audio(m.astype(np.float32), rate), Audio(low[0], rate),
                                                         Audio(r, rate)) for m, r in zip(masked, low[1:])))
        print(f"  {tgt:8} + {itf:8} {mix.duration:5.1f} s  SI-SNRi {ours[-1]:+6.2f} dB  (oracle IRM {oracle[-1]:+6.2f})")
    print(f"{len(cases)} mixtures at 0 dB of held-out speakers, {audio_s:.0f} s:")
    print(f"  {separator.name:24} SI-SNRi mean {statistics.mean(ours):+.2f} dB  median {statistics.median(ours):+.2f} dB")
    print(f"  {'oracle IRM (upper bound)':24} SI-SNRi mean {statistics.mean(oracle):+.2f} dB")
    print(f"  {'mixture (no processing)':24} SI-SNRi  0.00 dB")
    print(f"  RTF {compute / audio_s:.3f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-pair", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--model-dir")
    args = parser.parse_args()
    require_data()
    if args.model_dir:
        trained_model(args.model_dir, args.per_pair, args.limit)
        return
    from malsori.engines.speaker.voicefilter import VoiceFilterEncoder, VoiceFilterExtractor

    try:
        VoiceFilterExtractor()._load()
        verdict = "accepted"
    except ModelError as exc:
        verdict = f"refused ({exc})"
    extractor, encoder = VoiceFilterExtractor(verify=False), VoiceFilterEncoder()  # the model as shipped
    extractor._load()
    gains, interferer_change, loudness, enrol_nearer = [], [], [], []
    compute = audio_s = 0.0
    cases = list(mixtures(args.per_pair))[: args.limit or None]
    for tgt, itf, target, interferer, enrolment in cases:
        mix = Audio((target + interferer).astype(np.float32), RATE)
        enrol = Audio(enrolment.astype(np.float32), RATE)
        t0 = time.perf_counter()
        out = extractor.extract(mix, enrol)
        compute += time.perf_counter() - t0
        audio_s += mix.duration
        gains.append(si_snr_improvement(out, mix, target))
        interferer_change.append(si_snr(out, interferer) - si_snr(mix, interferer))
        loudness.append(10 * np.log10(energy(out.samples) / energy(mix.samples)))
        e = encoder.embed(enrol)
        enrol_nearer.append(float(e @ encoder.embed(Audio(target.astype(np.float32), RATE)))
                            > float(e @ encoder.embed(Audio(interferer.astype(np.float32), RATE))))
        print(f"  {tgt:8} over {itf:8} {mix.duration:5.1f} s  SI-SNRi {gains[-1]:+6.2f} dB  "
              f"interferer {interferer_change[-1]:+6.2f} dB  output {loudness[-1]:+5.1f} dB")
    print(f"voicefilter-lite (open-voicefilter-lite bundled int8 models) on {len(cases)} dev mixtures at 0 dB, "
          f"{audio_s:.0f} s of audio")
    print(f"  SI-SNRi mean {statistics.mean(gains):+.2f} dB  median {statistics.median(gains):+.2f} dB  "
          f"(min {min(gains):+.2f}, max {max(gains):+.2f})")
    print(f"  interferer SI-SNR change median {statistics.median(interferer_change):+.2f} dB; output level "
          f"median {statistics.median(loudness):+.1f} dB against the mixture")
    print(f"  RTF {compute / audio_s:.3f} (one process, {compute:.1f} s compute)")
    print(f"  mask-model self-check: {verdict}")
    print(f"  d-vector: enrolment nearer the target than the interferer in {sum(enrol_nearer)}/{len(enrol_nearer)}")


if __name__ == "__main__":
    main()
