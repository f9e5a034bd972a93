#!/usr/bin/env bash
# v3: continued training of v2 at a 2,048-token context, in the background, at low priority and one
# thread, resumable over working periods.
#
#   bash training/run_v3.sh                      # start (from v2: checkpoints/main-fim/latest.pt),
#                                                # or resume from training/checkpoints/v3/latest.pt
#   bash training/run_v3.sh --session-minutes 120    # extra train.py options (stop this period early)
#   PY=/path/to/python bash training/run_v3.sh   # another interpreter (default: .venv/bin/python, else python3)
#   kill -TERM "$(cat training/logs/v3.pid)"     # stop: train.py checkpoints, then exits (exit 10);
#                                                # re-run this script next period to resume
#
# Budget: 435 minutes of wall clock at one thread in total (configs/v3.json, train.budget_minutes),
# summed over periods; the LR schedule and the 1024 -> 2048 curriculum are defined over that total.
# A checkpoint is written every 10 minutes, on SIGTERM/SIGINT and at the end. When the budget is
# used up it exports training/export/v3 (verified against transformers) and runs training/eval.py.
# Logs: training/logs/v3.log (JSON lines), training/logs/v3.out (stdout/stderr of all steps).
set -euo pipefail
cd "$(dirname "$0")/.."
# Python: $PY if set, else the repository's venv (python3 -m venv .venv && .venv/bin/pip install -r
# training/requirements.txt), else python3.
PY=${PY:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
mkdir -p training/logs
PIDFILE=training/logs/v3.pid
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "v3 run already running (pid $(cat "$PIDFILE"))" >&2
  exit 1
fi
"$PY" -c "import numpy, tokenizers, torch" 2>/dev/null || {
  echo "$PY cannot import numpy/tokenizers/torch: python3 -m venv .venv && .venv/bin/pip install -r training/requirements.txt, or PY=/path/to/python bash $0" >&2
  exit 1
}
for f in training/data/train.idx.npy training/data/valid.idx.npy training/tokenizer/tokenizer.json \
         training/checkpoints/main-fim/latest.pt; do
  [ -f "$f" ] || { echo "missing $f (corpus: build_corpus.py --from-manifest; then prepare_data.py)" >&2; exit 1; }
done

nohup nice -n 19 bash -c '
  set -u
  PY="$1"; shift
  echo "== $(date -Is) run_v3.sh period start (pid $$, nice $(nice))"
  echo "== $(date -Is) train"
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$PY" training/train.py --config training/configs/v3.json \
      --init-from training/checkpoints/main-fim/latest.pt --set train.threads=1 "$@" &
  child=$!
  trap "kill -TERM $child 2>/dev/null" TERM INT
  wait $child; rc=$?
  while kill -0 $child 2>/dev/null; do wait $child; rc=$?; done
  trap - TERM INT
  echo "== $(date -Is) train exit $rc"
  if [ $rc -eq 0 ]; then
    echo "== $(date -Is) export"
    "$PY" training/export_hf.py --checkpoint training/checkpoints/v3/latest.pt --out training/export/v3
    echo "== $(date -Is) eval"
    "$PY" training/eval.py --checkpoint training/checkpoints/v3/latest.pt --threads 1 --out training/logs/eval-v3.json
    echo "== $(date -Is) done"
  fi
' run_v3 "$PY" "$@" >> training/logs/v3.out 2>&1 &
echo $! > "$PIDFILE"
echo "started v3 run (pid $!, nice 19, 1 thread); follow: tail -f training/logs/v3.log"
