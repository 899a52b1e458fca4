#!/usr/bin/env bash
# Kernel tests through a real Jupyter client: installs the kernelspec into a temporary Jupyter path and runs
# kernel/test/test_kernel.py (pytest) with pinned jupyter_client/nbclient/nbconvert from a venv it creates
# at $ROOT/.kernel-venv (reused while requirements.txt is unchanged). Needs the kernel jars: bin/ctlab builds
# them if missing. Prints pytest's closing line; exits non-zero on failure.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
HERE="$ROOT/kernel/test"
VENV="$ROOT/.kernel-venv"
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$HERE/requirements.txt" "$VENV/.ctlab-requirements.txt"; then
  echo "kernel tests: creating $VENV (pinned requirements)..." >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$VENV/.ctlab-requirements.txt"
fi
TMP="$(mktemp -d "${TMPDIR:-/tmp}/ctlab-kernel-test.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
"$ROOT/bin/ctlab" kernel install --prefix "$TMP/prefix" >&2
export JUPYTER_PATH="$TMP/prefix/share/jupyter"
export JUPYTER_DATA_DIR="$TMP/data" JUPYTER_RUNTIME_DIR="$TMP/runtime" JUPYTER_CONFIG_DIR="$TMP/config"
export CTLAB_JVM_OPTS="${CTLAB_TEST_JVM_OPTS:--Xmx2g}"
export CTLAB_TEST_TMP="$TMP"
cd "$HERE"
exec "$VENV/bin/python" -m pytest -p no:cacheprovider -q -rfE "$HERE/test_kernel.py" "$HERE/test_notebooks.py" "$@"
