"""Separation networks malsori trains and runs: Conv-TasNet for blind separation and, conditioned
on a speaker embedding, for target-speaker extraction (``convtasnet``); on-the-fly mixtures of
clean speech to train them on (``mixing``); the recipe, its checkpoints and the ONNX export
(``train``). ``malsori.pipelines.separate`` runs the exported models."""
