#!/usr/bin/env bash
# Reproduce the kiwi:static rows of results/: the three stages on the Kiwi base, CPU, real data.
#   STS: KLUE STS train (10% held out, seed 42) → evaluated on KLUE STS dev (klue_sts_val.csv).
#   MRC + cross-encoder: KorQuAD 1.0 dev split by title (test_size 0.3, seed 42); 15% of the
#   training titles are held out as dev (--dev-size 0.15, never trained on) so that
#   `lc-klue benchmark --dev-size 0.15` can tune fusion weights on them honestly.
# Usage: training/reproduce_kiwi.sh [DATA_DIR] [MODELS_DIR] [RECORDS_DIR]   (repo root)
#   RECORDS_DIR (default results/rerun/training) receives a copy of each metrics.json; the
#   committed records in results/training/ are never rewritten by this script.
set -euo pipefail
DATA=${1:-${LC_KLUE_DATA_DIR:-../shared/data}}
OUT=${2:-models/kiwi/static}
RECORDS=${3:-results/rerun/training}
STS_TRAIN=$DATA/klue-sts/klue_sts_train.csv
STS_DEV=$DATA/klue-sts/klue_sts_val.csv
KORQUAD=$DATA/korquad-1.0/KorQuAD_v1.0_dev.json
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$RECORDS"
T="/usr/bin/time -v"
SPLIT=(--data "$KORQUAD" --test-size 0.3 --dev-size 0.15 --seed 42)

dir=$OUT
mkdir -p "$dir"
# 1. STS bi-encoder on the Kiwi base (learning rate: the Kiwi model's own default).
$T lc-klue train sts "$dir/sts" --model kiwi:static --data "$STS_TRAIN" \
  --test-data "$STS_DEV" --epochs 1 --batch-size 32 --warmup-steps 0 --max-length 128 \
  --seed 42 --no-progress --overwrite 2> "$dir/sts.time"
# 2. MRC bi-encoder from the STS model: MNR, no-duplicate batches, 1 epoch.
$T lc-klue train mrc "$dir/mrc" --model "$dir/sts" "${SPLIT[@]}" --epochs 1 --batch-size 32 \
  --warmup-steps 0 --max-length 256 --eval-questions 1000 --no-progress --overwrite \
  2> "$dir/mrc.time"
# 3. Cross-encoder on the Kiwi base: 7 BM25 negatives per question (other paragraphs of the
#    same article included), listwise loss; evaluated by reranking BM25's top 30. The static
#    interaction model (517 weights) trains 3 epochs in minutes (1 epoch: BM25-top-30 hit@1
#    0.892, 3 epochs: 0.913 on the test passages).
$T lc-klue train cross-encoder "$dir/cross-encoder" --model kiwi:static "${SPLIT[@]}" \
  --negatives bm25 --num-negatives 7 --loss listwise --epochs 3 --batch-size 16 \
  --warmup-steps 0 --max-length 256 --eval-questions 1000 --no-progress --overwrite \
  2> "$dir/cross-encoder.time"
for stage in sts mrc cross-encoder; do
  cp "$dir/$stage/metrics.json" "$RECORDS/kiwi-static-$stage.json"
done
grep -H "Maximum resident\|Elapsed (wall" "$dir"/*.time
