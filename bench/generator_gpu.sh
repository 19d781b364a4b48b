#!/usr/bin/env bash
# One GPU session: training-speed benchmark, then the shipped model (general -> AI fine-tune)
# and the DailyDialog quality model. Every stage has a deadline (SIGINT stops training
# cleanly: best checkpoint evaluated, metrics written), so the whole script ends in ~8 min.
#
# Needs the prepared corpora in $DATA (ignored by git; carried to the device):
#   python -m generator prepare --corpus chitchat --out .gpu_data/chitchat
#   cp ../shared/data/dailydialog/dailydialog_trainval.jsonl.gz .gpu_data/
# Usage: OUT=/some/dir bash bench/generator_gpu.sh      (CPU smoke test: TINY=1)
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
PY=${PY:-python3}
DATA=${DATA:-.gpu_data}
OUT=${OUT:?set OUT}
RUNS=${RUNS:-/tmp/generator_runs}
mkdir -p "$RUNS" "$OUT"
if [ "${TINY:-0}" = 1 ]; then
  GENERAL=configs/generator/tiny.toml; AI=configs/generator/tiny.toml; DD=configs/generator/tiny.toml
  BENCH="--steps 2 --warmup 1 --hidden 64 --embed 32 --vocab 500 --big-batch 128"; T=(60 30 60 60)
  EXTRA="--epochs 1"
else
  GENERAL=configs/generator/gpu.toml; AI=configs/generator/finetune_ai.toml
  DD=configs/generator/dailydialog.toml; BENCH="--steps 40 --warmup 5 --big-batch 512"
  T=(100 190 60 150); EXTRA=""
fi
log() { echo "[$(date +%T)] $*" | tee -a "$RUNS/log.txt"; }
stage() { local secs=$1; shift; log "run: $*"; timeout -s INT -k 20 "$secs" "$@" 2>&1 | tee -a "$RUNS/log.txt"; }

log "host: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo no-gpu)"
$PY -c "import torch, tokenizers; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'tokenizers', tokenizers.__version__)" | tee -a "$RUNS/log.txt"

stage "${T[0]}" $PY bench/generator_train.py $BENCH --corpus "$DATA/dailydialog_trainval.jsonl.gz" \
  --out "$RUNS/bench_train_gpu.json"

stage "${T[1]}" $PY -m generator train --config "$GENERAL" --corpus "$DATA/chitchat" \
  --out "$RUNS/general" --name ada-general --quiet $EXTRA
stage "${T[2]}" $PY -m generator train --config "$AI" --corpus "$DATA/chitchat" --topic ai \
  --init-from "$RUNS/general/best.pt" --out "$RUNS/ai" --name ada-ai --quiet $EXTRA
stage "${T[3]}" $PY -m generator train --config "$DD" \
  --corpus "$DATA/dailydialog_trainval.jsonl.gz" --out "$RUNS/dd" --name dailydialog --quiet $EXTRA

for run in general ai dd; do
  [ -f "$RUNS/$run/best.pt" ] && $PY -m generator export --from "$RUNS/$run/best.pt" --out "$RUNS/export_$run" \
    && cp "$RUNS/export_$run/model.pt" "$OUT/$run.pt"
done
tar -czf "$OUT/results.tar.gz" -C "$RUNS" --exclude='*.pt' --exclude='export_*' .
log "done"
ls -la "$OUT"
