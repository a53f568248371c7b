"""Writes docs/tutorial.ipynb (outputs cleared) from the cells below: edit here, run, commit both.

    python scripts/build_tutorial.py
"""

from pathlib import Path

import nbformat

CELLS = [
    ("md", """# malsori, hands on: speech recognition and friends, offline

This tutorial is the speech-recognition practice notebook redone with malsori. Everything runs on a
CPU with no network: the speech we study is made here by the bundled voices, so the notebook runs
anywhere malsori is installed (`make demo`). Run it top to bottom; each section stands on the one
before.

1. Load and look at audio: waveform, spectrogram, pitch
2. Recognise English and Korean, with word timings
3. Translate speech
4. Who spoke when (diarization), with a timeline
5. Compare two voices
6. Korean pronunciation, rule by rule"""),
    ("md", "## 1. Audio: make it, load it, look at it\n\nThe bundled Piper voice reads an English sentence; "
           "we save it, load it back (any format ffmpeg reads works the same) and look at it."),
    ("code", """import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from malsori import Audio, load_audio, save_audio
from malsori.engines.tts.piper import PiperSynthesizer

work = Path(tempfile.mkdtemp(prefix="malsori-tutorial-"))
piper = PiperSynthesizer()
save_audio(work / "english.wav", piper.synthesize("The quick brown fox jumps over the lazy dog. "
                                                  "I would like a cup of coffee.", "eng"))
english = load_audio(work / "english.wav")
print(f"{english.duration:.2f} s at {english.sample_rate} Hz, peak {english.peak():.2f}")"""),
    ("code", """from scipy.signal import spectrogram

from malsori.prosody.analysis import analyze

samples, rate = english.samples, english.sample_rate
freqs, frames, power = spectrogram(samples, rate, nperseg=512, noverlap=384)
prosody = analyze(english)
fig, (wave, spec, pitch) = plt.subplots(3, 1, figsize=(10, 7), sharex=True)
wave.plot(np.arange(len(samples)) / rate, samples, linewidth=0.5)
wave.set_ylabel("amplitude")
spec.pcolormesh(frames, freqs, 10 * np.log10(power + 1e-10), shading="auto")
spec.set_ylim(0, 8000)
spec.set_ylabel("Hz")
pitch.plot(prosody.times, prosody.f0, ".", markersize=2)
pitch.set_ylabel("F0 (Hz)")
pitch.set_xlabel("seconds")
plt.show()
print(prosody.summary())"""),
    ("md", "## 2. Recognition\n\n`Translator` routes each task to the installed engines (Whisper here). "
           "`asr` transcribes; the language can be given or detected."),
    ("code", """from malsori import Translator

translator = Translator()
result = translator.predict(english, "asr", "eng")
print(result.text)
for segment in result.segments:
    print(f"{segment.start:5.2f}-{segment.end:5.2f}  {segment.source_text}")"""),
    ("md", "Word timings come from the recogniser itself:"),
    ("code", """recognizer = translator.engines.recognizer("eng").with_word_timestamps()
transcript = recognizer.transcribe(english, "eng")
for word in transcript.segments[0].words[:8]:
    print(f"{word.start:5.2f}-{word.end:5.2f}  {word.text}")"""),
    ("md", "Korean speech, from the installed Korean voice (MBROLA hn1 when installed, eSpeak NG otherwise), "
           "read back by Whisper:"),
    ("code", """from malsori.pipelines.speak import synthesizer_for

korean_voice, voice_name = synthesizer_for("kor")
korean = korean_voice.synthesize("오늘은 날씨가 맑고 따뜻합니다.", "kor", voice_name)
heard = translator.predict(korean, "asr", "kor")
print(korean_voice.name, "->", heard.text)"""),
    ("md", "## 3. Translation\n\nSpeech to text in another language (`s2tt`), and speech to speech "
           "(`s2st`, here into Spanish)."),
    ("code", """spanish = translator.predict(english, "s2tt", "spa")
print(spanish.text)
spoken = translator.predict(english, "s2st", "spa")
save_audio(work / "spanish.wav", spoken.audio)
print(f"Spanish speech: {spoken.audio.duration:.1f} s -> {work / 'spanish.wav'}")"""),
    ("md", "## 4. Who spoke when\n\nTwo voices take turns: the Piper voice and an eSpeak NG voice. "
           "The diarization pipeline finds local speakers in 10 s chunks, embeds them (CAM++) and "
           "clusters them."),
    ("code", """from malsori.engines.tts.espeak import EspeakSynthesizer
from malsori.pipelines.diarize import SpeakerDiarization

espeak = EspeakSynthesizer()
turns = [piper.synthesize("Good morning, shall we start the meeting?", "eng"),
         espeak.synthesize("Yes, I have the numbers from last week ready.", "eng", "en-us+f3"),
         piper.synthesize("Great, please go ahead and share them with us.", "eng"),
         espeak.synthesize("Sales grew by ten percent, mostly in the north.", "eng", "en-us+f3")]
rate = 16000
gap = np.zeros(int(0.6 * rate), np.float32)
meeting = Audio(np.concatenate([np.concatenate([t.to_mono().resample(rate).samples, gap]) for t in turns]), rate)
diarization = SpeakerDiarization().apply(meeting, uri="meeting", num_speakers=2)
for turn in diarization.turns:
    print(f"{turn.start:5.2f}-{turn.end:5.2f}  {turn.speaker}")"""),
    ("code", """fig, ax = plt.subplots(figsize=(10, 1.8))
for row, speaker in enumerate(diarization.speakers):
    ax.broken_barh([(t.start, t.duration) for t in diarization.of(speaker)], (row - 0.4, 0.8), color=f"C{row}")
ax.set_yticks(range(len(diarization.speakers)), diarization.speakers)
ax.set_xlabel("seconds")
plt.show()"""),
    ("md", "## 5. Two voices: the same speaker?\n\nVerification gives a calibrated log-likelihood ratio "
           "and a probability, not only a raw score."),
    ("code", """from malsori.pipelines.verify import Verifier

verifier = Verifier()
same = verifier.verify(turns[0], turns[2])
other = verifier.verify(turns[0], turns[1])
print("Piper vs Piper:", same.to_dict())
print("Piper vs eSpeak:", other.to_dict())"""),
    ("md", "## 6. Korean pronunciation, rule by rule\n\nThe G2P gives the Standard Pronunciation and "
           "names the article (표준 발음법) or the learned layer behind each change: what "
           "`malsori g2p --explain` prints."),
    ("code", """from malsori.text.ko.g2p import pronounce

for text in ("국물이 맑고 시원하다", "신라와 백제는 1,400년 전에", "같이 볼까요?"):
    result = pronounce(text)
    print(text, "->", result.text)
    for change in result.changes:
        print(f"    {change.rule}: {change.before} -> {change.after}")"""),
    ("md", "That is the toolkit's core in one sitting. The command line does the same with files "
           "(`malsori translate`, `malsori diarize`, `malsori speakers verify`, `malsori g2p --explain`); "
           "docs/usage.md has the details."),
]


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
                for kind, text in CELLS]
    for n, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{n:02d}"  # stable ids: the file changes only when the cells do
    return nb


if __name__ == "__main__":
    out = Path(__file__).resolve().parent.parent / "docs" / "tutorial.ipynb"
    nbformat.write(build(), out)
    print(out)
