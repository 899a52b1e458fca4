#!/usr/bin/env bash
# Start a vLLM OpenAI-compatible server on a loopback port with a bounded lifetime; print its PID.
#   tools/vllm/serve.sh MODEL_DIR PORT [LIFETIME_S]      (stop it with: kill PID)
# Python: $CTLAB_VLLM_PYTHON, else ./.vllm-venv/bin/python (tools/vllm/install.sh). Log and PID file go to
# $CTLAB_VLLM_RUN (default /tmp/ctlab-vllm-PORT): server.log, server.pid. Extra server arguments (split on
# spaces): $CTLAB_VLLM_ARGS, e.g. "--enable-lora --max-lora-rank 16 --lora-modules policy=RUN/07-train/cdpo".
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: tools/vllm/serve.sh MODEL_DIR PORT [LIFETIME_S]" >&2; exit 2
fi
MODEL="$1"; PORT="$2"; LIFETIME="${3:-1800}"
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
PY="${CTLAB_VLLM_PYTHON:-$ROOT/.vllm-venv/bin/python}"
[ -d "$MODEL" ] || { echo "serve.sh: model folder not found: $MODEL" >&2; exit 2; }
[ -f "$MODEL/config.json" ] || { echo "serve.sh: $MODEL/config.json not found (need a Hugging Face model folder)" >&2; exit 2; }
[[ "$PORT" =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1024 ] && [ "$PORT" -le 65535 ] || { echo "serve.sh: PORT must be 1024..65535, got '$PORT'" >&2; exit 2; }
[[ "$LIFETIME" =~ ^[0-9]+$ ]] && [ "$LIFETIME" -ge 1 ] || { echo "serve.sh: LIFETIME_S must be a positive integer, got '$LIFETIME'" >&2; exit 2; }
[ -x "$PY" ] || { echo "serve.sh: no vLLM python at $PY (set CTLAB_VLLM_PYTHON or run tools/vllm/install.sh)" >&2; exit 2; }
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
  echo "serve.sh: port $PORT already answers; pick another" >&2; exit 2
fi
RUN="${CTLAB_VLLM_RUN:-/tmp/ctlab-vllm-$PORT}"
mkdir -p "$RUN"
LOG="$RUN/server.log"; PIDF="$RUN/server.pid"
# VLLM_CPU_KVCACHE_SPACE=1 (GiB): without it the CPU build reserves ~20 GiB of KV cache.
# `timeout` bounds the lifetime; its PID is the one to kill (TERM reaches the server through it).
VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" \
  timeout --signal=TERM --kill-after=20 "$LIFETIME" \
  "$PY" -m vllm.entrypoints.openai.api_server --model "$MODEL" --dtype float32 --max-model-len 512 \
  --host 127.0.0.1 --port "$PORT" ${CTLAB_VLLM_ARGS:-} >"$LOG" 2>&1 </dev/null &
PID=$!
echo "$PID" >"$PIDF"
WAIT="${CTLAB_VLLM_START_TIMEOUT:-600}"
for ((i = 0; i < WAIT; i++)); do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "serve.sh: server exited during start-up; last lines of $LOG:" >&2; tail -n 15 "$LOG" >&2; exit 1
  fi
  if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/v1/models"; then echo "$PID"; exit 0; fi
  sleep 1
done
echo "serve.sh: /v1/models did not answer within ${WAIT}s; stopping PID $PID (log: $LOG)" >&2
kill -TERM "$PID" 2>/dev/null || true
exit 1
