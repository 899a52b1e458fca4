#!/usr/bin/env bash
# Writes a LoRA adapter saved by ctlab on the golden Llama, plus the logits ctlab computes with it, into OUT_DIR,
# for tools/goldens/check_ctlab_adapter.py (PEFT must load it and give the same logits):
#   tools/goldens/export_ctlab_adapter.sh OUT_DIR
#   /work/pyref/bin/python tools/goldens/check_ctlab_adapter.py toolkit/src/test/resources/goldens/llama OUT_DIR
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# test classes (the exporter and the golden model) and the runtime dependency jars
(cd "$ROOT" && mvn -B -q -o -DskipTests -pl toolkit -am package) >&2
T="$ROOT/toolkit/target"
exec java -Xmx1g -cp "$T/test-classes:$T/classes:$T/lib/*" ctlab.model.ExportAdapterForPeftCheck "$1"
