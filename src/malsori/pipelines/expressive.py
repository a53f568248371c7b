"""Expressive speech output: the translation spoken with the source's delivery.

For one source segment (its audio and recognised words) and its translation:
1. the source's pauses are found (intensity) and attached to the word they follow;
2. each pause is carried to a gap between translated words through a word alignment
   (``malsori.prosody.align``) and the translation is cut into phrases there;
3. the synthesiser's voice nearest the speaker is chosen (speaker-embedding cosine), and each
   phrase gets its source phrase's pace (relative to the language's typical syllable rate),
   pitch register and spread, and relative level;
4. a ``PhraseSynthesizer`` (eSpeak NG) speaks the phrases in one utterance with those settings
   and the source's pause lengths between them; other voices speak phrase by phrase, re-pitched
   with PSOLA and joined with the pauses. The long-term spectrum is then equalised
   toward the source's, the whole is whispered when the source was, and its integrated loudness
   matched. (Formant scaling is optional and off: it cost intelligibility for no similarity.)
``fit_duration`` makes the segment last as long as its source (dubbing); ``duration_factor``
scales the result like SeamlessExpressive's option of that name. When the source cannot be
analysed (too short, no voiced frames) the plain synthesis is returned with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from malsori.audio import Audio
from malsori.audio.core import concatenate, silence
from malsori.prosody.align import align, map_gap, pauses_after_words, words_of
from malsori.prosody.analysis import Prosody, analyze, speech_mask
from malsori.prosody.transfer import (RANGE_LIMITS, TEMPO_LIMITS, change_voice, match_loudness, match_timbre,
                                      measure_formant_ratio, transfer, whisperize)
from malsori.protocols import Phrase, PhraseSynthesizer, Synthesizer, Word
from malsori.text.syllables import count_syllables, relative_rate

MIN_PAUSE_S = 0.1  # the least pause carried (as scored: SeamlessExpressive's evaluation counts 0.1 s)
CLOSED_GAP_S = 0.06  # what is left of a silence the source did not have
MAX_PAUSE_S = 2.0
MIN_PHRASE_WORDS = 2  # a one-word phrase is too short to re-pitch reliably
FIT_LIMITS = (0.5, 2.0)  # dubbing may stretch further than pace transfer
EDGE_KEEP_S = 0.03
SHORTLIST = 8  # voices compared after equalisation
# The nearest voices after equalisation each speak the whole output, and the output nearest the
# speaker is kept: a voice's sample (the first text of a pitch band) can mislead on another text
# (one male output fell to 0.49 against 0.55 plain). Dev figures in docs/benchmarks.md.
FINALISTS = 2


@dataclass(frozen=True)
class ExpressiveOptions:
    rate: bool = True
    pauses: bool = True
    pitch: bool = True
    loudness: bool = True
    whisper: bool = True
    voice: bool = True
    # Formant scaling (Praat's "Change gender") cost 8% of round-trip chrF on eSpeak NG Spanish for
    # no speaker-similarity gain over voice choice + timbre (expressive_bench ablation): off.
    formants: bool = False
    duration_factor: float = 1.0
    fit_duration: bool = False


@dataclass
class ExpressiveReport:
    phrases: int = 1
    pauses: list[dict] = field(default_factory=list)  # {"after_source_word", "after_output_word", "seconds"}
    voice: str | None = None  # the synthesiser voice chosen as nearest the speaker
    formant_ratio: float = 1.0
    whispered: bool = False
    loudness_gain_db: float = 0.0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


class ExpressiveRenderer:
    def __init__(self, synthesizer: Synthesizer, options: ExpressiveOptions | None = None, encoder=None,
                 keep_voice: bool = False):
        self.synthesizer = synthesizer
        self.options = options or ExpressiveOptions()
        self._encoder = encoder  # SpeakerEncoder; the GE2E one is loaded when a voice is chosen
        self._voice_samples: dict[tuple[str, str, int | None], tuple[Audio, np.ndarray]] = {}
        # A live stream keeps the first voice chosen: its short units would otherwise hop
        # between neighbouring voices.
        self.keep_voice = keep_voice
        self._kept: dict[str, str] = {}

    def rank_voices(self, source: Audio, text: str, language: str, report: "ExpressiveReport",
                    pitch_hz: float | None = None) -> list[str]:
        """The synthesiser's voices nearest the source speaker (cosine of speaker embeddings),
        nearest first and at most SHORTLIST of them; empty for its default when it has one voice
        or no speaker encoder is installed, and the kept voice alone with ``keep_voice``. Each
        voice speaks once per language, the first text it is asked to speak; a
        ``PhraseSynthesizer`` speaks it at ``pitch_hz`` (the source's), as the output will be,
        once per language and two-semitone band. Each sample is compared after equalising it
        toward the source, as the output will be: the voice nearest before equalisation is
        often not the nearest after it."""
        if language in self._kept:
            return [self._kept[language]]
        voices = getattr(self.synthesizer, "voices", None)
        candidates = voices(language) if voices else []
        if len(candidates) < 2 or source.duration < 1.0:
            return []
        if self._encoder is False:
            return []
        try:
            if self._encoder is None:
                from malsori.engines.speaker.ge2e import shared_encoder

                self._encoder = shared_encoder()
            target = self._encoder.embed(source)
        except Exception as exc:  # no torch or no weights: the default voice still works
            report.warnings.append(f"no speaker encoder ({type(exc).__name__}): default voice")
            self._encoder = False
            return []
        band = None
        if pitch_hz and isinstance(self.synthesizer, PhraseSynthesizer):
            band = int(round(6 * np.log2(pitch_hz / 100)))  # two semitones wide
            reach = getattr(self.synthesizer, "pitch_reach", None)
            if reach is not None:
                # A voice that cannot reach the speaker's register loses what F0 says about them
                # (measured: Korean speakers at 230-260 Hz came out at 200-215).
                within = [v for v in candidates if (r := reach(v)) and r[0] <= pitch_hz * 1.05 and r[1] >= pitch_hz / 1.05]
                candidates = within or candidates
        samples = {voice: self._voice_sample(text, language, voice, band) for voice in candidates}
        # Equalising every candidate costs an embedding each: the nearest few as they are spoken
        # are re-ranked (re-ranking 8 instead of all lost 0.001 of mean similarity on 21 dev
        # utterances).
        shortlist = sorted(candidates, key=lambda v: -float(np.dot(target, samples[v][1])))[:SHORTLIST]
        equalised = {v: self._encoder.embed(match_timbre(samples[v][0], source)) for v in shortlist}
        ranked = sorted(shortlist, key=lambda v: -float(np.dot(target, equalised[v])))
        if self.keep_voice:
            self._kept[language] = ranked[0]
        return ranked

    def _voice_sample(self, text: str, language: str, voice: str, band: int | None) -> tuple[Audio, np.ndarray]:
        """The voice speaking (once per language and pitch band) and its embedding."""
        key = (language, voice, band)
        if key not in self._voice_samples:
            if band is None:
                spoken = self.synthesizer.synthesize(text, language, voice=voice)
            else:
                spoken = self.synthesizer.synthesize_phrases([Phrase(text, pitch_hz=100 * 2 ** (band / 6))],
                                                             language, voice=voice)
            self._voice_samples[key] = (spoken, self._encoder.embed(spoken))
        return self._voice_samples[key]

    def render(self, source: Audio, words: list[Word], text: str, language: str,
               source_language: str | None = None, lexicon: dict | None = None) -> tuple[Audio, ExpressiveReport]:
        """``text`` in ``language`` spoken like ``source``; ``words`` are the source's recognised
        words with times relative to ``source``."""
        report = ExpressiveReport()
        opts = self.options
        try:
            src = analyze(source, min_pause_s=MIN_PAUSE_S)
        except Exception as exc:  # Praat refuses some degenerate signals: speak plainly instead
            src = None
            report.warnings.append(f"the source could not be analysed ({exc}): plain output")
        if src is None or src.speech_time < 0.3 or src.log_f0_stats() is None and not src.whispered:
            if src is not None:
                report.warnings.append("the source has too little voiced speech to follow: plain output")
            return self._scaled(self.synthesizer.synthesize(text, language), source), report

        voice = whisper_voice = None
        if opts.whisper and src.whispered and hasattr(self.synthesizer, "whisper_voice"):
            # A voice that whispers by itself is far easier to follow than whispered-over speech.
            voice = whisper_voice = self.synthesizer.whisper_voice(language)
        finalists: list[str | None] = [voice]
        if whisper_voice is None and opts.voice and not src.whispered:
            finalists = self.rank_voices(source, text, language, report,
                                         float(np.nanmedian(src.f0)) if opts.pitch else None)[:FINALISTS] or [None]
        in_one_go = isinstance(self.synthesizer, PhraseSynthesizer)
        phrases = self._plan(src, words, text, source_language or language, lexicon, report,
                             min_words=1 if in_one_go else MIN_PHRASE_WORDS)
        if in_one_go:
            spoken = {v: self._speak_in_one_go(phrases, language, v, source) for v in finalists}
        else:
            spoken = {v: self._speak_phrase_by_phrase(phrases, language, v, source, src, report) for v in finalists[:1]}
        if opts.voice and not src.whispered:
            spoken = {v: match_timbre(speech, source) for v, speech in spoken.items()}
        voice = finalists[0]
        if len(spoken) > 1:
            target = self._encoder.embed(source)
            voice = max(spoken, key=lambda v: float(np.dot(target, self._encoder.embed(spoken[v]))))
        speech = spoken[voice]
        report.voice = voice
        if opts.pauses and not opts.fit_duration:  # after the equaliser, which moves quiet sounds
            speech = _close_unwanted_pauses(speech, sum(p.pause_after > 0 for p in phrases))
        if opts.whisper and src.whispered:
            if whisper_voice is None:
                speech = whisperize(speech)
            report.whispered = True
        if opts.loudness and np.isfinite(src.loudness_lufs):
            speech, gain = match_loudness(speech, src.loudness_lufs)
            report.loudness_gain_db = gain or 0.0
        report.phrases = len(phrases)
        return speech, report

    def _plan(self, src: Prosody, words: list[Word], text: str, src_lang: str, lexicon: dict | None,
              report: ExpressiveReport, min_words: int) -> list[Phrase]:
        """The output cut into phrases at the carried pauses, each with its source phrase's
        pitch register and spread, pace relative to its language's norm, and relative level."""
        opts = self.options
        target_words = words_of(text)
        src_words = [w.text for w in words]
        src_times = [(w.start, w.end) for w in words]
        cuts = self._cuts(src, src_words, src_times, target_words, src_lang, lexicon, report, min_words)
        # Phrase k of the output is spoken like the source between cut k-1 and cut k.
        bounds = [0] + [j + 1 for j, _, _ in cuts] + [len(target_words)]
        edges = [src.speech[0][0]] + [(a + b) / 2 for _, a, b in cuts] + [src.speech[-1][1]]
        in_speech = speech_mask(src.times, src.speech)
        level = float(np.mean(src.intensity[in_speech])) if in_speech.any() else 0.0
        phrases = []
        for k in range(len(bounds) - 1):
            window = (src.times >= edges[k]) & (src.times <= edges[k + 1])
            pitch_hz = spread = None
            if opts.pitch and not src.whispered:
                voiced = src.f0[window & np.isfinite(src.f0)]
                if len(voiced) < 10:  # too little to measure: the whole utterance's register
                    voiced = src.f0[np.isfinite(src.f0)]
                pitch_hz, spread = float(np.median(voiced)), float(np.std(np.log(voiced)))
            speed = 1.0
            if opts.rate and not src.whispered:
                # Languages differ in syllable rate, and so do voices: a source 20% faster than
                # typical for its language is spoken 20% faster than the voice's own pace.
                src_rate = _text_rate(src_words, src_times, edges[k], edges[k + 1], src_lang)
                if src_rate:
                    speed = float(np.clip(relative_rate(src_rate, src_lang), 1 / TEMPO_LIMITS[1], 1 / TEMPO_LIMITS[0]))
            volume = 0.0
            if opts.loudness and (window & in_speech).any():
                volume = float(np.mean(src.intensity[window & in_speech])) - level
            pause = min(MAX_PAUSE_S, cuts[k][2] - cuts[k][1]) if k < len(cuts) else 0.0
            phrases.append(Phrase(" ".join(target_words[bounds[k]:bounds[k + 1]]), pitch_hz, spread,
                                  speed / opts.duration_factor, volume, pause * opts.duration_factor))
        return phrases

    def _speak_in_one_go(self, phrases: list[Phrase], language: str, voice: str | None, source: Audio) -> Audio:
        speech = self.synthesizer.synthesize_phrases(phrases, language, voice=voice).trim(EDGE_KEEP_S, EDGE_KEEP_S)
        if not self.options.fit_duration:
            return speech
        # The voice's pace is only known after speaking: speak again at the corrected pace, then
        # stretch the small remainder.
        pauses = sum(p.pause_after for p in phrases)
        scale = (speech.duration - pauses) / max(0.1, source.duration - pauses)
        scale = float(np.clip(scale, 1 / FIT_LIMITS[1], 1 / FIT_LIMITS[0]))
        phrases = [replace(p, speed=p.speed * scale) for p in phrases]
        speech = self.synthesizer.synthesize_phrases(phrases, language, voice=voice).trim(EDGE_KEEP_S, EDGE_KEEP_S)
        return _fit(speech, source)

    def _speak_phrase_by_phrase(self, phrases: list[Phrase], language: str, voice: str | None, source: Audio,
                                src: Prosody, report: ExpressiveReport) -> Audio:
        """Synthesisers that speak one text at a time: each phrase spoken at its pace (the voice's
        own speed control where it has one), then re-pitched (PSOLA) and levelled."""
        opts = self.options
        speed_control = getattr(self.synthesizer, "supports_speed", False)
        audio = []
        for phrase in phrases:
            kwargs = {"speed": phrase.speed} if speed_control and abs(phrase.speed - 1) > 0.05 else {}
            audio.append(self._speak(phrase.text, language, voice, **kwargs).trim(EDGE_KEEP_S, EDGE_KEEP_S))
        rate = audio[0].sample_rate
        ratio = 1.0
        if opts.voice and opts.formants and not src.whispered:
            plain = concatenate(audio, rate)
            measured = measure_formant_ratio(source, plain, src, analyze(plain))
            if measured is None:
                report.warnings.append("formants could not be measured: voice left as it is")
            else:
                ratio = report.formant_ratio = measured
        factors = [1.0 if speed_control else 1 / p.speed for p in phrases]
        if opts.fit_duration:
            pauses = sum(p.pause_after for p in phrases)
            spoken = sum(a.duration * f for a, f in zip(audio, factors))
            scale = (source.duration - pauses) / max(0.1, spoken)
            factors = [float(np.clip(f * scale, *FIT_LIMITS)) for f in factors]
        pieces = []
        for phrase, piece, factor in zip(phrases, audio, factors):
            pieces.append(_repitch(piece, phrase, ratio, factor).resample(rate))
            if phrase.pause_after > 0:
                pieces.append(silence(phrase.pause_after, rate))
        speech = concatenate(pieces, rate)
        return _fit(speech, source) if opts.fit_duration else speech

    def _speak(self, text: str, language: str, voice: str | None, **kwargs) -> Audio:
        if voice is not None:
            kwargs["voice"] = voice
        return self.synthesizer.synthesize(text, language, **kwargs)

    def _cuts(self, src, src_words, src_times, target_words, src_lang, lexicon, report,
              min_words: int) -> list[tuple[int, float, float]]:
        """(output word index the pause follows, pause start, pause end) in output order."""
        if not self.options.pauses or len(target_words) < 2 * min_words:
            return []
        pauses = [(a, b) for a, b in src.pauses if b - a >= MIN_PAUSE_S]
        if not pauses:
            return []
        if len(src_words) >= 2:
            after = pauses_after_words(src_times, pauses)
            alignment = align(src_words, target_words, lexicon)
            found = [(k, pause) for k, d in enumerate(after) if d > 0
                     for pause in [_pause_after(pauses, src_times, k)]]
            mapped = [(map_gap(k, len(src_words), target_words, alignment), k, pause) for k, pause in found]
        else:  # no word times: carry each pause to the same share of the output's syllables
            total = src.speech_time
            mapped = []
            for pause in pauses:
                share = sum(min(b, pause[0]) - a for a, b in src.speech if a < pause[0]) / total
                mapped.append((_syllable_gap(target_words, share), -1, pause))
        cuts, used = [], set()
        last = -1
        for j, k, pause in sorted(mapped):
            # Phrases keep at least min_words words, and stay in the source's order.
            if j < 0 or j in used or j - last < min_words or len(target_words) - 1 - j < min_words:
                continue
            if cuts and pause[0] < cuts[-1][1]:
                continue
            used.add(j)
            last = j
            cuts.append((j, pause[0], pause[1]))
            report.pauses.append({"after_source_word": k, "after_output_word": j,
                                  "seconds": round(pause[1] - pause[0], 3)})
        return cuts

    def _scaled(self, speech: Audio, source: Audio) -> Audio:
        """The plain output, still honouring the requested duration."""
        opts = self.options
        factor = opts.duration_factor * (source.duration / speech.duration if opts.fit_duration and speech.duration else 1.0)
        if abs(factor - 1.0) < 0.01 or speech.duration < 0.3:
            return speech
        return _stretch(speech, speech.duration * float(np.clip(factor, *FIT_LIMITS)))


def follow_delivery(source: Audio, speech: Audio, options: ExpressiveOptions) -> tuple[Audio, ExpressiveReport]:
    """Expressive output for models that translate speech end to end (SeamlessM4T v2): there is
    no text to re-speak, so the whole output is moved to the source's pitch register and spread,
    loudness and whisper by signal processing, and fitted to the asked duration. Pauses and pace
    are not carried (no word times on either side), nor is a voice chosen."""
    duration = None
    if options.fit_duration:
        duration = source.duration
    elif abs(options.duration_factor - 1) > 0.01:
        duration = speech.duration * options.duration_factor
    out, done = transfer(source, speech, rate=False, pitch=options.pitch, loudness=options.loudness,
                         whisper=options.whisper, voice=options.formants, duration=duration)
    report = ExpressiveReport(voice=None, formant_ratio=done.formant_ratio, whispered=done.whispered,
                              loudness_gain_db=done.loudness_gain_db, warnings=list(done.warnings))
    report.warnings.append("end-to-end model: pauses, pace and voice choice are not carried")
    return out, report


def _repitch(piece: Audio, phrase: Phrase, formant_ratio: float, duration_factor: float) -> Audio:
    """One separately spoken phrase moved to its register, spread, length and level."""
    prosody = analyze(piece)
    stats = prosody.log_f0_stats()
    if prosody.speech_time < 0.3 or stats is None:  # too short to re-pitch: leave as spoken
        return piece
    median = phrase.pitch_hz or 0.0  # 0: Praat keeps the pitch
    spread = float(np.clip(phrase.pitch_spread / stats[1], *RANGE_LIMITS)) if phrase.pitch_spread and stats[1] > 0 else 1.0
    if median or spread != 1.0 or formant_ratio != 1.0 or abs(duration_factor - 1) > 0.01:
        piece = change_voice(piece, prosody, formant_ratio, median, spread, duration_factor)
    return Audio(piece.samples * np.float32(10 ** (phrase.volume_db / 20)), piece.sample_rate)


def _close_unwanted_pauses(speech: Audio, wanted: int) -> Audio:
    """Silences of ``MIN_PAUSE_S`` or more that are not among the ``wanted`` longest (the carried
    pauses) shortened to ``CLOSED_GAP_S``: where the source did not pause, the output should not
    either, and voices leave such gaps at slow rates, before stops and between words."""
    for _ in range(3):  # closing one gap can merge short sounds around another: look again
        silences = analyze(speech, min_pause_s=MIN_PAUSE_S).pauses
        extra = sorted(silences, key=lambda p: p[1] - p[0], reverse=True)[wanted:]
        if not extra:
            break
        mono = speech.to_mono()
        rate = mono.sample_rate
        keep = np.ones(mono.frames, bool)
        for a, b in extra:
            middle, cut = (a + b) / 2, (b - a - CLOSED_GAP_S) / 2
            keep[int((middle - cut) * rate):int((middle + cut) * rate)] = False
        speech = Audio(mono.samples[keep], rate)
    return speech


def _stretch(speech: Audio, seconds: float) -> Audio:
    """``speech`` made ``seconds`` long by PSOLA, its pitch kept."""
    return change_voice(speech, analyze(speech), 1.0, 0.0, 1.0, seconds / speech.duration)


def _fit(speech: Audio, source: Audio) -> Audio:
    """``speech`` made exactly as long as ``source``: stretched when more than 2% off, then
    padded or cut at the end by the last few samples."""
    if abs(speech.duration / source.duration - 1) > 0.02 and speech.duration > 0.3:
        speech = _stretch(speech, source.duration)
    frames = int(round(source.duration * speech.sample_rate))
    samples = speech.to_mono().samples[:frames]
    return Audio(np.pad(samples, (0, frames - len(samples))), speech.sample_rate)


def _pause_after(pauses, times, k: int) -> tuple[float, float]:
    """The longest pause between word k and word k+1."""
    lo, hi = (times[k][0] + times[k][1]) / 2, (times[k + 1][0] + times[k + 1][1]) / 2
    inside = [p for p in pauses if lo <= (p[0] + p[1]) / 2 <= hi]
    return max(inside, key=lambda p: p[1] - p[0]) if inside else (times[k][1], times[k + 1][0])


def _text_rate(words, times, start: float, end: float, language: str) -> float | None:
    """Syllables per second of the source words whose centres fall in [start, end]."""
    chosen = [(w, t) for w, t in zip(words, times) if start <= (t[0] + t[1]) / 2 <= end]
    if not chosen:
        return None
    span = chosen[-1][1][1] - chosen[0][1][0]
    syllables = count_syllables(" ".join(w for w, _ in chosen), language)
    return syllables / span if span > 0.2 and syllables else None


def _syllable_gap(words: list[str], share: float) -> int:
    counts = np.cumsum([max(1, count_syllables(w)) for w in words])
    return int(np.argmin(np.abs(counts / counts[-1] - share)))

