"""Diarization from local speakers (pyannote's method) on made-up segmentations and embeddings:
clustering, the speaker count, overlap, exclusive mode and speech only the VAD heard."""

import numpy as np
import pytest

from malsori.audio import Audio
from malsori.engines.speaker.segmentation import FRAME_S, POWERSET, LocalSpeakers
from malsori.pipelines.local_speakers import (LocalSpeakerOptions, cluster_embeddings, local_embeddings,
                                              middle_frames, speech_in_spans, turns_from_embeddings, unheard_spans)
from malsori.protocols import Diarization, SpeechRegion

RNG = np.random.default_rng(0)
VOICES = np.linalg.qr(RNG.normal(size=(192, 4)))[0].T  # four orthogonal 'voices'


def near(voice: int, spread: float = 0.3) -> np.ndarray:
    v = VOICES[voice] + spread * RNG.normal(size=192) / np.sqrt(192)
    return v / np.linalg.norm(v)


def test_powerset_classes_are_the_local_speakers_sets():
    assert POWERSET.sum(axis=1).tolist() == [0, 1, 1, 1, 2, 2, 2]
    assert len({tuple(r) for r in POWERSET}) == 7


def test_the_speaker_count_follows_the_threshold_and_the_bounds():
    emb = np.stack([near(v) for v in [0] * 8 + [1] * 8 + [2] * 8])
    opts = LocalSpeakerOptions()
    labels = cluster_embeddings(emb, opts)
    assert len(set(labels)) == 3
    assert all(len(set(labels[i:i + 8])) == 1 for i in (0, 8, 16))  # each voice one cluster
    assert len(set(cluster_embeddings(emb, opts, num_speakers=2))) == 2
    assert len(set(cluster_embeddings(emb, opts, max_speakers=2))) == 2
    assert len(set(cluster_embeddings(emb, opts, min_speakers=4))) == 4
    assert len(set(cluster_embeddings(emb, opts, num_speakers=1))) == 1
    # a voice heard once among many is a cluster too small to keep: it joins a big one
    few = np.stack([near(v) for v in [0] * 15 + [1] * 15 + [3]])
    assert len(set(cluster_embeddings(few, LocalSpeakerOptions(min_cluster_share=0.05)))) == 2
    assert len(set(cluster_embeddings(few, LocalSpeakerOptions(min_cluster_share=0.0)))) == 3


def test_a_voice_heard_a_little_in_a_long_recording_is_still_a_speaker():
    """Over many embeddings a share of them would swallow a voice that talks a little: a few
    embeddings of it are enough, and a lone stray one still joins a big cluster."""
    emb = np.stack([near(v) for v in [0] * 100 + [1] * 100 + [2] * 4])
    labels = cluster_embeddings(emb, LocalSpeakerOptions())
    assert len(set(labels)) == 3 and len(set(labels[-4:])) == 1 and labels[-1] not in labels[:200]
    assert len(set(cluster_embeddings(emb, LocalSpeakerOptions(min_cluster_size=10)))) == 2
    stray = np.stack([near(v) for v in [0] * 100 + [1] * 100 + [3]])
    assert len(set(cluster_embeddings(stray, LocalSpeakerOptions()))) == 2


def conversation_segmentation(seconds=20.0, step=2.5):
    """A's speech 0-8 s, B's 7-16 s (both in 7-8 s), nobody after: in 10 s chunks where each
    chunk numbers its speakers its own way (B first in odd chunks)."""
    starts = np.arange(0, seconds - 10 + 1e-6, step)
    frames = int(round(10 / FRAME_S))
    active = np.zeros((len(starts), frames, 3), bool)
    who = {}
    for c, start in enumerate(starts):
        t = start + (np.arange(frames) + 0.5) * FRAME_S
        a, b = (0, 2) if c % 2 == 0 else (2, 0)
        active[c, :, a] = t < 8
        active[c, :, b] = (t >= 7) & (t < 16)
        who[(c, a)], who[(c, b)] = 0, 1
    return LocalSpeakers(starts, FRAME_S, active), who


def spoken_turns(turns, speaker):
    return [(round(t.start, 1), round(t.end, 1)) for t in turns if t.speaker == speaker]


def test_local_speakers_are_matched_across_chunks_and_overlap_is_kept():
    local, who = conversation_segmentation()
    audio = Audio(np.zeros(16000 * 20, np.float32), 16000)
    keys = sorted(who)
    emb = np.stack([near(who[k]) for k in keys])
    opts = LocalSpeakerOptions(vad_fill=False)
    turns = turns_from_embeddings(audio, local, None, keys, emb, None, opts)
    result = Diarization("x", 20.0, turns)
    assert len(result.speakers) == 2
    first, second = sorted(result.speakers, key=lambda s: result.of(s)[0].start)
    assert spoken_turns(turns, first) == [(0.0, 8.0)]
    assert spoken_turns(turns, second) == [(7.0, 16.0)]
    exclusive = turns_from_embeddings(audio, local, None, keys, emb, None, LocalSpeakerOptions(vad_fill=False, exclusive=True))
    spans = sorted((t.start, t.end) for t in exclusive)
    assert all(a[1] <= b[0] + 1e-6 for a, b in zip(spans, spans[1:]))  # nobody at the same time
    assert sum(b - a for a, b in spans) == pytest.approx(16.0, abs=0.1)


class VoiceOf:
    """An encoder that hears voice 1 in anything."""

    dimension = 192

    def embed(self, audio):
        return near(1, 0.0)


def test_speech_only_the_vad_heard_is_kept_and_given_a_speaker():
    local, who = conversation_segmentation()
    audio = Audio(np.zeros(16000 * 20, np.float32), 16000)
    keys = sorted(who)
    emb = np.stack([near(who[k]) for k in keys])
    vad = [SpeechRegion(0.0, 8.0), SpeechRegion(7.0, 16.0), SpeechRegion(17.0, 19.0), SpeechRegion(19.5, 19.8)]
    turns = turns_from_embeddings(audio, local, VoiceOf(), keys, emb, vad, LocalSpeakerOptions())
    result = Diarization("x", 20.0, turns)
    second = sorted(result.speakers, key=lambda s: result.of(s)[0].start)[1]
    late = [t for t in turns if t.start >= 16.5]
    # 17-19 s is embedded (voice 1: the second speaker); 19.5-19.8 s is too short and takes the
    # speaker of the nearest frame with one.
    assert [(round(t.start, 1), round(t.end, 1), t.speaker) for t in late] == [(17.0, 19.0, second), (19.5, 19.8, second)]
    without = turns_from_embeddings(audio, local, VoiceOf(), keys, emb, vad, LocalSpeakerOptions(vad_fill=False))
    assert not [t for t in without if t.start >= 16.5]


class HeardOf:
    """An encoder that hears voice ``voice`` in anything."""

    dimension = 192

    def __init__(self, voice: int):
        self.voice = voice

    def embed(self, audio):
        return near(self.voice, 0.0)


def test_vad_speech_never_makes_a_speaker_the_model_did_not_hear():
    """A third voice heard by one chunk only, under A (5-6 s), wins no frame; speech only the VAD
    heard (17-19 s) that sounds like it goes to a speaker the model heard."""
    local, who = conversation_segmentation()
    t = (np.arange(local.active.shape[1]) + 0.5) * FRAME_S
    local.active[0, :, 1] = (t >= 5) & (t < 6)
    who[(0, 1)] = 3
    audio = Audio(np.zeros(16000 * 20, np.float32), 16000)
    keys = sorted(who)
    emb = np.stack([near(who[k]) for k in keys])
    vad = [SpeechRegion(0.0, 16.0), SpeechRegion(17.0, 19.0)]
    turns = turns_from_embeddings(audio, local, HeardOf(3), keys, emb, vad, LocalSpeakerOptions())
    result = Diarization("x", 20.0, turns)
    assert len(result.speakers) == 2
    assert [(round(t.start, 1), round(t.end, 1)) for t in turns if t.start >= 16.5] == [(17.0, 19.0)]


class RecordingVAD:
    """A VAD that hears speech from 0.5 s to 1 s into whatever it is given, and keeps the lengths."""

    def __init__(self):
        self.heard: list[float] = []

    def regions(self, audio):
        self.heard.append(audio.duration)
        return [SpeechRegion(0.5, 1.0)]


def test_the_vad_listens_only_where_the_model_hears_nobody():
    local, _ = conversation_segmentation()  # speech 0-16 s of 20 s
    spans = unheard_spans(local, 20.0, pad_s=1.0)
    assert len(spans) == 1 and spans[0][0] == pytest.approx(15.0, abs=0.05) and spans[0][1] == 20.0
    vad = RecordingVAD()
    audio = Audio(np.zeros(16000 * 20, np.float32), 16000)
    regions = speech_in_spans(vad, audio, spans)
    assert vad.heard == [pytest.approx(20.0 - 15.0, abs=0.05)]
    assert [(round(r.start, 1), round(r.end, 1)) for r in regions] == [(15.5, 16.0)]
    # nobody anywhere: the whole recording; speech everywhere: nothing to hear
    silent = LocalSpeakers(np.array([0.0]), FRAME_S, np.zeros((1, 589, 3), bool))
    assert unheard_spans(silent, 10.0) == [(0.0, 10.0)]
    busy = LocalSpeakers(np.array([0.0]), FRAME_S, np.ones((1, 589, 3), bool))
    assert unheard_spans(busy, 589 * FRAME_S) == []


def test_a_recording_the_model_hears_nobody_in_is_the_vads_speech_of_one_speaker():
    local = LocalSpeakers(np.array([0.0]), FRAME_S, np.zeros((1, 589, 3), bool))
    audio = Audio(np.zeros(16000 * 10, np.float32), 16000)
    keys, emb = local_embeddings(audio, local, VoiceOf(), LocalSpeakerOptions())
    assert keys == []
    turns = turns_from_embeddings(audio, local, VoiceOf(), keys, emb, [SpeechRegion(2.0, 4.0)], LocalSpeakerOptions())
    assert [(round(t.start, 1), round(t.end, 1)) for t in turns] == [(2.0, 4.0)]
    assert turns_from_embeddings(audio, local, VoiceOf(), keys, emb, None, LocalSpeakerOptions()) == []


def test_local_speakers_are_embedded_on_their_own_frames(piper):
    """With a real encoder: two different voices in one chunk give two far embeddings."""
    from malsori.engines.speaker import shared_encoder

    a = piper.synthesize("The weather is lovely today.", "eng").resample(16000)
    b = piper.synthesize("I would like a cup of coffee.", "eng").resample(16000)
    from malsori.prosody.transfer import change_voice
    from malsori.prosody import analyze

    b = change_voice(b, analyze(b), 1.2, 220.0, 1.0, 1.0).resample(16000)
    samples = np.zeros(16000 * 10, np.float32)
    samples[:len(a.samples)] = a.samples[:16000 * 5]
    samples[16000 * 5:16000 * 5 + len(b.samples[:16000 * 5])] = b.samples[:16000 * 5]
    t = (np.arange(589) + 0.5) * FRAME_S
    active = np.zeros((1, 589, 3), bool)
    active[0, :, 0] = t < min(5, a.duration)
    active[0, :, 1] = (t >= 5) & (t < 5 + min(5, b.duration))
    local = LocalSpeakers(np.array([0.0]), FRAME_S, active)
    encoder = shared_encoder()
    keys, emb = local_embeddings(Audio(samples, 16000), local, encoder, LocalSpeakerOptions())
    assert keys == [(0, 0), (0, 1)]
    whole_a = encoder.embed(Audio(samples[:16000 * 5], 16000))
    assert float(emb[0] @ whole_a) > 0.8 and float(emb[0] @ emb[1]) < 0.6
    assert float(emb[0] @ whole_a) > float(emb[1] @ whole_a) + 0.3


def test_more_speakers_asked_for_than_there_are_turns_is_no_crash():
    emb = np.stack([near(0), near(0)])
    assert len(set(cluster_embeddings(emb, LocalSpeakerOptions(), num_speakers=3))) == 2
    assert len(set(cluster_embeddings(emb, LocalSpeakerOptions(), min_speakers=5, max_speakers=8))) == 2
    assert len(set(cluster_embeddings(emb[:1], LocalSpeakerOptions(), num_speakers=4))) == 1
    assert cluster_embeddings(np.zeros((0, 192)), LocalSpeakerOptions()).size == 0


def test_chunks_left_unembedded_take_the_speaker_their_frames_overlap():
    local, who = conversation_segmentation()
    audio = Audio(np.zeros(16000 * 20, np.float32), 16000)
    keys = [k for k in sorted(who) if k[0] % 2 == 0]  # odd chunks (numbered the other way) not embedded
    emb = np.stack([near(who[k]) for k in keys])
    opts = LocalSpeakerOptions(vad_fill=False, embed_every=2)
    turns = turns_from_embeddings(audio, local, None, keys, emb, None, opts)
    result = Diarization("x", 20.0, turns)
    first, second = sorted(result.speakers, key=lambda s: result.of(s)[0].start)
    assert spoken_turns(turns, first) == [(0.0, 8.0)]
    assert spoken_turns(turns, second) == [(7.0, 16.0)]
    # without the overlap assignment the odd chunks count for nobody: activity averages halve
    from malsori.pipelines.local_speakers import assign_local_speakers, cluster_embeddings as cluster

    mapping, _ = assign_local_speakers(keys, emb, cluster(emb, opts), local)
    assert (mapping[1::2] < 0).all() and (mapping[::2] >= 0).any()


def test_at_most_the_middle_of_a_local_speaker_is_embedded():
    mask = np.zeros(20, bool)
    mask[[1, 2, 3, 8, 9, 10, 15, 16]] = True
    assert np.flatnonzero(middle_frames(mask, 4)).tolist() == [3, 8, 9, 10]
    assert middle_frames(mask, 8) is mask and middle_frames(mask, 30) is mask


def test_a_meeting_of_eight_voices_and_more_than_the_bound():
    voices = np.linalg.qr(RNG.normal(size=(192, 10)))[0].T

    def heard(v):
        x = voices[v] + 0.3 * RNG.normal(size=192) / np.sqrt(192)
        return x / np.linalg.norm(x)

    eight = np.stack([heard(v) for v in np.repeat(np.arange(8), 6)])
    labels = cluster_embeddings(eight, LocalSpeakerOptions())
    assert len(set(labels)) == 8 and all(len(set(labels[i:i + 6])) == 1 for i in range(0, 48, 6))
    ten = np.stack([heard(v) for v in np.repeat(np.arange(10), 6)])
    assert len(set(cluster_embeddings(ten, LocalSpeakerOptions(), max_speakers=8))) == 8



def test_speakers_are_numbered_by_their_first_turn_and_without_gaps():
    """Whatever clusters are left without a turn, the RTTM's speakers are SPEAKER_00,
    SPEAKER_01... in order of their first turn."""
    from malsori.pipelines.diarize import numbered_by_first_turn
    from malsori.protocols import SpeakerTurn

    turns = [SpeakerTurn(5.0, 9.0, "SPEAKER_00"), SpeakerTurn(0.5, 4.0, "SPEAKER_02"),
             SpeakerTurn(9.5, 12.0, "SPEAKER_02"), SpeakerTurn(6.0, 7.0, "SPEAKER_03")]
    assert [(t.speaker, t.start) for t in numbered_by_first_turn(turns)] == [
        ("SPEAKER_00", 0.5), ("SPEAKER_01", 5.0), ("SPEAKER_02", 6.0), ("SPEAKER_00", 9.5)]
    assert numbered_by_first_turn([]) == []
