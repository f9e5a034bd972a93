#!/usr/bin/env bash
# The main MoE training run, in the background, resumable.
#
#   bash training/run_main.sh            # start, or resume from training/checkpoints/main/latest.pt
#   PY=/path/to/python bash training/run_main.sh # another interpreter (default: .venv/bin/python, else python3)
#   kill -TERM "$(cat training/logs/main.pid)"   # stop early: train.py checkpoints, then exits
#                                                (exit 10; the export/eval step is skipped)
#
# The run's TOTAL budget is 150 minutes of wall clock (configs/main.json, train.budget_minutes),
# summed over sessions; the LR schedule is defined over that total, so stopping and re-running this
# script continues the same schedule. When the budget is used up it exports the Hugging Face folder
# (training/export/main, verified against transformers) and runs training/eval.py.
# Logs: training/logs/main.log (JSON lines), training/logs/main.out (stdout/stderr of all steps).
set -euo pipefail
cd "$(dirname "$0")/.."
# Python: $PY if set, else the repository's venv (python3 -m venv .venv && .venv/bin/pip install -r
# training/requirements.txt), else python3.
PY=${PY:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
mkdir -p training/logs
PIDFILE=training/logs/main.pid
if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
  echo "main run already running (pid $(cat "$PIDFILE"))" >&2
  exit 1
fi
"$PY" -c "import numpy, tokenizers, torch" 2>/dev/null || {
  echo "$PY cannot import numpy/tokenizers/torch: python3 -m venv .venv && .venv/bin/pip install -r training/requirements.txt, or PY=/path/to/python bash $0" >&2
  exit 1
}
for f in training/data/train.jsonl training/data/valid.jsonl training/tokenizer/tokenizer.json; do
  [ -f "$f" ] || { echo "missing $f (corpus/tokenizer not built yet)" >&2; exit 1; }
done

nohup bash -c '
  set -u
  PY="$1"; shift
  echo "== $(date -Is) run_main.sh session start (pid $$)"
  # token files: (re)build when missing or older than the corpus / tokenizer
  if [ ! -f training/data/valid.idx.npy ] || [ ! -f training/data/train.idx.npy ] \
     || [ training/data/train.jsonl -nt training/data/train.idx.npy ] \
     || [ training/tokenizer/tokenizer.json -nt training/data/train.idx.npy ]; then
    if [ -f training/checkpoints/main/latest.pt ] && [ -f training/data/train.idx.npy ]; then
      # never re-tokenise under a running schedule (train.py refuses data whose document count
      # differs from the checkpoint sampler state)
      echo "warning: corpus/tokenizer newer than the token files; keeping them (run in progress)" >&2
    else
      echo "== $(date -Is) prepare_data"
      "$PY" training/prepare_data.py || exit 2
    fi
  fi
  echo "== $(date -Is) train"
  "$PY" training/train.py --config training/configs/main.json "$@" &
  child=$!
  trap "kill -TERM $child 2>/dev/null" TERM INT
  wait $child; rc=$?
  while kill -0 $child 2>/dev/null; do wait $child; rc=$?; done
  trap - TERM INT
  echo "== $(date -Is) train exit $rc"
  if [ $rc -eq 0 ]; then
    echo "== $(date -Is) export"
    "$PY" training/export_hf.py --checkpoint training/checkpoints/main/latest.pt --out training/export/main
    echo "== $(date -Is) eval"
    "$PY" training/eval.py --checkpoint training/checkpoints/main/latest.pt --out training/logs/eval-main.json
    echo "== $(date -Is) done"
  fi
' run_main "$PY" "$@" >> training/logs/main.out 2>&1 &
echo $! > "$PIDFILE"
echo "started main run (pid $!); follow: tail -f training/logs/main.log"
