#!/usr/bin/env bash
# Second GPU session: continue the models of generator_gpu.sh from their fp16 exports (fresh
# optimizer, lower peak rate) with the faster loop (prefetch thread, no per-step GPU sync),
# and re-time training speed at a larger batch. Each stage copies its result to $OUT at once.
# Usage: OUT=/dir PREV=runs/gpu1 bash bench/generator_gpu_more.sh   (CPU smoke test: TINY=1)
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
PY=${PY:-python3}; DATA=${DATA:-.gpu_data}; OUT=${OUT:?set OUT}; PREV=${PREV:-.gpu_data/prev}
RUNS=${RUNS:-/tmp/generator_runs2}; mkdir -p "$RUNS" "$OUT"
if [ "${TINY:-0}" = 1 ]; then
  BENCH="--steps 2 --warmup 1 --hidden 64 --embed 32 --vocab 500 --big-batch 128"; T=(60 40 30 30); EXTRA="--epochs 1"
else
  BENCH="--steps 30 --warmup 5 --big-batch 1024"; T=(45 110 40 60); EXTRA=""
fi
stage() { local secs=$1; shift; echo "[$(date +%T)] run: $*"; timeout -s INT -k 15 "$secs" "$@" 2>&1; }
export_to() { $PY -m generator export --from "$RUNS/$1/best.pt" --out "$RUNS/export_$1" && cp "$RUNS/export_$1/model.pt" "$OUT/$1.pt"; }
stage "${T[0]}" $PY bench/generator_train.py $BENCH --corpus "$DATA/dailydialog_trainval.jsonl.gz" --out "$OUT/bench_train_gpu2.json"
stage "${T[1]}" $PY -m generator train --config configs/generator/gpu.toml --corpus "$DATA/chitchat" \
  --init-from "$PREV/general.pt" --lr 1.5e-3 --out "$RUNS/general" --name ada-general --quiet $EXTRA
export_to general
stage "${T[2]}" $PY -m generator train --config configs/generator/finetune_ai.toml --corpus "$DATA/chitchat" \
  --topic ai --init-from "$RUNS/general/best.pt" --out "$RUNS/ai" --name ada-ai --quiet $EXTRA
export_to ai
tar -czf "$OUT/results2.tar.gz" -C "$RUNS" --exclude='*.pt' --exclude='export_*' .
stage "${T[3]}" $PY -m generator train --config configs/generator/dailydialog.toml \
  --corpus "$DATA/dailydialog_trainval.jsonl.gz" --init-from "$PREV/dd.pt" --lr 2e-3 --out "$RUNS/dd" \
  --name dailydialog --quiet $EXTRA
export_to dd
tar -czf "$OUT/results2.tar.gz" -C "$RUNS" --exclude='*.pt' --exclude='export_*' .
echo "[$(date +%T)] done"; ls -la "$OUT"
