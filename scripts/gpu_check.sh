#!/usr/bin/env bash
# One command for a lent GPU (H200 / H100), about 8 minutes: the device's peak, sampling and scoring at 7b shape,
# a ~1.1B-shaped fine-tune step, and the default trained from scratch under three seeds side by side. Results go
# to $OUT (the device tool brings that folder back) or gpu-results/; paste them into docs/benchmarks.md.
#   bash scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-gpu-results}"
mkdir -p "$OUT"
PY="${PYTHON:-python}"
run() { local name="$1"; shift; echo "== $name"; timeout "${LIMIT:-150}" "$PY" "$@" | tee "$OUT/$name.json" || echo "$name: failed or timed out" | tee -a "$OUT/errors.txt"; }
nvidia-smi --query-gpu=name,memory.total --format=csv > "$OUT/device.csv" 2>&1 || true
run peak benchmarks/gpu.py peak
run sample benchmarks/gpu.py sample --batch 64 256
run score benchmarks/gpu.py score
echo "== finetune"; timeout 120 "$PY" benchmarks/training.py --gpu --checkpointing > "$OUT/finetune.md" 2>&1 || echo "finetune: failed" >> "$OUT/errors.txt"
LIMIT=240 run pipeline benchmarks/gpu.py pipeline params/default-train.yaml --seeds 0 1 2
