#!/usr/bin/env bash
# Re-tries the families of the reliability audit (issue #10) as a user would, against a finished demo run:
# bad configs, bad data, bad model folders, edited run folders, read-only and full disks, colliding paths.
# For each case it checks the exit code, that stderr has one clear "error:" line and no stack trace, and, where the case
# could lose data, that the files it must not touch are byte-identical afterwards.
#
#   tools/audit/user-errors.sh RUN_DIR        RUN_DIR: a finished `bin/ctlab demo --run-dir RUN_DIR` (not modified:
#                                             the cases work on copies under a temp folder)
#
# Needs root for the read-only and disk-full cases (tmpfs mounts); they are skipped otherwise.
# Prints one line per case and closes with "N passed, N failed".
set -uo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
CTLAB="$ROOT/bin/ctlab"
RUN="$(readlink -f "${1:?usage: tools/audit/user-errors.sh RUN_DIR (a finished demo run)}")"
[ -f "$RUN/08-eval/DONE" ] || { echo "$RUN: not a finished demo run (no 08-eval/DONE)" >&2; exit 2; }
T="$(mktemp -d "${TMPDIR:-/tmp}/ctlab-audit.XXXXXX")"
MOUNTS=()
cleanup() { [ -f "$T/README.snap" ] && cp -p "$T/README.snap" "$ROOT/models/organism-base/README.md"; for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
pass=0; fail=0
cd "$ROOT"

# case NAME EXPECTED_EXIT -- COMMAND...: runs it, checks exit code and a one-line, trace-free stderr.
case_() {
  local name="$1" want="$2"; shift 3
  "$@" >"$T/out" 2>"$T/err" </dev/null
  local rc=$? why=""
  [ "$rc" = "$want" ] || why="exit $rc, expected $want"
  if grep -qE '^\s+at [a-zA-Z]|Exception in thread|^Caused by:' "$T/err" "$T/out"; then why="$why; stack trace"; fi
  # progress and log lines may precede it on stderr; the error itself is one line
  local errors; errors=$(grep -c '^error:' "$T/err")
  if [ "$want" != 0 ] && [ "$errors" != 1 ]; then why="$why; $errors 'error:' lines"; fi
  if [ -z "$why" ]; then pass=$((pass+1)); echo "ok   $name: $(head -c 160 "$T/err" | head -1)"
  else fail=$((fail+1)); echo "FAIL $name: $why"; sed 's/^/       /' "$T/err" | head -8; fi
}
# same FILE SNAPSHOT: the file is byte-identical to its snapshot.
same() {
  if cmp -s "$1" "$2"; then pass=$((pass+1)); echo "ok   unchanged: ${1#$T/}"
  else fail=$((fail+1)); echo "FAIL changed or lost: ${1#$T/}"; fi
}
fresh() { rm -rf "$T/r"; cp -a "$RUN" "$T/r"; }
CFG="$T/r/config.yaml"

# ---- configs --------------------------------------------------------------------------------------------
fresh
case_ "config path is a folder" 2 -- "$CTLAB" run configs --run-dir "$T/x1"
case_ "config file missing" 2 -- "$CTLAB" run "$T/nope.yaml" --run-dir "$T/x2"
printf '{"task": "organism", "model": "models/organism-base"} trailing' > "$T/garbage.json"
case_ "JSON config with trailing garbage" 2 -- "$CTLAB" run "$T/garbage.json" --run-dir "$T/x3"
case_ "unknown config key" 2 -- "$CTLAB" run configs/demo.yaml --run-dir "$T/x4" --set sample.topp=0.9
touch "$T/afile"
case_ "run dir is a regular file" 2 -- "$CTLAB" run configs/demo.yaml --run-dir "$T/afile"
case_ "--force names a stage --only leaves out" 2 -- "$CTLAB" run "$CFG" --run-dir "$T/r" --only eval --force sample

# ---- data lost ------------------------------------------------------------------------------------------
fresh
ADAPTER=$(find "$T/r/07-train" -name '*.safetensors' | sort | head -1)
cp "$ADAPTER" "$T/adapter.snap"; cp "$CFG" "$T/config.snap"
case_ "train --force with a typo in the model" 2 -- "$CTLAB" train "$CFG" --run-dir "$T/r" --force --set model=models/organism-bas
same "$ADAPTER" "$T/adapter.snap"
same "$CFG" "$T/config.snap"
EVAL=$(find "$T/r/08-eval" -name 'eval-*.jsonl' | sort | head -1); cp "$EVAL" "$T/eval.snap"
grep -v '^\s*test:' "$CFG" > "$T/no-test.yaml"
case_ "eval --force with data.test missing" 2 -- "$CTLAB" eval "$T/no-test.yaml" --run-dir "$T/r" --force
same "$EVAL" "$T/eval.snap"
SAMPLES="$T/r/01-sample/samples.jsonl"; cp "$SAMPLES" "$T/samples.snap"
case_ "grade --input X --output X" 2 -- "$CTLAB" grade --task organism --input "$SAMPLES" --output "$SAMPLES"
same "$SAMPLES" "$T/samples.snap"
ln -sf "$SAMPLES" "$T/link.jsonl"
case_ "grade --output a symlink to the input" 2 -- "$CTLAB" grade --task organism --input "$SAMPLES" --output "$T/link.jsonl"
same "$SAMPLES" "$T/samples.snap"
case_ "grade --input a folder" 2 -- "$CTLAB" grade --task organism --input "$T/r" --output "$T/g.jsonl"
case_ "grade --output a folder" 2 -- "$CTLAB" grade --task organism --input "$SAMPLES" --output "$T/r"
mkdir -p "$T/other"; printf 'keep me\n' > "$T/other/config.yaml"; cp "$T/other/config.yaml" "$T/other.snap"
case_ "--run-dir an existing folder, run fails" 2 -- "$CTLAB" run configs/demo.yaml --run-dir "$T/other" --set model=models/nope
same "$T/other/config.yaml" "$T/other.snap"

# ---- silently wrong -------------------------------------------------------------------------------------
fresh
head -c 100 "$SAMPLES" > "$T/trunc" && cat "$T/trunc" > "$SAMPLES"
case_ "a finished stage's output truncated after DONE" 2 -- "$CTLAB" run "$CFG" --run-dir "$T/r"
grep -q "samples.jsonl" "$T/err" && { pass=$((pass+1)); echo "ok   ... the message names samples.jsonl"; } \
  || { fail=$((fail+1)); echo "FAIL ... the message does not name samples.jsonl"; }
fresh
rm -f "$T/r/01-sample/DONE" "$T/r/01-sample/STARTED"
case_ "DONE/STARTED removed, config changed" 2 -- "$CTLAB" sample "$CFG" --run-dir "$T/r" --set sample.temperature=0.5
mkdir -p "$T/notrun" && echo notes > "$T/notrun/notes.txt"
case_ "report on a folder that is not a run" 2 -- "$CTLAB" report "$T/notrun"
[ -e "$T/notrun/report.html" ] && { fail=$((fail+1)); echo "FAIL ... wrote a report"; } || pass=$((pass+1))
case_ "compare on a missing file" 2 -- "$CTLAB" compare "$T/nope-a.jsonl" "$T/nope-b.jsonl"
grep -qi "not found\|no such" "$T/err" && { pass=$((pass+1)); echo "ok   ... says not found"; } \
  || { fail=$((fail+1)); echo "FAIL ... does not say the file is missing"; }

# ---- model folders --------------------------------------------------------------------------------------
case_ "model folder missing" 2 -- "$CTLAB" organism eval --model models/nope
grep -qi "not found\|no such" "$T/err" && { pass=$((pass+1)); echo "ok   ... says not found"; } \
  || { fail=$((fail+1)); echo "FAIL ... does not say the model folder is missing"; }
fresh
# The run's model is the repository's models/organism-base: edit a copy of its README in place, restore it after.
cp -p models/organism-base/README.md "$T/README.snap"
restore_readme() { cp -p "$T/README.snap" "$ROOT/models/organism-base/README.md"; }
echo "edited by tools/audit/user-errors.sh" >> models/organism-base/README.md
case_ "model README edited: the finished run is still accepted" 0 -- "$CTLAB" run "$CFG" --run-dir "$T/r"
restore_readme
cp -a models/organism-base "$T/model"
printf '\0' | dd of="$T/model/model.safetensors" bs=1 seek=200 conv=notrunc 2>/dev/null
case_ "model weights damaged: refused, naming the file" 2 -- "$CTLAB" organism eval --model "$T/model"
grep -q "model.safetensors" "$T/err" && { pass=$((pass+1)); echo "ok   ... the message names model.safetensors"; } \
  || { fail=$((fail+1)); echo "FAIL ... the message does not name model.safetensors"; }

# ---- read-only and full disks (root only) ---------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
  fresh
  mkdir -p "$T/ro" && mount -t tmpfs -o size=64m tmpfs "$T/ro" && MOUNTS+=("$T/ro")
  cp -a "$T/r" "$T/ro/r" && mount -o remount,ro "$T/ro"
  case_ "report into a read-only run dir" 2 -- "$CTLAB" report "$T/ro/r"
  case_ "run into a read-only run dir" 2 -- "$CTLAB" run "$T/ro/r/config.yaml" --run-dir "$T/ro/r" --force eval
  mkdir -p "$T/full" && mount -t tmpfs -o size=2m tmpfs "$T/full" && MOUNTS+=("$T/full")
  case_ "disk full during a run" 2 -- "$CTLAB" demo --run-dir "$T/full/r"
  grep -qi "space" "$T/err" && { pass=$((pass+1)); echo "ok   ... says the disk is full"; } \
    || { fail=$((fail+1)); echo "FAIL ... does not say the disk is full"; }
else
  echo "skip read-only and disk-full cases (need root for tmpfs mounts)"
fi

# ---- help -----------------------------------------------------------------------------------------------
case_ "organism eval --help prints no warning" 0 -- "$CTLAB" organism eval --help
[ -s "$T/err" ] && { fail=$((fail+1)); echo "FAIL ... stderr: $(head -1 "$T/err")"; } || pass=$((pass+1))

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
