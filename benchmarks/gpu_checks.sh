#!/usr/bin/env bash
# The GPU checks of issue 10 in one command (about 10 minutes on an H100/H200), from the repository
# root with the project's virtualenv:  bash benchmarks/gpu_checks.sh [OUT_DIR]
# 1. training throughput, XLM-R large (random init), batch 32, NLI lengths, bf16: HF Trainer (pad 128
#    and dynamic padding) vs xstilts train, with torch.compile off and on (`compile = true`: is
#    "auto" = on for CUDA right?); 2. the same with e5-small; 3. evaluation throughput;
# 4. a two-process DDP smoke run (gloo on the CPU when there is only one GPU); 5. a small study,
#    one node at a time vs four concurrent nodes on the one GPU (`--workers 1,4`).
set -euo pipefail
OUT=${1:-${OUT:-gpu-checks}}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY=.venv/bin/python
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
$PY benchmarks/train_throughput.py --model-config xlm-roberta-large --batch-size 32 --examples 1600 \
    --rounds 3 --json "$OUT/train_xlmr_large.json" 2>&1 | tee "$OUT/train_xlmr_large.txt"
$PY benchmarks/train_throughput.py --model-config xlm-roberta-large --batch-size 32 --examples 1600 \
    --rounds 3 --systems hf-pad,xstilts-compiled --json "$OUT/train_xlmr_large_compiled.json" 2>&1 | tee "$OUT/train_xlmr_large_compiled.txt"
$PY benchmarks/train_throughput.py --batch-size 32 --examples 2400 --rounds 3 2>&1 | tee "$OUT/train_e5_small.txt"
$PY benchmarks/eval_throughput.py --max-examples 256 --rounds 3 2>&1 | tee "$OUT/eval.txt"
$PY benchmarks/ddp_smoke.py --steps 6 2>&1 | tee "$OUT/ddp.txt"
$PY benchmarks/ddp_smoke.py --steps 6 --mixed-precision bf16 2>&1 | tee "$OUT/ddp_bf16.txt"
$PY benchmarks/study_throughput.py --steps 30 --examples 960 --batch-size 32 --seeds 1 --workers 1,4 --rounds 1 \
    2>&1 | tee "$OUT/study.txt"
grep -h "speedup:\|ddp smoke\|identical" "$OUT"/*.txt
