#!/usr/bin/env bash
# torch-env.sh [--gpu|--cpu] DIR: prints the `export` lines that make DJL load an installed PyTorch (pip/conda torch
# or a libtorch download) instead of the bundled CPU native:   eval "$(tools/gpu/torch-env.sh ~/venv)"
# DIR: a torch package folder (.../site-packages/torch), its lib/ folder, a libtorch folder, or a venv/conda prefix.
# bin/ctlab --torch DIR (or CTLAB_TORCH=DIR) runs this itself.
#
# DJL loads EVERY library in PYTORCH_LIBRARY_PATH, and pip torch's lib/ holds CUDA-only ones (libcaffe2_nvrtc.so needs
# libcuda.so.1, i.e. an NVIDIA driver), so the folder handed to DJL is a cache folder of symlinks to just the libraries
# needed. Java loads a library by its canonical path, so each one still finds its neighbours (pip's nvidia/* wheels)
# through its own $ORIGIN RPATH in the real torch folder.
# PYTORCH_FLAVOR picks DJL's JNI build from the pytorch-jni jar (linux-x86_64: cpu or cu128); PYTORCH_VERSION names the
# JNI cache folder (~/.djl.ai/pytorch/<version>-<flavor>-linux-x86_64). The torch version must be the JNI's (pom.xml's
# pytorch.version): a JNI built for one libtorch fails on another at the first tensor, not at load time.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
die() { echo "ctlab: $*" >&2; exit 2; }

mode=auto
case "${1:-}" in --gpu) mode=gpu; shift ;; --cpu) mode=cpu; shift ;; esac
[ $# -eq 1 ] && [ -n "$1" ] || die "usage: torch-env.sh [--gpu|--cpu] TORCH_DIR"
given="$1"
[ -d "$given" ] || die "--torch $given: no such folder"
dir="$(cd "$given" && pwd -P)"

# Find the folder holding libtorch.so.
lib=
for c in "$dir" "$dir/lib" "$dir"/lib/python3*/site-packages/torch/lib "$dir"/lib64/python3*/site-packages/torch/lib; do
  if [ -f "$c/libtorch.so" ]; then lib="$(cd "$c" && pwd -P)"; break; fi
done
[ -n "$lib" ] || die "--torch $given: no libtorch.so in it, its lib/ or lib/python3*/site-packages/torch/lib"

# Its version: torch/version.py (pip, conda) or build-version (libtorch zip).
top="$(dirname "$lib")"
if [ -f "$top/version.py" ]; then
  found="$(sed -n "s/^__version__ *= *['\"]\([^'\"]*\)['\"].*/\1/p" "$top/version.py" | head -1)"
  from="$top/version.py"
elif [ -f "$top/build-version" ]; then
  found="$(head -1 "$top/build-version")"
  from="$top/build-version"
else
  die "--torch $given: cannot tell the torch version (no version.py or build-version next to $lib)"
fi
[ -n "$found" ] || die "$from: no version in it"
want="$(sed -n 's:.*<pytorch.version>\(.*\)</pytorch.version>.*:\1:p' "$ROOT/pom.xml" | head -1)"
[ -n "$want" ] || die "$ROOT/pom.xml: no <pytorch.version>"
[ "${found%%+*}" = "$want" ] || die "$from: torch $found, but this build's PyTorch JNI (DJL) needs torch $want" \
  "(a JNI built for another libtorch fails at the first tensor); install torch==$want or rebuild the JNI"

# CPU or CUDA: the CUDA libraries need both a CUDA torch and an NVIDIA driver.
has_cuda_torch() { [ -f "$lib/libtorch_cuda.so" ]; }
has_driver() { [ -e /proc/driver/nvidia/version ] || ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; }
case "$mode" in
  gpu) has_cuda_torch || die "--gpu --torch $given: $lib has no libtorch_cuda.so (a CPU-only torch)"
       has_driver || die "--gpu --torch $given: no NVIDIA driver here (no /proc/driver/nvidia, no libcuda.so.1)"
       flavor=cu128 ;;
  cpu) flavor=cpu ;;
  auto) if has_cuda_torch && has_driver; then flavor=cu128; else flavor=cpu; fi ;;
esac
# The pytorch-jni jar has JNI builds for cpu and cu128 only; DJL picks one by PYTORCH_FLAVOR.
names="libc10.so libtorch.so libtorch_cpu.so libtorch_global_deps.so"
[ "$flavor" = cpu ] || names="$names libc10_cuda.so libtorch_cuda.so libcaffe2_nvrtc.so"
for n in $names; do [ -f "$lib/$n" ] || [ "$n" = libtorch_global_deps.so ] || die "$lib: no $n"; done
gomp="$(cd "$lib" && ls libgomp*.so* 2>/dev/null | head -1 || true)"   # pip: libgomp.so.1; libtorch zip: libgomp-<hash>.so.1

# The symlink folder, keyed by the torch folder and flavour; made in a temporary folder, then renamed.
key="$(printf '%s' "$lib" | sha256sum | cut -c1-12)"
cache="${CTLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ctlab}/torch/$want-$flavor-$key"
ok=1
[ -d "$cache" ] || ok=0
for n in $names $gomp; do [ -f "$lib/$n" ] || continue; [ "$(readlink "$cache/$n" 2>/dev/null)" = "$lib/$n" ] || ok=0; done
if [ "$ok" = 0 ]; then
  mkdir -p "$(dirname "$cache")"
  tmp="$(mktemp -d "$cache.tmp.XXXXXX")"
  for n in $names $gomp; do [ -f "$lib/$n" ] && ln -s "$lib/$n" "$tmp/$n"; done
  rm -rf "$cache"
  mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"   # lost a race with another start: its folder is the same
fi

printf 'export PYTORCH_LIBRARY_PATH=%q\n' "$cache"
printf 'export PYTORCH_VERSION=%q\n' "$want"
printf 'export PYTORCH_FLAVOR=%q\n' "$flavor"
printf 'export CTLAB_TORCH_SOURCE=%q\n' "$lib ($found)"
