"""Qdrant against FAISS flat and bm25s on one MRC file: same dense top-10, same BM25 hit rates,
and hybrid fusion inside Qdrant against fusion in the package (quality and latency).

    python examples/qdrant_agreement.py DATA [--embedding-model DIR|scratch] [--output JSON]
        [--overwrite]

DATA: an MRC file (e.g. KorQuAD_v1.0_dev.json); every question, searched among every distinct
passage. ``--embedding-model scratch`` (the default) builds an untrained from-scratch
sentence-transformers bi-encoder (tiny BERT, tokenizer trained on the passages): agreement is
about the stores, not about the model's quality; ``hash`` takes the benchmark's deterministic
:class:`~lc_klue.bench.scale.embedding.MorphemeHashEmbeddings`. Prints JSON to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from langchain_core.embeddings import Embeddings

from lc_klue.bench.agreement import AgreementSettings, store_agreement
from lc_klue.bench.scale.embedding import MorphemeHashEmbeddings
from lc_klue.commands import add_overwrite
from lc_klue.data import load_mrc
from lc_klue.errors import DataError
from lc_klue.evaluation.report import write_json
from lc_klue.models import KlueEmbeddings
from lc_klue.storage import refuse_existing


def scratch_embeddings(texts: list[str], out: Path) -> KlueEmbeddings:
    """An untrained tiny BERT bi-encoder whose tokenizer is trained on ``texts``."""
    from training.models import make_bi_encoder
    from training.scratch import build_scratch_base

    base = build_scratch_base(texts, out / "base", "tiny", "bert", max_length=256)
    model = make_bi_encoder(base, max_seq_length=256, device="cpu")
    return KlueEmbeddings.from_model(model, name="scratch:tiny (untrained)", batch_size=64)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path)
    p.add_argument("--embedding-model", default="scratch")
    p.add_argument("--questions", type=int, default=0, help="sample size (0 = every question)")
    p.add_argument("--output", type=Path, help="also write the JSON here")
    add_overwrite(p, "--output")
    args = p.parse_args(argv)
    if args.output:
        try:  # before the run, not after it
            refuse_existing(args.output, "result file", args.overwrite)
        except DataError as e:
            p.error(str(e))
    data = load_mrc(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        embeddings: Embeddings
        if args.embedding_model == "scratch":
            embeddings = scratch_embeddings(sorted(set(data["context"])), Path(tmp))
        elif args.embedding_model == "hash":
            embeddings = MorphemeHashEmbeddings(dimension=128)
        else:
            embeddings = KlueEmbeddings(model_name_or_path=args.embedding_model, device="cpu")
        settings = AgreementSettings(questions=args.questions or None)
        result = store_agreement(data, embeddings, settings)
    result["data"] = args.data.name
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.output:
        write_json(result, args.output)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
