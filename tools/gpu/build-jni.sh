#!/usr/bin/env bash
# build-jni.sh [TORCH_VERSION]: builds DJL 0.36.0's PyTorch JNI (libdjl_torch.so) against a pip torch wheel of another
# version (default 2.11.0), because DJL 0.36's own JNI is built for libtorch 2.7.1 and fails on a newer one at the
# first tensor (docs/gpu.md). Output: $CTLAB_GPU_BUILD/jni-<version>/libdjl_torch.so and torch-version (the torch it
# was built for; tools/gpu/torch-env.sh --jni checks it against the installed torch).
#
# Steps: pip download the wheel (no deps), unpack torch/{include,lib,version.py}, take DJL's sources at v0.36.0
# (engines/pytorch/pytorch-native, the Java class the JNI header comes from, api/src/main/native), apply
# tools/gpu/djl-0.36.0-torch-$VERSION.patch if there is one (only what newer headers need; torch 2.11.0 needs none:
# DJL 0.36.0's sources compile unchanged against its headers), compile with g++ (no CMake: the wheel's
# TorchConfig.cmake of a CUDA build wants the CUDA toolkit), link -ltorch -ltorch_cpu -lc10, rpath $ORIGIN.
# The JNI is DJL's CPU flavour (no USE_CUDA): it needs no CUDA headers, and it drives CUDA tensors through libtorch's
# device-generic API. What USE_CUDA adds in DJL 0.36: emptying the CUDA caching allocator (torchCudaEmptyCache) and
# a separate CUDA stream for TorchScript module forward; ctlab uses neither.
#
# Environment: CTLAB_GPU_BUILD (work folder, default ~/.cache/ctlab/gpu-build), DJL_GIT (DJL repository to clone,
# default https://github.com/deepjavalibrary/djl.git), JOBS (parallel compiles, default 2), PIP (default pip).
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
die() { echo "build-jni: $*" >&2; exit 2; }
V="${1:-2.11.0}"
DJL_TAG=v0.36.0
WORK="${CTLAB_GPU_BUILD:-${XDG_CACHE_HOME:-$HOME/.cache}/ctlab/gpu-build}"
DJL_GIT="${DJL_GIT:-https://github.com/deepjavalibrary/djl.git}"
JOBS="${JOBS:-2}"
PATCH="$ROOT/tools/gpu/djl-0.36.0-torch-$V.patch"
for t in g++ javac git unzip "${PIP:-pip}"; do command -v "$t" >/dev/null || die "needs $t on PATH"; done
[ -n "${JAVA_HOME:-}" ] || JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")"
[ -f "$JAVA_HOME/include/jni.h" ] || die "no jni.h under JAVA_HOME=$JAVA_HOME"
mkdir -p "$WORK"

# 1. The torch wheel: headers and libraries (the wheel is the same C++ build whatever the Python tag).
TORCH="$WORK/torch-$V"
if [ ! -f "$TORCH/torch/version.py" ]; then
  "${PIP:-pip}" download "torch==$V" --no-deps --only-binary=:all: -d "$WORK/wheels"
  whl="$(ls "$WORK/wheels"/torch-"$V"-*.whl | head -1)"
  rm -rf "$TORCH.tmp" && mkdir -p "$TORCH.tmp"
  unzip -q "$whl" 'torch/include/*' 'torch/lib/*' 'torch/version.py' -d "$TORCH.tmp"
  rm -rf "$TORCH" && mv "$TORCH.tmp" "$TORCH"
fi
found="$(sed -n "s/^__version__ *= *['\"]\([^'\"]*\)['\"].*/\1/p" "$TORCH/torch/version.py" | head -1)"
[ "${found%%+*}" = "$V" ] || die "$TORCH/torch/version.py says $found, not $V"

# 2. DJL's sources at the tag the toolkit uses (pom.xml: djl.version 0.36.0), patched.
SRC="$WORK/djl-${DJL_TAG#v}-torch-$V"
if [ ! -f "$SRC/.patched" ]; then
  rm -rf "$SRC" && git -c advice.detachedHead=false clone -q --depth 1 --branch "$DJL_TAG" "$DJL_GIT" "$SRC"
  if [ -s "$PATCH" ]; then (cd "$SRC" && git apply "$PATCH"); fi
  touch "$SRC/.patched"
fi
NATIVE="$SRC/engines/pytorch/pytorch-native"

# 3. The JNI header from the Java side (ai.djl.pytorch.jni.PyTorchLibrary), then compile and link.
B="$WORK/build-jni-$V"
rm -rf "$B" && mkdir -p "$B/include" "$B/classes" "$B/obj"
javac -h "$B/include" -d "$B/classes" \
  "$SRC/engines/pytorch/pytorch-engine/src/main/java/ai/djl/pytorch/jni/PyTorchLibrary.java"
INC=(-I"$B/include" -I"$JAVA_HOME/include" -I"$JAVA_HOME/include/linux" -I"$SRC/api/src/main/native"
     -I"$TORCH/torch/include" -I"$TORCH/torch/include/torch/csrc/api/include")
# The wheel is built with the C++11 ABI (torch >= 2.7 on manylinux_2_28); mismatched ABI gives undefined symbols.
FLAGS=(-std=c++17 -O2 -fPIC -DNDEBUG -D_GLIBCXX_USE_CXX11_ABI=1 -Wno-deprecated-declarations)
export B
ls "$NATIVE"/src/main/native/*.cc | JOBS="$JOBS" xargs -P "$JOBS" -I{} sh -c \
  'echo "  g++ $(basename {})" >&2; exec g++ "$@" -c {} -o "$B/obj/$(basename {} .cc).o"' _ "${FLAGS[@]}" "${INC[@]}"
OUT="$WORK/jni-$V"
rm -rf "$OUT.tmp" && mkdir -p "$OUT.tmp"
g++ -shared -o "$OUT.tmp/libdjl_torch.so" "$B"/obj/*.o -L"$TORCH/torch/lib" -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 \
  -Wl,-rpath,'$ORIGIN' -s
echo "$V" > "$OUT.tmp/torch-version"
rm -rf "$OUT" && mv "$OUT.tmp" "$OUT"
echo "build-jni: $OUT/libdjl_torch.so ($(du -h "$OUT/libdjl_torch.so" | cut -f1)) for torch $V" >&2
