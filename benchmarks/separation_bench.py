"""Target-speaker extraction (VoiceFilter-Lite) on two-speaker mixtures of dev speech.

    python benchmarks/separation_bench.py [--per-pair 1] [--limit N]

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-pair", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    require_data()
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
