#!/usr/bin/env bash
# Reproduce results/training.md: the three stages trained FROM SCRATCH on CPU on the real data.
#   STS: KLUE STS train (10% held out, seed 42) → evaluated on KLUE STS dev (klue_sts_val.csv).
#   MRC + cross-encoder: KorQuAD 1.0 dev split by title (test_size 0.3, seed 42): train titles
#   for training, test titles for evaluation.
# Usage: training/reproduce_real.sh [DATA_DIR] [MODELS_DIR] [FIRST_STAGE] [RECORDS_DIR]  (repo root)
#   RECORDS_DIR (default results/rerun/training) receives a copy of each metrics.json; the
#   committed records in results/training/ are never rewritten by this script.
#   FIRST_STAGE: base (default), sts, mrc or cross-encoder: skip the stages before it.
set -euo pipefail
DATA=${1:-${LC_KLUE_DATA_DIR:-../shared/data}}
OUT=${2:-models/real}
FIRST=${3:-base}
STAGES=(base sts mrc cross-encoder)
run_from() { # true when stage $1 is FIRST or comes after it
  local seen=0 s
  for s in "${STAGES[@]}"; do [[ $s == "$FIRST" ]] && seen=1; [[ $s == "$1" ]] && return $((1 - seen)); done
  return 1
}
STS_TRAIN=$DATA/klue-sts/klue_sts_train.csv
STS_DEV=$DATA/klue-sts/klue_sts_val.csv
KORQUAD=$DATA/korquad-1.0/KorQuAD_v1.0_dev.json
# One torch thread: the 2 cores were shared with other jobs, where 2 OpenMP threads per process
# ran several times slower than 1 (measured).
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
RECORDS=${4:-results/rerun/training}
mkdir -p "$OUT" "$RECORDS"
T="/usr/bin/time -v"

# 0. One shared from-scratch base (BERT mini: 128 hidden, 2 layers, 8k WordPiece vocabulary)
#    whose tokenizer is trained on every training text: KLUE STS train sentences + questions
#    and passages of the KorQuAD training titles (never the test titles).
run_from base && $T lc-klue train base "$OUT/base" --sts "$STS_TRAIN" --mrc "$KORQUAD" --test-size 0.3 \
  --size mini --arch bert --max-length 512 --seed 42 2> "$OUT/base.time"

# 1. STS bi-encoder: mean pooling, CosineSimilarityLoss, the book's 4 epochs x batch 16,
#    warm-up 100; a higher learning rate than the book's 2e-5 because the model starts from
#    random weights.
run_from sts && $T lc-klue train sts "$OUT/sts" --model "$OUT/base" --data "$STS_TRAIN" \
  --test-data "$STS_DEV" --epochs 4 --batch-size 16 --warmup-steps 100 \
  --learning-rate 3e-4 --save-steps 100 --max-length 64 --seed 42 --no-progress 2> "$OUT/sts.time"

# 2. MRC bi-encoder from the STS model: MultipleNegativesRankingLoss, no-duplicate batches,
#    batch 16, warm-up 100; 3 epochs instead of the book's 1 (a from-scratch model needs more).
run_from mrc && $T lc-klue train mrc "$OUT/mrc" --model "$OUT/sts" --data "$KORQUAD" --test-size 0.3 \
  --epochs 3 --batch-size 16 --warmup-steps 100 --learning-rate 2e-4 --max-length 256 \
  --save-steps 100 --eval-questions 1000 --seed 42 --no-progress 2> "$OUT/mrc.time"

# 3. Cross-encoder, encoder initialised from the MRC model (all from scratch on this data),
#    random other-title negatives (the book's); reranking evaluation on the MRC bi-encoder's
#    top-30 candidates for 200 held-out questions. Batch 16, warm-up 100 as in the book, but
#    3 epochs and lr 5e-4: from scratch, BCE sits at ln 2 for the first ~600 steps (measured).
run_from cross-encoder && $T lc-klue train cross-encoder "$OUT/cross-encoder" --model "$OUT/mrc" --data "$KORQUAD" \
  --test-size 0.3 --negatives random --embedding-model "$OUT/mrc" --candidates 30 \
  --epochs 3 --batch-size 16 --warmup-steps 100 --learning-rate 5e-4 --max-length 256 \
  --save-steps 100 --eval-questions 200 --seed 42 --no-progress 2> "$OUT/cross-encoder.time"

for stage in sts mrc cross-encoder; do
  cp "$OUT/$stage/metrics.json" "$RECORDS/$stage.json"
done
grep -H "Maximum resident\|Elapsed (wall" "$OUT"/*.time
