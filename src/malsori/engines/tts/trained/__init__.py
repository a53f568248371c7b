"""Voices malsori trains itself: a FastSpeech-style acoustic model that learns its own alignment,
with speaker embeddings and a variable-length style encoder, spoken through a vocoder.

- ``symbols``: text -> phone ids (Korean through ``text/ko``: normalisation + Standard Pronunciation)
- ``features``: audio -> log-mel, log-F0, energy; Griffin-Lim back to audio
- ``model``: the acoustic model (PyTorch); ``align``: the aligner's losses and monotonic search
- ``data``: a training folder (audio + ``metadata.tsv``) checked and turned into cached features
- ``train``: the recipe (curriculum, checkpoints, resume, log); ``export``: the voice folder (ONNX)
- ``voice``: the Synthesizer over an exported voice, on onnxruntime
"""
