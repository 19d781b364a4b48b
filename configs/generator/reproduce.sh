#!/usr/bin/env bash
# Rebuild the shipped default model (models/generator/model.pt) from chitchat-dataset:
# prepare -> general model -> fine-tune on the "ai" topic -> fp16 export. Uses CUDA if present.
set -euo pipefail
PY=${PY:-.venv/bin/python}
CONFIG=${CONFIG:-configs/generator/gpu.toml}   # same model shape as default.toml, GPU batching
$PY -m generator prepare --corpus chitchat --out runs/chitchat
$PY -m generator train --config "$CONFIG" --corpus runs/chitchat --out runs/general --name ada-general
$PY -m generator train --config configs/generator/finetune_ai.toml --corpus runs/chitchat \
  --topic ai --init-from runs/general/best.pt --out runs/ai --name ada-ai
$PY -m generator export --from runs/ai/best.pt --out models/generator
