"""The speaker suite: metrics, diarization, verification, the speaker store and their CLI.

Voices are the bundled TTS ones: Piper's (male) and two eSpeak NG variants, which GE2E tells
apart (cosine 0.4-0.6 between them, 0.83-0.92 within one)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

from malsori.audio import Audio, concatenate, load_audio, save_audio, silence
from malsori.errors import AudioError, MalsoriError
from malsori.protocols import Diarization, SpeakerTurn

# The bundled separator barely separates voices it never heard (+0.3 dB measured on this mixture;
# docs/benchmarks.md), so this bound only catches a broken graph, padding or resampling (those
# give -10 dB or worse), not a weak model.
SEPARATION_GAIN_DB = -1.0

SENTENCES = ["Please open the window in the kitchen.", "The weather is lovely today, isn't it?",
             "We should leave before the train arrives.", "I have never seen such a tall tree.",
             "Could you bring me the red book from the shelf?", "The meeting starts at nine tomorrow morning.",
             "She plays the piano every evening after dinner.", "Let us walk to the station together."]


# ---------------------------------------------------------------- metrics

def test_equal_error_rate_and_min_dcf_by_their_definitions():
    from malsori.eval.speaker import equal_error_rate, min_dcf

    labels = [1, 1, 1, 1, 0, 0, 0, 0]
    assert equal_error_rate([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2], labels)[0] == 0.0
    # One target below one non-target: 1 miss in 4 and 1 false alarm in 4 at the crossing.
    eer, threshold = equal_error_rate([0.9, 0.8, 0.7, 0.35, 0.5, 0.4, 0.3, 0.2], labels)
    assert eer == pytest.approx(0.25)
    assert 0.35 <= threshold <= 0.5
    # minDCF at p_target 0.01: missing the one low target costs 0.25*0.01 / 0.01 = 0.25, less
    # than any false alarm (0.25*0.99 / 0.01).
    assert min_dcf([0.9, 0.8, 0.7, 0.35, 0.5, 0.4, 0.3, 0.2], labels)[0] == pytest.approx(0.25)
    with pytest.raises(MalsoriError):
        equal_error_rate([0.1, 0.2], [1, 1])


def test_der_counts_miss_false_alarm_and_confusion():
    from malsori.eval.speaker import diarization_scores, pooled_der

    ref = Diarization("x", 10.0, [SpeakerTurn(0, 4, "A"), SpeakerTurn(5, 9, "B")])
    assert diarization_scores(ref, Diarization("x", 10, [SpeakerTurn(0, 4, "s1"), SpeakerTurn(5, 9, "s2")]),
                              collar=0)["DER"] == 0.0
    one = diarization_scores(ref, Diarization("x", 10, [SpeakerTurn(0, 4, "s1"), SpeakerTurn(5, 9, "s1")]), collar=0)
    assert one["confusion"] == pytest.approx(0.5) and one["miss"] == 0 and one["false_alarm"] == 0
    late = diarization_scores(ref, Diarization("x", 10, [SpeakerTurn(1, 4, "s1"), SpeakerTurn(5, 10, "s2")]), collar=0)
    assert late["miss"] == pytest.approx(1 / 8) and late["false_alarm"] == pytest.approx(1 / 8)
    # A collar forgives the boundary errors (0.5 s each side of each reference boundary here).
    assert diarization_scores(ref, Diarization("x", 10, [SpeakerTurn(0.4, 4, "s1"), SpeakerTurn(5, 9, "s2")]),
                              collar=1.0)["DER"] == 0.0
    pooled = pooled_der([one, late])
    assert pooled["DER"] == pytest.approx((4 + 1 + 1) / 16)


def test_rttm_round_trip_and_bad_lines():
    from malsori.pipelines.diarize import read_rttm, read_uem, uri_of

    d = Diarization("meeting", 5.0, [SpeakerTurn(0.5, 2.0, "A"), SpeakerTurn(1.5, 3.25, "B")])
    back = read_rttm(d.to_rttm())["meeting"]
    assert [(t.start, t.end, t.speaker) for t in back.turns] == [(0.5, 2.0, "A"), (1.5, 3.25, "B")]
    assert read_uem("meeting NA 0.000 30.000\n") == {"meeting": (0.0, 30.0)}
    assert uri_of("/data/ES2004a.Mix-Headset.wav") == "ES2004a.Mix-Headset"
    with pytest.raises(MalsoriError, match="line 2"):
        read_rttm(d.to_rttm().splitlines()[0] + "\nSPEAKER meeting 1 zero 1.0 <NA> <NA> A <NA> <NA>\n")
    assert d.speaker_at(1.6, 3.0) == "B" and d.speaker_at(4, 5) is None


# ---------------------------------------------------------------- voices

@pytest.fixture(scope="module")
def voices(piper):
    from malsori.engines.tts.espeak import EspeakSynthesizer

    espeak = EspeakSynthesizer()
    return {
        "piper": [piper.synthesize(s, "eng").resample(16000).trim(0.05, 0.05) for s in SENTENCES],
        "f3": [espeak.synthesize(s, "eng", voice="en-us+f3").resample(16000).trim(0.05, 0.05) for s in SENTENCES],
        "m3": [espeak.synthesize(s, "eng", voice="en-us+m3").resample(16000).trim(0.05, 0.05) for s in SENTENCES[:2]],
    }


@pytest.fixture(scope="module")
def conversation(voices):
    """Eight turns (36 s), Piper and eSpeak f3 alternating with 0.7 s pauses, and its reference.
    (With four turns, GE2E's sentence-to-sentence spread on these voices can split one voice.)"""
    parts, turns, clock = [silence(0.5, 16000)], [], 0.5
    for i in range(8):
        who = "piper" if i % 2 == 0 else "f3"
        clip = voices[who][i]
        parts += [clip, silence(0.7, 16000)]
        turns.append(SpeakerTurn(clock, clock + clip.duration, who))
        clock += clip.duration + 0.7
    audio = concatenate(parts, 16000)
    return audio, Diarization("conversation", audio.duration, turns)


# ---------------------------------------------------------------- diarization

@pytest.mark.slow
@pytest.mark.espeak
def test_diarization_finds_two_voices_and_their_turns(conversation):
    from malsori.eval.speaker import diarization_scores
    from malsori.pipelines.diarize import SpeakerDiarization

    audio, reference = conversation
    steps = []
    result = SpeakerDiarization().apply(audio, uri="conversation", hook=lambda s, done, total: steps.append((s, done, total)))
    assert len(result.speakers) == 2
    score = diarization_scores(reference, result, collar=0.25)
    assert score["DER"] < 0.12, score
    assert {s for s, _, _ in steps} == {"speech", "embeddings", "clustering"}
    assert steps[-1][1] == steps[-1][2]
    # Told there are two, it agrees; told there is one, every turn has one label.
    assert len(SpeakerDiarization().apply(audio, num_speakers=2).speakers) == 2
    assert len(SpeakerDiarization().apply(audio, num_speakers=1).speakers) == 1


@pytest.mark.slow
def test_diarization_of_silence_and_bad_requests(voices):
    from malsori.pipelines.diarize import SpeakerDiarization

    quiet = SpeakerDiarization().apply(silence(3.0, 16000), uri="quiet")
    assert quiet.turns == [] and quiet.to_rttm() == ""
    with pytest.raises(AudioError):
        SpeakerDiarization().apply(Audio(np.zeros(0, np.float32), 16000))
    with pytest.raises(MalsoriError, match="min-speakers"):
        SpeakerDiarization().apply(voices["piper"][0], min_speakers=3, max_speakers=2)
    # One short utterance shorter than a window: one speaker, not an error.
    assert len(SpeakerDiarization().apply(voices["piper"][0], num_speakers=None).speakers) == 1


@pytest.mark.slow
def test_window_embeddings_match_whole_clip_embeddings(voices):
    from malsori.engines.speaker.ge2e import shared_encoder

    encoder = shared_encoder()
    clip = concatenate([voices["piper"][0], voices["f3"][1]], 16000)
    cut = voices["piper"][0].duration
    spans = encoder.embed_spans(clip, [(0.0, cut), (cut, clip.duration)])
    assert spans.shape == (2, 256)
    assert float(spans[0] @ encoder.embed(voices["piper"][0])) > 0.9
    assert float(spans[1] @ encoder.embed(voices["f3"][1])) > 0.9
    assert float(spans[0] @ spans[1]) < 0.7


# ---------------------------------------------------------------- verification

@pytest.mark.slow
@pytest.mark.espeak
def test_verification_accepts_the_same_voice_and_rejects_another(voices):
    from malsori.pipelines.verify import Verifier

    verifier = Verifier()
    same = verifier.verify(voices["piper"][:2], voices["piper"][2])
    other = verifier.verify(voices["piper"][:2], voices["f3"][2])
    assert same.accepted and not other.accepted and same.score > other.score + 0.2
    # Cohort normalisation keeps the order and moves scores into cohort standard deviations.
    cohort = np.stack([verifier.embed(v) for v in voices["m3"] + voices["f3"][:1]] +
                      [verifier.embed(voices["f3"][3])])
    normed = Verifier(cohort=cohort)
    a, b, c = (normed.embed(x) for x in (voices["piper"][0], voices["piper"][1], voices["f3"][2]))
    assert normed.score(a, b) > normed.score(a, c)
    assert normed.score(a, b) > normed.threshold > normed.score(a, c)


@pytest.mark.slow
def test_text_dependent_verification_rejects_the_wrong_phrase(voices):
    from malsori.pipelines.verify import Verifier

    verifier = Verifier()
    right = verifier.verify(voices["piper"][2:], voices["piper"][0], passphrase=SENTENCES[0], language="eng")
    wrong = verifier.verify(voices["piper"][2:], voices["piper"][1], passphrase=SENTENCES[0], language="eng")
    assert right.accepted and right.phrase_match > 0.9
    assert wrong.voice_accepted and not wrong.accepted and wrong.phrase_match < 0.6
    assert "weather" in wrong.heard.lower()


@pytest.mark.slow
def test_noise_and_silence_cannot_be_enrolled():
    from malsori.pipelines.verify import Verifier

    rng = np.random.default_rng(0)
    with pytest.raises(AudioError, match="speech"):
        Verifier().embed(Audio((0.3 * rng.standard_normal(32000)).astype(np.float32), 16000), "noise.wav")
    with pytest.raises(AudioError, match="noise.wav|speech"):
        Verifier().embed(silence(2.0, 16000), "noise.wav")


# ---------------------------------------------------------------- speaker store

@pytest.mark.slow
@pytest.mark.espeak
def test_store_enrols_identifies_and_says_unknown(voices, tmp_path):
    from malsori.pipelines.speaker_store import SpeakerStore

    db = tmp_path / "voices.db"
    store = SpeakerStore(db)
    assert store.enroll("joe", voices["piper"][:2]) == 2
    assert store.enroll("joe", voices["piper"][2:3]) == 3  # pooled with the first two
    store.enroll("fiona", voices["f3"][:2])
    assert [(s.name, s.recordings) for s in store.speakers()] == [("fiona", 2), ("joe", 3)]
    found = store.identify(voices["piper"][3], top=2)
    assert found.name == "joe" and [c.name for c in found.candidates] == ["joe", "fiona"]
    assert store.identify(voices["f3"][3]).name == "fiona"
    assert store.identify(voices["m3"][0]).name == "unknown"
    # A bad recording in a batch leaves the speaker as they were.
    with pytest.raises(AudioError):
        store.enroll("joe", [voices["piper"][3], silence(1.0, 16000)])
    assert dict((s.name, s.recordings) for s in store.speakers())["joe"] == 3
    assert store.remove("fiona") == 2
    with pytest.raises(MalsoriError, match="no enrolled speaker"):
        store.remove("fiona")
    # Readers in other threads see the same answer while nothing is lost.
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(SpeakerStore(db).identify(voices["piper"][3]).name))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == ["joe"] * 3


def test_store_reports_missing_corrupt_and_locked_databases(tmp_path):
    from malsori.pipelines.speaker_store import SpeakerStore

    with pytest.raises(MalsoriError, match="no speaker database"):
        SpeakerStore(tmp_path / "none.db").voiceprints()
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(MalsoriError, match="not a malsori speaker database"):
        SpeakerStore(junk).speakers()
    locked = tmp_path / "locked.db"
    SpeakerStore(locked)._connect(create=True).close()
    holder = sqlite3.connect(locked)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(MalsoriError, match="locked"):
            SpeakerStore(locked, timeout_s=0.2).remove("anyone")
    finally:
        holder.rollback()
        holder.close()


# ---------------------------------------------------------------- command line

def _malsori(*args, env=None):
    return subprocess.run([sys.executable, "-m", "malsori.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.mark.slow
@pytest.mark.espeak
def test_cli_diarize_eval_enrol_identify(conversation, voices, tmp_path):
    audio, reference = conversation
    wav = tmp_path / "meeting_01.wav"
    save_audio(wav, audio)
    ref = tmp_path / "ref.rttm"
    ref.write_text(reference.to_rttm().replace("conversation", "meeting_01"))
    out = tmp_path / "sys.rttm"
    proc = _malsori("diarize", wav, "-o", out, "--json", tmp_path / "d.json", "--plot", tmp_path / "d.png", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "method: local speakers" in proc.stderr  # says how speakers and overlap were found
    assert all(line.split()[1] == "meeting_01" for line in out.read_text().splitlines())
    assert json.loads((tmp_path / "d.json").read_text())["speakers"]
    assert (tmp_path / "d.png").read_bytes()[:4] == b"\x89PNG"
    proc = _malsori("eval", out, "--diarization", ref)
    assert proc.returncode == 0, proc.stderr
    der = float(next(line for line in proc.stdout.splitlines() if line.strip().startswith("DER:")).split(":")[1])
    assert der < 0.15

    db = tmp_path / "store.db"
    for i, clip in enumerate(voices["piper"][:2] + voices["f3"][:2]):
        save_audio(tmp_path / f"v{i}.wav", clip)
    assert _malsori("speakers", "enroll", "joe", tmp_path / "v0.wav", tmp_path / "v1.wav", "--db", db).returncode == 0
    assert _malsori("speakers", "enroll", "fiona", tmp_path / "v2.wav", tmp_path / "v3.wav", "--db", db).returncode == 0
    save_audio(tmp_path / "probe.wav", voices["f3"][3])
    proc = _malsori("speakers", "identify", tmp_path / "probe.wav", "--top", "2", "--db", db)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["name"] == "fiona"
    save_audio(tmp_path / "silent.wav", silence(1.0, 16000))
    proc = _malsori("speakers", "enroll", "nobody", tmp_path / "silent.wav", "--db", db)
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and "speech" in proc.stderr
    listed = _malsori("speakers", "list", "--db", db).stdout
    assert "nobody" not in listed and "joe\t2\tcampplus\n" in listed
    # GE2E scores the same database from the kept audio.
    proc = _malsori("speakers", "identify", tmp_path / "probe.wav", "--encoder", "ge2e", "--db", db)
    assert proc.returncode == 0 and json.loads(proc.stdout)["name"] == "fiona", proc.stderr
    assert "fiona\t2\tcampplus,ge2e\n" in _malsori("speakers", "list", "--db", db).stdout

    trials = tmp_path / "trials.txt"
    trials.write_text("1 v0.wav v1.wav\n0 v0.wav v2.wav\n1 v2.wav v3.wav\n0 v1.wav v3.wav\n")
    proc = _malsori("eval", "--verification", trials)
    assert proc.returncode == 0, proc.stderr
    assert "EER: 0.0" in proc.stdout


@pytest.mark.slow
@pytest.mark.espeak
def test_transcript_segments_are_labelled_with_their_speaker(conversation, translator, tmp_path):
    from malsori.pipelines.diarize import SpeakerDiarization
    from malsori.pipelines.job import run_job

    audio, reference = conversation
    out = tmp_path / "meeting.srt"
    job = run_job(translator, audio, "asr", "eng", "eng", str(out), fmt="srt",
                  diarize=lambda a: SpeakerDiarization().apply(a))
    timed = [s for s in job.result.segments if s.start is not None and s.target_text.strip()]
    assert timed and all(s.speaker for s in timed)
    # Whisper sometimes runs a segment across a change of voice; the segments that lie in one
    # reference turn must share their voice's label, and the two voices' labels must differ.
    labels: dict[str, set] = {}
    for seg in timed:
        for turn in reference.turns:
            inside = min(seg.end, turn.end) - max(seg.start, turn.start)
            if inside >= 0.8 * (seg.end - seg.start):
                labels.setdefault(turn.speaker, set()).add(seg.speaker)
    assert sum(len(v) for v in labels.values()) >= 1 and all(len(v) == 1 for v in labels.values()), labels
    if len(labels) == 2:
        assert labels["piper"] != labels["f3"], labels
    assert "[SPEAKER_0" in out.read_text()
    with pytest.raises(MalsoriError, match="speech input"):
        run_job(translator, "Hello there.", "t2tt", "spa", "eng", None, diarize=lambda a: None)


@pytest.mark.slow
@pytest.mark.espeak
def test_bundled_separator_pulls_two_talking_voices_apart(voices):
    """Piper's voice (in the separator's training speech) over eSpeak's f3 (never heard by it),
    both talking throughout at 0 dB; then input of every shape a user may bring."""
    from malsori.eval.separation import si_snr_improvement
    from malsori.pipelines.separate import separate_blind

    a, b = voices["piper"][0].samples, voices["f3"][1].samples
    n = min(len(a), len(b))
    a, b = a[:n], b[:n] * np.sqrt(np.mean(a[:n] ** 2) / np.mean(b[:n] ** 2))
    mix = Audio(a + b, 16000)
    result = separate_blind(mix)
    assert result.method == "convtasnet-8k" and len(result.tracks) == 2
    one, two = result.tracks.values()
    gains = max((si_snr_improvement(one, mix, a) + si_snr_improvement(two, mix, b)) / 2,
                (si_snr_improvement(two, mix, a) + si_snr_improvement(one, mix, b)) / 2)
    assert gains > SEPARATION_GAIN_DB, gains
    # Stereo at 44.1 kHz and 96 kHz, and a clip shorter than one filter hop, come back as given.
    for rate, channels, seconds in ((44100, 2, 1.5), (96000, 1, 0.5), (8000, 1, 0.001)):
        clip = mix.resample(rate).slice(0.3, 0.3 + seconds)
        clip = Audio(np.stack([clip.samples] * channels, axis=1) if channels > 1 else clip.samples, rate)
        tracks = separate_blind(clip).tracks.values()
        assert all(t.sample_rate == rate and t.frames == clip.frames for t in tracks)
    with pytest.raises(AudioError, match="silent"):
        separate_blind(Audio(np.zeros(16000, np.float32), 16000))


@pytest.mark.slow
@pytest.mark.espeak
def test_cli_embed_verify_profile_separate(conversation, voices, tmp_path):
    audio, _ = conversation
    mix = tmp_path / "talk.wav"
    save_audio(mix, audio)
    for i, clip in enumerate(voices["piper"][:2]):
        save_audio(tmp_path / f"joe{i}.wav", clip)
    vector = tmp_path / "joe.npy"
    assert _malsori("speakers", "embed", tmp_path / "joe0.wav", "-o", vector).returncode == 0
    assert np.load(vector).shape == (192,)  # CAM++, the default
    assert _malsori("speakers", "embed", tmp_path / "joe0.wav", "-o", vector, "--encoder", "ge2e").returncode == 0
    assert np.load(vector).shape == (256,)
    proc = _malsori("speakers", "embed", mix, "--segments")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["segments"]) >= 6  # one per sentence at least

    proc = _malsori("speakers", "verify", tmp_path / "joe0.wav", tmp_path / "joe1.wav")
    verdict = json.loads(proc.stdout)
    assert proc.returncode == 0 and verdict["accepted"] is True and verdict["encoder"] == "campplus"
    assert verdict["llr"] > 0 and verdict["probability"] > 0.5

    proc = _malsori("speakers", "profile", mix, "--diarize", "--num-speakers", "2")
    assert proc.returncode == 0, proc.stderr
    genders = sorted(p["gender"] for p in json.loads(proc.stdout)["speakers"].values())
    assert genders == ["female", "male"]

    out = tmp_path / "tracks"
    out.mkdir()
    proc = _malsori("speakers", "separate", mix, "--by-diarization", "-o", out)
    assert proc.returncode == 0 and "method: diarization" in proc.stderr
    assert len(list(out.glob("talk.SPEAKER_*.wav"))) == 2
    audio, reference = conversation
    proc = _malsori("speakers", "separate", mix, "--enroll", tmp_path / "joe0.wav", "-o", out)
    assert proc.returncode == 0 and "method: convtasnet-8k+campplus" in proc.stderr, proc.stderr
    # Turn-taking speech: the bundled separator plus the CAM++ pick keeps Piper's turns, not f3's.
    target = load_audio(out / "talk.target.wav", 16000).samples
    times = np.arange(len(target)) / 16000

    def energy(who):
        inside = np.zeros(len(target), bool)
        for turn in reference.of(who):
            inside |= (times >= turn.start) & (times < turn.end)
        return float(np.mean(target[inside] ** 2))
    # About 4x measured (3.98 in one clean-clone run, Piper's renders vary); the wrong pick gives < 1.
    assert energy("piper") > 2 * energy("f3")
    proc = _malsori("speakers", "separate", mix, "-o", out)  # blind, the bundled model
    assert proc.returncode == 0 and "method: convtasnet-8k" in proc.stderr, proc.stderr
    assert sorted(p.name for p in out.glob("talk.source*.wav")) == ["talk.source1.wav", "talk.source2.wav"]


# ---------------------------------------------------------------- encoders you bring

def test_kaldi_filterbank_puts_a_tone_in_its_mel_band():
    from malsori.engines.speaker.onnx_encoder import kaldi_fbank

    t = np.arange(16000) / 16000
    feats = kaldi_fbank(np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    assert feats.shape == (98, 80)  # 1 + (16000 - 400) // 160 frames, no edge padding
    peak = int(np.argmax(feats.mean(axis=0)))
    mel = lambda f: 1127 * np.log(1 + f / 700)  # noqa: E731
    centres = np.linspace(mel(20), mel(8000), 82)[1:-1]
    assert abs(peak - int(np.argmin(abs(centres - mel(1000))))) <= 1
    # Log energies: doubling the amplitude adds ln 4 everywhere the tone dominates.
    louder = kaldi_fbank(2 * np.sin(2 * np.pi * 1000 * t).astype(np.float32))
    assert np.median(louder[:, peak] - feats[:, peak]) == pytest.approx(np.log(4), abs=1e-3)
    with pytest.raises(AudioError):
        kaldi_fbank(np.zeros(100, np.float32))


@pytest.fixture(scope="module")
def onnx_encoder_dir(tmp_path_factory):
    """A tiny ONNX model with WeSpeaker's interface (feats [B, T, 80] -> [B, 32]), random weights."""
    torch = pytest.importorskip("torch")

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.proj = torch.nn.Linear(160, 32)

        def forward(self, feats):
            return self.proj(torch.cat([feats.mean(dim=1), feats.std(dim=1)], dim=1))

    folder = tmp_path_factory.mktemp("wespeaker")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter says it is legacy
        torch.onnx.export(Tiny().eval(), torch.zeros(1, 120, 80), str(folder / "model.onnx"), input_names=["feats"],
                          output_names=["embs"], dynamic_axes={"feats": {0: "B", 1: "T"}}, dynamo=False)
    (folder / "encoder.json").write_text(json.dumps({"name": "tiny-test", "threshold": 0.9}))
    return folder


@pytest.mark.slow
def test_an_onnx_encoder_from_a_folder_embeds_verifies_and_diarizes(onnx_encoder_dir, voices, tmp_path):
    from malsori.engines.speaker.onnx_encoder import OnnxSpeakerEncoder
    from malsori.errors import ModelError
    from malsori.pipelines.diarize import SpeakerDiarization

    encoder = OnnxSpeakerEncoder(onnx_encoder_dir)
    a = encoder.embed(voices["piper"][0])
    assert a.shape == (32,) and np.linalg.norm(a) == pytest.approx(1, abs=1e-5) and encoder.name == "tiny-test"
    np.testing.assert_allclose(encoder.embed(voices["piper"][0]), a, atol=1e-6)
    clip = concatenate([voices["piper"][0], voices["f3"][0]], 16000)
    cut = voices["piper"][0].duration
    spans = encoder.embed_spans(clip, [(0, cut), (cut, clip.duration)])
    assert float(spans[0] @ a) > 0.99  # the same features, computed over the whole recording
    result = SpeakerDiarization(encoder=encoder).apply(clip, num_speakers=2)
    assert len(result.speakers) == 2
    with pytest.raises(ModelError, match="no .onnx"):
        OnnxSpeakerEncoder(tmp_path)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load"):
        OnnxSpeakerEncoder(broken).embed(voices["piper"][0])

    for i, c in enumerate([voices["piper"][0], voices["piper"][1]]):
        save_audio(tmp_path / f"p{i}.wav", c)
    proc = _malsori("speakers", "verify", tmp_path / "p0.wav", tmp_path / "p1.wav", "--encoder-dir", onnx_encoder_dir)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["threshold"] == 0.9


# ---------------------------------------------------------------- calibrated verification

class NamedEncoder:
    """An encoder whose embeddings are given: each clip's first sample picks its vector."""

    def __init__(self, name: str, vectors: dict[int, np.ndarray]):
        self.name, self.vectors, self.dimension = name, vectors, 2

    def embed(self, audio):
        return self.vectors[int(round(audio.samples[0] * 10))]


def marked(mark: int, seconds: float = 3.0, rate: int = 16000) -> Audio:
    rng = np.random.default_rng(mark)
    samples = (0.1 * rng.standard_normal(int(seconds * rate))).astype(np.float32)
    samples[0] = mark / 10
    return Audio(samples, rate)


def test_narrowband_audio_is_told_from_wideband():
    from malsori.pipelines.verify import is_narrowband

    noise = marked(0, 2.0, 16000)
    assert not is_narrowband(noise)
    assert is_narrowband(marked(0, 2.0, 8000))
    assert is_narrowband(marked(0, 2.0, 8000).resample(16000))  # telephone audio stored at 16 kHz


def test_campplus_scores_are_calibrated_log_likelihood_ratios(monkeypatch):
    from malsori.engines import speaker
    from malsori.pipelines import verify

    angle = lambda degrees: np.array([np.cos(np.radians(degrees)), np.sin(np.radians(degrees))])  # noqa: E731
    campplus = NamedEncoder("campplus", {1: angle(0), 2: angle(30), 3: angle(80)})
    ge2e = NamedEncoder("ge2e", {1: angle(0), 2: angle(10), 3: angle(60)})
    monkeypatch.setattr(speaker, "shared_encoder", lambda name=None: ge2e)
    verifier = verify.Verifier(campplus, check_speech=False)
    assert verifier.calibrated and verifier.threshold == 0.0
    b0, b1, b2, b3, b4, b5 = verify.CALIBRATION
    near = verifier.verify(marked(1), marked(2))
    assert near.llr == pytest.approx(b0 + b1 * np.cos(np.radians(30)) + b5 * np.log(3.0), abs=1e-4)
    assert near.accepted and near.probability == pytest.approx(1 / (1 + np.exp(-near.llr)))
    assert not verifier.verify(marked(1), marked(3)).accepted
    # Durations beyond what the calibration saw count as its longest.
    assert verifier.verify(marked(1, 60.0), marked(2, 60.0)).llr == pytest.approx(
        b0 + b1 * np.cos(np.radians(30)) + b5 * np.log(15.0), abs=1e-4)
    # Narrow-band: GE2E's cosine joins in.
    phone = verifier.verify(marked(1, 3.0, 8000), marked(2, 3.0, 8000))
    cos = np.cos(np.radians(30))
    assert phone.llr == pytest.approx(b0 + b1 * cos + b5 * np.log(3.0) + b2 + b3 * cos + b4 * np.cos(np.radians(10)),
                                      abs=1e-4)
    # Another encoder, or a cohort, keeps raw (or normalised) scores.
    assert not verify.Verifier(NamedEncoder("other", {}), threshold=0.5).calibrated


class CountingEncoder(NamedEncoder):
    def __init__(self, name, vectors):
        super().__init__(name, vectors)
        self.calls = 0

    def embed(self, audio):
        self.calls += 1
        return super().embed(audio)


def test_old_databases_migrate_and_kept_audio_is_re_embedded(tmp_path):
    import sqlite3

    from malsori.pipelines import verify
    from malsori.pipelines.speaker_store import SpeakerStore

    # A schema-1 database: one GE2E vector per recording, no audio.
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as old:
        old.executescript("""
            CREATE TABLE speakers (name TEXT PRIMARY KEY, created REAL NOT NULL);
            CREATE TABLE recordings (id INTEGER PRIMARY KEY, speaker TEXT NOT NULL REFERENCES speakers(name)
                ON DELETE CASCADE, source TEXT NOT NULL, encoder TEXT NOT NULL, vector BLOB NOT NULL);""")
        old.execute("INSERT INTO speakers VALUES ('ann', 1.0)")
        old.execute("INSERT INTO recordings(speaker, source, encoder, vector) VALUES ('ann', 'a.wav', 'ge2e', ?)",
                    (np.array([1.0, 0.0], np.float32).tobytes(),))
    ge2e = verify.Verifier(CountingEncoder("ge2e", {1: np.array([1.0, 0.0]), 2: np.array([0.0, 1.0])}),
                           check_speech=False)
    campplus = verify.Verifier(CountingEncoder("campplus", {1: np.array([0.6, 0.8]), 2: np.array([0.8, -0.6])}),
                               check_speech=False)
    store = SpeakerStore(db)
    assert store.default_encoder() == "ge2e" and store.verifier.encoder.name == "ge2e"
    [ann] = store.speakers()
    assert (ann.recordings, ann.encoders, ann.audio_kept) == (1, ("ge2e",), 0)  # kept, flagged
    with pytest.raises(MalsoriError, match="ann enrolled with ge2e before recordings were kept.*enrol them again"):
        SpeakerStore(db, verifier=campplus).voiceprints()

    # New enrolments keep their audio; another encoder embeds it once, on demand.
    SpeakerStore(db, verifier=ge2e).enroll("bob", [marked(2)])
    assert SpeakerStore(db).default_encoder() == "ge2e"  # ann still needs GE2E
    assert SpeakerStore(db).remove("ann") == 1
    assert SpeakerStore(db).default_encoder() is None
    prints = SpeakerStore(db, verifier=campplus).voiceprints()
    assert np.allclose(prints["bob"], [0.8, -0.6]) and campplus.encoder.calls == 1
    SpeakerStore(db, verifier=campplus).voiceprints()
    assert campplus.encoder.calls == 1  # saved the first time
    [bob] = SpeakerStore(db).speakers()
    assert (bob.encoders, bob.audio_kept) == (("campplus", "ge2e"), 1)
    assert SpeakerStore(tmp_path / "new.db").default_encoder() is None


def test_telephone_audio_is_identified_with_ge2e_fused_in(tmp_path, monkeypatch):
    from malsori.engines import speaker
    from malsori.pipelines import verify
    from malsori.pipelines.speaker_store import SpeakerStore

    angle = lambda degrees: np.array([np.cos(np.radians(degrees)), np.sin(np.radians(degrees))])  # noqa: E731
    # CAM++ puts the probe (3) nearer bob (2); GE2E, better on 8 kHz clips, firmly says ann (1).
    campplus = NamedEncoder("campplus", {1: angle(0), 2: angle(40), 3: angle(25)})
    ge2e = CountingEncoder("ge2e", {1: angle(0), 2: angle(90), 3: angle(10)})
    monkeypatch.setattr(speaker, "shared_encoder", lambda name=None: ge2e)
    store = SpeakerStore(tmp_path / "db", verifier=verify.Verifier(campplus, check_speech=False))
    store.enroll("ann", [marked(1)])
    store.enroll("bob", [marked(2)])
    assert store.identify(marked(3)).name == "bob"  # wide-band: CAM++ alone
    assert ge2e.calls == 0
    found = store.identify(marked(3, 3.0, 8000), top=2)
    assert found.name == "ann" and [c.name for c in found.candidates] == ["ann", "bob"]
    assert found.score == pytest.approx(verify.narrowband_fusion(np.cos(np.radians(25)), np.cos(np.radians(10))))
    assert ge2e.calls == 3  # both voiceprints from the kept audio, and the probe
