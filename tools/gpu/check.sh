#!/usr/bin/env bash
# check.sh [--cpu TORCH_DIR] [--bundle FILE|DIR]: one command that checks ctlab on a GPU machine which has Python with
# a CUDA torch but no Java and no build tools (docs/gpu.md, "Checking a GPU machine"), from the bundle that
# tools/gpu/bundle.sh makes (a jlink-ed Java, the toolkit jars without the CPU libtorch, the compiled tests, and a
# libdjl_torch.so built for that torch by tools/gpu/build-jni.sh):
#   1. the golden logits tests on the GPU (LlamaModelGoldenTest, LlamaVariantGoldenTest: the engine vs logits and
#      greedy outputs stored from transformers), InstalledTorchTest (the installed torch and this JNI are the ones
#      loaded), DeviceCdpoStepTest (LoRA cDPO steps on the GPU give the CPU's losses);
#   2. a sampling throughput figure (ctlab bench, sample phase: organism-base, 16 prompts x 8 samples, up to 160
#      new tokens each);
# then prints a summary: device, libtorch, pass/fail, numbers. Exit 0 only when every test passed.
#
#   tools/gpu/check.sh                     torch from `python3 -c 'import torch'`, device gpu
#   tools/gpu/check.sh --cpu TORCH_DIR     CPU dry run: the same bundle on a torch folder (of build-jni's version), cpu
# Logs go to $CTLAB_CHECK_OUT (default: a temporary folder, named at the end). CTLAB_CHECK_XMX: heap (default 4g).
set -uo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
die() { echo "check: $*" >&2; exit 2; }
mode=gpu torch= bundle=
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) [ $# -ge 2 ] || die "--cpu needs a torch folder"; mode=cpu torch="$2"; shift 2 ;;
    --bundle) [ $# -ge 2 ] || die "--bundle needs a file or folder"; bundle="$2"; shift 2 ;;
    *) die "usage: check.sh [--cpu TORCH_DIR] [--bundle FILE|DIR]" ;;
  esac
done
t0=$(date +%s)
LOG="${CTLAB_CHECK_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/ctlab-check.XXXXXX")}"
mkdir -p "$LOG"

# The bundle: an unpacked folder, or the archive (unpacked into a temporary folder).
if [ -z "$bundle" ]; then
  bundle="$ROOT/tools/gpu/target/bundle"
  [ -d "$bundle" ] || bundle="$ROOT/tools/gpu/target/ctlab-gpu-bundle.tar.xz"
fi
if [ -f "$bundle" ]; then
  un="$(mktemp -d "${TMPDIR:-/tmp}/ctlab-bundle.XXXXXX")"
  trap 'rm -rf "$un"' EXIT
  tar -xJf "$bundle" -C "$un" || die "$bundle: cannot unpack"
  B="$un/bundle"
else
  B="$bundle"
fi
[ -x "$B/java/bin/java" ] && [ -f "$B/jni/libdjl_torch.so" ] || die "$bundle: not a bundle (make it with tools/gpu/bundle.sh)"
JAVA="$B/java/bin/java"

# The torch: the Python one (GPU machine) or the folder given (dry run); the link folder DJL loads, with our JNI.
if [ -z "$torch" ]; then
  torch="$(python3 -c 'import os, torch; print(os.path.dirname(torch.__file__))')" || die "python3 cannot import torch"
fi
envs="$("$ROOT/tools/gpu/torch-env.sh" "--$mode" --jni "$B/jni" "$torch")" || exit 2
eval "$envs"
export CTLAB_DEVICE="$mode" OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
if [ "$mode" = gpu ]; then
  device="$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -1)"
  device="gpu: ${device:-unknown (no nvidia-smi)}"
else
  device="cpu: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) cores"
fi
JOPTS=("-Xmx${CTLAB_CHECK_XMX:-4g}")
echo "check: $device; torch $CTLAB_TORCH_SOURCE; flavour $PYTORCH_FLAVOR; logs in $LOG" >&2

# 1. Tests (run from toolkit/, as Maven runs them).
tests=(ctlab.model.InstalledTorchTest ctlab.model.LlamaModelGoldenTest ctlab.model.LlamaVariantGoldenTest
       ctlab.train.DeviceCdpoStepTest)
(cd "$ROOT/toolkit" && "$JAVA" "${JOPTS[@]}" -cp "$B/test/classes:$B/test/runner:$B/test/lib/*:$B/lib/*" \
  RunTests "${tests[@]}") > "$LOG/tests.out" 2> "$LOG/tests.err"
tests_rc=$?
t1=$(date +%s)

# 2. Sampling throughput.
"$JAVA" "${JOPTS[@]}" -cp "$B/lib/*" ctlab.cli.Main bench --phases sample --no-python --settings "$(nproc):PASSIVE" \
  --sample-iters 3 --sample-model "$ROOT/models/organism-base" --json "$LOG/bench.json" > "$LOG/bench.out" 2> "$LOG/bench.err"
bench_rc=$?
t2=$(date +%s)
num() { sed -n "s/.*\"$1\" *: *\([0-9.eE+-]*\).*/\1/p" "$LOG/bench.json" 2>/dev/null | head -1; }

{
  echo "== ctlab GPU check summary"
  echo "device:    $device"
  echo "libtorch:  $CTLAB_TORCH_SOURCE, flavour $PYTORCH_FLAVOR, JNI $B/jni/libdjl_torch.so (built for torch $(cat "$B/jni/torch-version"))"
  echo "java:      $("$JAVA" -version 2>&1 | head -1)"
  echo "engine:    libtorch $(sed -n 's/.*"libtorch" *: *"\([^"]*\)".*/\1/p' "$LOG/bench.json" 2>/dev/null | head -1) as DJL reports it"
  echo "tests:     $(tail -1 "$LOG/tests.out" | sed 's/^tests: //') [$((t1 - t0)) s]"
  grep '^FAIL' "$LOG/tests.out" | sed 's/^/           /'
  grep -h 'max abs err' "$LOG/tests.out" | sed 's/^/  golden:  /'
  grep -h '^cDPO steps' "$LOG/tests.out" | sed 's/^/  cdpo:    /'
  if [ "$bench_rc" = 0 ]; then
    printf 'sampling:  %s tokens/s (fastest of 3; median %s), %s tokens per iteration, organism-base, 128 rows [%s s]\n' \
      "$(num tokens_per_s | xargs printf '%.0f')" "$(num tokens_per_s_median | xargs printf '%.0f')" \
      "$(num tokens_per_iter)" "$((t2 - t1))"
  else
    echo "sampling:  FAILED (exit $bench_rc): $(grep -m1 -i 'error' "$LOG/bench.err")"
  fi
  echo "result:    $([ "$tests_rc" = 0 ] && [ "$bench_rc" = 0 ] && echo PASS || echo FAIL)"
  echo "logs:      $LOG"
} | tee "$LOG/summary.txt"
[ "$tests_rc" = 0 ] && [ "$bench_rc" = 0 ]
