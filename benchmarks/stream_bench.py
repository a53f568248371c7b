"""Simultaneous translation latency and quality on dev speech, against the offline path.

    python benchmarks/stream_bench.py [--tasks asr,s2tt,s2st] [--unit-words 5] [--update-s 0.64]

For each utterance: the stream runs as fast as possible with SimulEval's computation-aware clock;
latency is the median over utterances of StartOffset, EndOffset, AL, LAAL (both with and without
computation). Quality, streamed and offline side by side on the same files: WER/CER against the
human transcripts (asr); for s2tt/s2st, chrF against the translation of the human transcript by
the same text translator (the dev speech has no human Spanish references; this isolates what
recognition and streaming lose), and chrF of the streamed text against the offline translation.
For s2st, also the round trip: Whisper base transcribes the translated speech, scored with chrF
against the streamed translation text (how intelligible the faster catch-up speech stays).
"""

from __future__ import annotations

import argparse
import functools
import statistics

import numpy as np
from common import require_data, utterances

from malsori.audio import Audio, load_audio
from malsori.eval.metrics import chrf, error_rate, normalize


@functools.lru_cache(maxsize=1)
def listener():
    from malsori.engines.asr.whisper import WhisperRecognizer

    return WhisperRecognizer("whisper-base")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", default="asr,s2tt,s2st")
    parser.add_argument("--subset", action="append")
    parser.add_argument("--unit-words", type=int, help="default: 5, 3 for s2st")
    parser.add_argument("--update-s", type=float, default=0.32)
    parser.add_argument("--max-speed", type=float, default=2.0)
    parser.add_argument("--catch-up-s", type=float, default=1.0)
    parser.add_argument("--speed", type=float, default=1.25, help="base speaking rate of translated speech")
    parser.add_argument("--src", default="eng", help="spoken language of the subset (kor: Korean dev speech)")
    parser.add_argument("--model", help="recogniser id, e.g. whisper-base or vosk-ko")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    require_data()
    from malsori import Translator
    from malsori.pipelines.stream import StreamingTranslator, run_stream

    from malsori.pipelines.engines import build_engine

    translator = Translator([build_engine(args.model)] if args.model else None)
    default = ["speech/ko/"] if args.src == "kor" else ["speech/en/librispeech", "speech/en/fleurs"]
    rows = [r for s in (args.subset or default) for r in utterances(s)][: args.limit or None]
    audios = [load_audio(r["file"], 16000) for r in rows]
    for task in args.tasks.split(","):
        tgt = args.src if task == "asr" else "spa"
        streamed, offline, lat, rtfs, heard, spoken = [], [], [], [], [], []
        for audio in audios:
            session = StreamingTranslator(translator, task, tgt, args.src, update_s=args.update_s,
                                          unit_words=args.unit_words, max_speed=args.max_speed,
                                          catch_up_s=args.catch_up_s, speed=args.speed)
            run = run_stream(session, audio)
            kind = "commit" if task == "asr" else "translation"
            streamed.append(" ".join(e.text for e in run.events if e.kind == kind))
            offline.append(translator.predict(audio, task="asr" if task == "asr" else "s2tt", tgt_lang=tgt,
                                              src_lang=args.src).text)
            lat += run.utterances
            chunks = [e.audio.resample(16000).samples for e in run.events if e.kind == "audio"]
            if chunks:  # round trip: Whisper base hears the translated speech
                spoken.append(sum(len(c) for c in chunks) / 16000 / audio.duration)
                heard.append(listener().transcribe(Audio(np.concatenate(chunks), 16000), tgt).text)
            rtfs.append(run.compute_seconds / run.source_duration)
        med = lambda key: statistics.median(u[key] for u in lat if u.get(key) is not None)  # noqa: E731
        refs = [r["text"] for r in rows]
        if task == "asr":
            unit = "CER" if args.src == "kor" else "WER"
            quality = (f"{unit} stream {100 * error_rate(refs, streamed, args.src):.1f}%  offline "
                       f"{100 * error_rate(refs, offline, args.src):.1f}%")
        else:
            gold = [translator.predict(r["text"], task="t2tt", src_lang=args.src, tgt_lang=tgt).text for r in rows]
            # The transcripts are lower case without punctuation, so these are compared normalised.
            plain = lambda texts: [normalize(t, tgt) for t in texts]  # noqa: E731
            ours, theirs = chrf(plain(gold), plain(streamed)), chrf(plain(gold), plain(offline))
            quality = (f"chrF (normalised) vs MT(transcript): stream {ours:.1f} offline {theirs:.1f} "
                       f"({100 * (ours - theirs) / theirs:+.1f}%); stream vs offline {chrf(offline, streamed):.1f}")
            if heard:
                quality += f"; speech {statistics.median(spoken):.2f}x as long as the input"
                quality += (f"; round-trip chrF of the speech (raw / normalised) {chrf(streamed, heard):.1f} / "
                            f"{chrf(plain(streamed), plain(heard)):.1f}")
        print(f"{task:5} n={len(rows)} utterances={len(lat)}  AL {med('AL'):.2f} (CA {med('AL_CA'):.2f})  "
              f"LAAL {med('LAAL'):.2f} (CA {med('LAAL_CA'):.2f})  StartOffset {med('StartOffset'):.2f} "
              f"(CA {med('StartOffset_CA'):.2f})  EndOffset {med('EndOffset'):.2f} (CA {med('EndOffset_CA'):.2f})  "
              f"RTF {statistics.median(rtfs):.2f}  {quality}")


if __name__ == "__main__":
    main()
