#!/usr/bin/env bash
# bundle.sh: packs what tools/gpu/check.sh needs on a machine with no Java and no build tools (docs/gpu.md,
# "Checking a GPU machine") into tools/gpu/target/ctlab-gpu-bundle.tar.xz:
#   java/       a jlink-ed Java runtime: only the modules the jars need (jdeps), no debug info, man pages or headers;
#   lib/        the toolkit jar and its runtime jars, without the bundled CPU libtorch (pytorch-native-cpu, 112 MB)
#               and DJL's 2.7.1 JNI jar (pytorch-jni: the torch-2.11 JNI below replaces it), and without the jars
#               only the MATH500 answer grader, the figures and the tables use (nothing in the check loads them);
#   test/       the toolkit's compiled tests (goldens included), JUnit, and RunTests (tools/gpu/RunTests.java);
#   jni/        libdjl_torch.so built for the GPU machine's torch (tools/gpu/build-jni.sh) and its torch-version.
# The archive travels as an ignored path beside the repository's tracked files (the device call's carry).
# Environment: CTLAB_GPU_BUILD (build-jni.sh's folder), TORCH_VERSION (default 2.11.0), MVN_FLAGS (e.g. -o).
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
die() { echo "bundle: $*" >&2; exit 2; }
V="${TORCH_VERSION:-2.11.0}"
JNI="${CTLAB_GPU_BUILD:-${XDG_CACHE_HOME:-$HOME/.cache}/ctlab/gpu-build}/jni-$V"
[ -f "$JNI/libdjl_torch.so" ] || die "no $JNI/libdjl_torch.so: run tools/gpu/build-jni.sh $V first"
OUT="$ROOT/tools/gpu/target"
B="$OUT/bundle"
for t in mvn javac jdeps jlink zip xz; do command -v "$t" >/dev/null || die "needs $t on PATH"; done
cd "$ROOT"

# The toolkit jar, its runtime jars (target/lib) and compiled tests; then the test classpath from Maven.
# shellcheck disable=SC2086
mvn -B -q ${MVN_FLAGS:-} -pl toolkit -am -DskipTests package
# shellcheck disable=SC2086
mvn -B -q ${MVN_FLAGS:-} -pl toolkit dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$OUT/test-classpath.txt" >/dev/null
launcher="$(sed -n 's:.*<junit.version>5\.\([0-9.]*\)</junit.version>.*:1.\1:p' pom.xml)"   # platform 1.x of jupiter 5.x
# shellcheck disable=SC2086
mvn -B -q ${MVN_FLAGS:-} dependency:copy -Dartifact="org.junit.platform:junit-platform-launcher:$launcher" \
  -DoutputDirectory="$OUT/launcher" >/dev/null

rm -rf "$B" && mkdir -p "$B/lib" "$B/test/lib" "$B/test/runner" "$B/jni"
# Runtime jars; left out: the CPU native and the 2.7.1 JNI (see above), and the MATH500 grader's computer-algebra
# stack (matheclipse/symja and what only it pulls in), tables and charts, which the check never loads.
skip='^(pytorch-native-|pytorch-jni-|matheclipse-|fastutil|icu4j|jas-|trove4j|apfloat|choco-solver|hipparchus-|logicng|jgrapht-|tablesaw-|xchart-|pdfbox|fontbox|janino|commons-compiler|javassist|kryo|RoaringBitmap|univocity|Paguro|automaton|antlr4|commons-net|re2j|derive4j|jheaps|commons-text|commons-math3|log4j-api|checker-qual|guava-33.0)'
for j in toolkit/target/lib/*.jar; do
  n="${j##*/}"
  [[ "$n" =~ $skip ]] || cp "$j" "$B/lib/"
done
# DJL's HF tokenizers jar carries its Rust library for four platforms (55 MB unpacked); keep linux-x86_64's.
for j in "$B"/lib/tokenizers-*.jar; do
  zip -q -d "$j" 'native/lib/linux-aarch64/*' 'native/lib/win-x86_64/*' 'native/lib/osx-aarch64/*' >/dev/null
done
cp toolkit/target/ctlab-toolkit-*-SNAPSHOT.jar "$B/lib/"
rm -f "$B"/lib/*-sources.jar
# Test-only jars: what the test classpath has beyond the runtime jars (JUnit), plus the platform launcher.
{ tr ":" "\n" < "$OUT/test-classpath.txt"; echo; } | while read -r j; do
  [ -n "$j" ] && [ ! -f "toolkit/target/lib/${j##*/}" ] && cp "$j" "$B/test/lib/"
done
cp "$OUT"/launcher/*.jar "$B/test/lib/"
cp -r toolkit/target/test-classes "$B/test/classes"
javac -d "$B/test/runner" -cp "$B/test/lib/*" tools/gpu/RunTests.java
cp "$JNI/libdjl_torch.so" "$JNI/torch-version" "$B/jni/"

# The Java runtime: the modules jdeps finds in the jars kept, plus jdk.zipfs (a service) and jdk.unsupported
# (sun.misc.Unsafe, which libraries look up by reflection); jdeps cannot see either.
mods="$(jdeps --ignore-missing-deps --print-module-deps --multi-release 17 -q "$B"/lib/*.jar "$B"/test/lib/*.jar)"
for m in jdk.zipfs jdk.unsupported; do [[ ",$mods," == *",$m,"* ]] || mods="$mods,$m"; done
jlink --add-modules "$mods" --strip-debug --no-man-pages --no-header-files --compress=0 --output "$B/java"

tar -C "$OUT" -cf - bundle | xz -6 -T2 > "$OUT/ctlab-gpu-bundle.tar.xz.tmp"
mv "$OUT/ctlab-gpu-bundle.tar.xz.tmp" "$OUT/ctlab-gpu-bundle.tar.xz"
echo "bundle: modules $mods" >&2
du -sh "$B/java" "$B/lib" "$B/test" "$B/jni" "$OUT/ctlab-gpu-bundle.tar.xz" >&2
du -sh "$B" >&2
