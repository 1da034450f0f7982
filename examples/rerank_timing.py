"""Time cross-encoder reranking of N questions × K candidates on one device and precision.

Candidates are the BM25-Kiwi top K of KorQuAD-style data (real questions and passages); the
pairs of all questions are scored in one length-sorted stream
(:func:`lc_klue.models.reranker.score_pairs_batched`). Prints one JSON line: device, dtype,
backend, pairs, seconds, pairs per second. On a GPU give ``--device cuda --dtype float16`` or
``bfloat16`` (the model is cast, as ``load_cross_encoder`` does); on the CPU ``--backend int8``.

    python examples/rerank_timing.py KorQuAD_v1.0_dev.json models/timing-roberta-small \\
        --device cuda --dtype bfloat16 --questions 1000 --candidates 30
"""

from __future__ import annotations

import json
import time

from lc_klue.cli import Parser
from lc_klue.commands import add_device


def main() -> None:
    """Command line (see the module docstring)."""
    p = Parser(description=__doc__.splitlines()[0])  # usage errors in one line
    p.add_argument("data", help="MRC-format file (questions and passages)")
    p.add_argument("model", help="cross-encoder directory")
    add_device(p)  # checked now: one line and exit 2 when the machine lacks it
    p.add_argument("--dtype", default=None, help="float16 or bfloat16 on a GPU")
    p.add_argument("--backend", default=None, help="torch, onnx, int8 (CPU)")
    p.add_argument("--questions", type=int, default=1000)
    p.add_argument("--candidates", type=int, default=30)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=64)
    args = p.parse_args()

    import torch

    from lc_klue.data import load_mrc, mrc_documents, sample_questions
    from lc_klue.models.reranker import load_cross_encoder, score_pairs_batched
    from lc_klue.retrieval import KiwiBM25Retriever

    data = load_mrc(args.data)
    questions = list(sample_questions(data, args.questions, seed=42)["question"])
    bm25 = KiwiBM25Retriever(docs=mrc_documents(data), k=args.candidates, k1=0.9, b=0.4)
    candidates = [[d.page_content for d in c] for c in bm25.batch(questions)]
    model = load_cross_encoder(
        args.model, args.device, args.max_length, args.dtype, backend=args.backend
    )
    score_pairs_batched(model, questions[:4], candidates[:4], batch_size=args.batch_size)
    if str(model.device).startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    score_pairs_batched(model, questions, candidates, batch_size=args.batch_size)
    if str(model.device).startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    pairs = sum(len(c) for c in candidates)
    device = str(model.device)
    name = torch.cuda.get_device_name(0) if device.startswith("cuda") else "cpu"
    inner = model.model  # no torch parameters in ONNX Runtime
    weight = next(iter(inner.parameters()), None) if inner is not None else None
    print(
        json.dumps(
            {
                "device": device,
                "device_name": name,
                "dtype": str(weight.dtype) if weight is not None else "onnx",
                "backend": args.backend or "torch",
                "questions": len(questions),
                "pairs": pairs,
                "max_length": args.max_length,
                "seconds": round(seconds, 3),
                "pairs_per_s": round(pairs / seconds, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
