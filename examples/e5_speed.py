"""e5-small on the CPU: encoding KorQuAD's passages and questions with torch (float32) and with
ONNX Runtime int8, and the dense hit@1 / hit@10 of each (KorQuAD 1.0 dev, title split test 0.3,
seed 42, 1,000 sampled test questions over every distinct passage).

    python examples/e5_speed.py ../shared/data/korquad-1.0/KorQuAD_v1.0_dev.json \
        > results/e5_speed.json

The int8 backend needs `pip install -e ".[onnx]"`; its export and quantisation happen on first
use (cached) and a warm-up call runs before every timing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from lc_klue.data import context_id, load_mrc, sample_questions, split_by_title, unique_contexts
from lc_klue.models import KlueEmbeddings
from lc_klue.ranking import retrieval_metrics


def measure(
    backend: str, passages: list[str], ids: list[str], questions: list[str], gold: list[str]
) -> dict:
    """Seconds to encode the passages and the questions, and dense hit@1 / hit@10."""
    emb = KlueEmbeddings(
        model_name_or_path="e5-small",
        backend=None if backend == "torch" else backend,
        show_progress=False,
    )
    emb.embed_documents(passages[:8])
    emb.embed_query(questions[0])
    t0 = time.perf_counter()
    p = np.asarray(emb.embed_documents(passages))
    t1 = time.perf_counter()
    q = emb.client.encode_query(questions, batch_size=emb.batch_size, normalize_embeddings=True)
    t2 = time.perf_counter()
    top = np.argsort(-(q @ p.T), axis=1)[:, :10]
    quality = retrieval_metrics([[ids[j] for j in row] for row in top], gold)
    return {
        "passages": len(passages),
        "questions": len(questions),
        "encode_passages_s": round(t1 - t0, 1),
        "encode_questions_s": round(t2 - t1, 1),
        "hit@1": quality["hit@1"],
        "hit@10": quality["hit@10"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mrc_file")
    parser.add_argument("--backends", default="torch,int8")
    args = parser.parse_args()
    mrc = load_mrc(args.mrc_file)
    questions = sample_questions(split_by_title(mrc, test_size=0.3, seed=42)["test"], 1000, seed=42)
    corpus = unique_contexts(mrc)
    gold = [context_id(c) for c in questions["context"]]
    out = {}
    for backend in args.backends.split(","):
        out[backend] = measure(
            backend,
            list(corpus["context"]),
            list(corpus["context_id"]),
            list(questions["question"]),
            gold,
        )
        print(backend, out[backend], file=sys.stderr)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
