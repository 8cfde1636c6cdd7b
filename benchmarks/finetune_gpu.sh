#!/usr/bin/env bash
# The fine-tuning ground truth at its full budget on one large GPU (issue 12): every candidate of
# `ped finetune-truth` (ped.finetune.protocol.CANDIDATES), both image targets, three seeds, 20 epochs at 96 px, eight
# processes sharing the GPU. Planned to finish within 10 minutes on one H100/H200; resumable
# (rerun the same command). Records: $1 (default benchmarks/results/finetune-gpu/records.jsonl).
#
#   bash benchmarks/finetune_gpu.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/results/finetune-gpu}
python=${PYTHON:-.venv/bin/python}
"$python" - <<'PY'
import sys, torch
if not torch.cuda.is_available():
    sys.exit("error: no CUDA device is visible; this script runs the GPU budget only")
print("GPU:", torch.cuda.get_device_name(0))
PY
exec "$python" -m ped finetune-truth --device cuda --threads 2 --workers 8 \
    --seeds 0,1,2 --epochs 20 --image-size 96 --out "$out"
