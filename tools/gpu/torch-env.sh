#!/usr/bin/env bash
# torch-env.sh [--gpu|--cpu] [--jni JNI_DIR] DIR: prints the `export` lines that make DJL load an installed PyTorch (pip/conda torch
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
# --jni JNI_DIR: a libdjl_torch.so built for another torch, with the torch-version file tools/gpu/build-jni.sh writes
# beside it. The torch must be that version; the JNI is linked into the folder, where DJL looks before its jar.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
die() { echo "ctlab: $*" >&2; exit 2; }

mode=auto
jni=
while [ $# -gt 1 ]; do
  case "$1" in
    --gpu) mode=gpu; shift ;;
    --cpu) mode=cpu; shift ;;
    --jni) jni="$2"; shift 2 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] && [ -n "$1" ] || die "usage: torch-env.sh [--gpu|--cpu] [--jni JNI_DIR] TORCH_DIR"
if [ -n "$jni" ]; then
  [ -f "$jni/libdjl_torch.so" ] || die "JNI folder $jni: no libdjl_torch.so in it (make it with tools/gpu/build-jni.sh)"
  [ -s "$jni/torch-version" ] || die "JNI folder $jni: no torch-version file (the torch it was built for) in it"
  jni="$(cd "$jni" && pwd -P)"
fi
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
if [ -n "$jni" ]; then
  want="$(head -1 "$jni/torch-version")"
  [ "${found%%+*}" = "$want" ] || die "$from: torch $found, but the JNI in $jni was built for torch $want" \
    "(a JNI built for another libtorch fails at the first tensor); rebuild it: tools/gpu/build-jni.sh ${found%%+*}"
else
  want="$(sed -n 's:.*<pytorch.version>\(.*\)</pytorch.version>.*:\1:p' "$ROOT/pom.xml" | head -1)"
  [ -n "$want" ] || die "$ROOT/pom.xml: no <pytorch.version>"
  [ "${found%%+*}" = "$want" ] || die "$from: torch $found, but this build's PyTorch JNI (DJL) needs torch $want" \
    "(a JNI built for another libtorch fails at the first tensor); install torch==$want, or build a JNI for" \
    "${found%%+*} (tools/gpu/build-jni.sh ${found%%+*}) and add --torch-jni"
fi

# CPU or CUDA: the CUDA libraries need both a CUDA torch and an NVIDIA driver. The jar's CUDA JNI is cu128; with
# --jni the flavour names the torch's own CUDA (cu130 for CUDA 13.0): DJL only checks that it starts with "cu".
cu=cu128
if [ -n "$jni" ] && [ -f "$top/version.py" ]; then
  c="$(sed -n "s/^cuda[^=]*= *['\"]\([0-9.]*\)['\"].*/\1/p" "$top/version.py" | head -1)"
  [ -z "$c" ] || cu="cu$(printf '%s' "$c" | tr -d .)"
fi
has_cuda_torch() { [ -f "$lib/libtorch_cuda.so" ]; }
# The driver: its /proc entry, or libcuda.so.1 where the loader finds it (ld cache, or LD_LIBRARY_PATH: containers
# often mount the driver's libraries in a folder of their own, e.g. /usr/local/nvidia/lib64, without the /proc entry).
has_driver() {
  [ -e /proc/driver/nvidia/version ] && return 0
  ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 ' && return 0
  local d IFS=:
  for d in ${LD_LIBRARY_PATH:-}; do [ -n "$d" ] && [ -e "$d/libcuda.so.1" ] && return 0; done
  return 1
}
case "$mode" in
  gpu) has_cuda_torch || die "--gpu --torch $given: $lib has no libtorch_cuda.so (a CPU-only torch)"
       has_driver || die "--gpu --torch $given: no NVIDIA driver here (no /proc/driver/nvidia, no libcuda.so.1 in the" \
         "loader's cache or LD_LIBRARY_PATH)"
       flavor=$cu ;;
  cpu) flavor=cpu ;;
  auto) if has_cuda_torch && has_driver; then flavor=$cu; else flavor=cpu; fi ;;
esac
# The pytorch-jni jar has JNI builds for cpu and cu128 only; DJL picks one by PYTORCH_FLAVOR (unless the folder has one).
names="libc10.so libtorch.so libtorch_cpu.so libtorch_global_deps.so"
[ "$flavor" = cpu ] || names="$names libc10_cuda.so libtorch_cuda.so libcaffe2_nvrtc.so"
for n in $names; do [ -f "$lib/$n" ] || [ "$n" = libtorch_global_deps.so ] || die "$lib: no $n"; done
gomp="$(cd "$lib" && ls libgomp*.so* 2>/dev/null | head -1 || true)"   # pip: libgomp.so.1; libtorch zip: libgomp-<hash>.so.1

# The symlink folder, keyed by the torch folder and flavour; made in a temporary folder, then renamed.
key="$(printf '%s' "$lib${jni:+ $jni}" | sha256sum | cut -c1-12)"
cache="${CTLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ctlab}/torch/$want-$flavor-$key"
ok=1
[ -d "$cache" ] || ok=0
for n in $names $gomp; do [ -f "$lib/$n" ] || continue; [ "$(readlink "$cache/$n" 2>/dev/null)" = "$lib/$n" ] || ok=0; done
[ -z "$jni" ] || [ "$(readlink "$cache/libdjl_torch.so" 2>/dev/null)" = "$jni/libdjl_torch.so" ] || ok=0
if [ "$ok" = 0 ]; then
  mkdir -p "$(dirname "$cache")"
  tmp="$(mktemp -d "$cache.tmp.XXXXXX")"
  for n in $names $gomp; do [ -f "$lib/$n" ] && ln -s "$lib/$n" "$tmp/$n"; done
  [ -z "$jni" ] || ln -s "$jni/libdjl_torch.so" "$tmp/libdjl_torch.so"
  rm -rf "$cache"
  mv -T "$tmp" "$cache" 2>/dev/null || rm -rf "$tmp"   # lost a race with another start: its folder is the same
fi

# DJL counts GPUs with JNA's Native.load("cudart"), which needs an unversioned libcudart.so on the loader's path;
# pip's nvidia wheels ship only libcudart.so.N (found by libtorch through its RPATH). Without it DJL sees 0 GPUs.
# So for CUDA: a folder of its own (DJL would load anything in the folder above) with libcudart.so -> the libcudart
# libtorch_cpu resolves to, on LD_LIBRARY_PATH.
if [ "$flavor" != cpu ]; then
  cudart="$(ldd "$lib/libtorch_cpu.so" 2>/dev/null | sed -n 's/^[[:space:]]*libcudart\.so[.0-9]* => \(\/[^ ]*\) .*/\1/p' | head -1 || true)"
  if [ -n "$cudart" ] && [ -f "$cudart" ]; then
    cudart="$(readlink -f "$cudart")"
    rt="$cache-cudart"
    if [ "$(readlink "$rt/libcudart.so" 2>/dev/null)" != "$cudart" ]; then
      tmp="$(mktemp -d "$rt.tmp.XXXXXX")"
      ln -s "$cudart" "$tmp/libcudart.so"
      rm -rf "$rt"
      mv -T "$tmp" "$rt" 2>/dev/null || rm -rf "$tmp"
    fi
    printf 'export LD_LIBRARY_PATH=%q\n' "$rt${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi
printf 'export PYTORCH_LIBRARY_PATH=%q\n' "$cache"
printf 'export PYTORCH_VERSION=%q\n' "$want"
printf 'export PYTORCH_FLAVOR=%q\n' "$flavor"
printf 'export CTLAB_TORCH_SOURCE=%q\n' "$lib ($found)"
