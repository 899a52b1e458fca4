#!/usr/bin/env bash
# installed-torch-test.sh [--gpu|--cpu] [--jni JNI_DIR] DIR: the numeric golden tests (model forward/backward, variants, LoRA, AdamW,
# losses) run through an installed PyTorch instead of the bundled native (docs/gpu.md, "Use an installed PyTorch").
# DIR as for bin/ctlab --torch (a venv, a torch package or its lib/); default $CTLAB_TORCH. InstalledTorchTest checks
# that the engine really loaded the installed libraries (and --jni's libdjl_torch.so, built by tools/gpu/build-jni.sh
# for a torch other than the pom's). bin/test runs this when CTLAB_TORCH is set.
# CTLAB_TORCH_TESTS overrides the test list; MVN_FLAGS adds Maven flags (e.g. -o).
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
flag=()
while [ $# -gt 0 ]; do
  case "$1" in
    --gpu|--cpu) flag+=("$1"); shift ;;
    --jni) [ $# -ge 2 ] || { echo "--jni needs a folder" >&2; exit 2; }; flag+=("$1" "$2"); shift 2 ;;
    *) break ;;
  esac
done
dir="${1:-${CTLAB_TORCH:-}}"
[ -n "$dir" ] || { echo "usage: installed-torch-test.sh [--gpu|--cpu] [--jni JNI_DIR] TORCH_DIR (or set CTLAB_TORCH)" >&2; exit 2; }
envs="$("$ROOT/tools/gpu/torch-env.sh" "${flag[@]}" "$dir")" || exit 2
eval "$envs"
tests="${CTLAB_TORCH_TESTS:-InstalledTorchTest,DevicesTest,LlamaModelGoldenTest,LlamaVariantGoldenTest,LoraTest,LlamaModelMemoryAndGradientTest,AdamWGoldenTest,GradClipTest,TrlGoldenTest,CdpoOfficialGoldenTest,TdpoOfficialGoldenTest,DeviceCdpoStepTest}"
echo "installed-torch-test: torch $CTLAB_TORCH_SOURCE, flavour $PYTORCH_FLAVOR, linked in $PYTORCH_LIBRARY_PATH" >&2
cd "$ROOT"
# shellcheck disable=SC2086
mvn -B ${MVN_FLAGS:-} -pl toolkit -am test -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false
