"""How ``word`` analysis grows on real Korean text, and what it projects for 1M passages.

The scale benchmark's 1M-passage ``kiwi-bm25-word`` build reuses a few tens of thousands of
distinct words (its passages recombine one file's sentences), fewer than a real corpus of that
size would have. This script measures what a real corpus adds: on every real Korean text given
(KorQuAD passages and questions, KLUE STS and KorSTS sentences; read, never copied), it fits
Heaps' law (distinct words = K · words^beta) to the growth of distinct whitespace words, times
Kiwi on those distinct words alone and ``context`` analysis on the same texts, and projects the
distinct words, and their analysis time, of a corpus of ``--words`` words.

    python examples/word_analysis_growth.py $DATA/korquad-1.0/KorQuAD_v1.0_dev.json \\
        $DATA/klue-sts/klue_sts_train.csv $DATA/korsts/sts-train.tsv \\
        --words 75000000 --output results/scale_analysis_words.json
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np


def real_texts(paths: list[Path]) -> list[str]:
    """The texts of MRC JSON files (passages, questions) and STS CSV/TSV files (sentences)."""
    from lc_klue.data import load_mrc, unique_contexts

    texts: list[str] = []
    for path in paths:
        if path.suffix == ".json":
            data = load_mrc(path)
            texts += list(unique_contexts(data)["context"]) + list(data["question"])
        else:
            with path.open(encoding="utf-8", newline="") as f:
                rows = csv.DictReader(f, delimiter="\t" if path.suffix == ".tsv" else ",")
                texts += [r[c] for r in rows for c in ("sentence1", "sentence2") if r.get(c)]
    return texts


def heaps(texts: list[str], seed: int = 0) -> dict[str, float]:
    """Heaps' law fitted (least squares in log-log) to distinct words against words read,
    texts in a seeded random order, on the second half of 20 log-spaced checkpoints."""
    order = np.random.default_rng(seed).permutation(len(texts))
    words = [w for i in order for w in texts[i].split()]
    marks = np.unique(np.geomspace(1000, len(words), 20).astype(int))
    seen: set[str] = set()
    growth, done = [], 0
    for mark in marks:
        seen.update(words[done:mark])
        done = mark
        growth.append((int(mark), len(seen)))
    n, v = np.log(np.asarray(growth[len(growth) // 2 :], dtype=float)).T
    beta, log_k = np.polyfit(n, v, 1)
    return {"words": len(words), "distinct": len(seen), "beta": beta, "k": float(np.exp(log_k))}


def rates(texts: list[str]) -> dict[str, float]:
    """Seconds of ``context`` analysis of ``texts`` and of Kiwi on their distinct words."""
    from lc_klue.text import kiwi_tokenize

    kiwi_tokenize(["워밍업 문장입니다."])
    start = time.perf_counter()
    kiwi_tokenize(texts)
    context_s = time.perf_counter() - start
    distinct = list(dict.fromkeys(w for t in texts for w in t.split()))
    start = time.perf_counter()
    kiwi_tokenize(distinct)  # each distinct word alone: what word analysis sends to Kiwi
    words_s = time.perf_counter() - start
    return {
        "context_s": context_s,
        "word_s": words_s,
        "distinct_words_per_s": len(distinct) / words_s,
    }


def main(argv: list[str] | None = None) -> int:
    from lc_klue.errors import DataError
    from lc_klue.storage import atomic_write_text, refuse_existing

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("texts", nargs="+", type=Path, help="MRC .json, STS .csv or .tsv files")
    p.add_argument("--words", type=int, required=True, help="words of the corpus to project")
    p.add_argument("--output", type=Path, required=True)
    p.add_argument("--overwrite", action="store_true")
    args = p.parse_args(argv)
    try:
        refuse_existing(args.output, "result file", args.overwrite)
        texts = real_texts(args.texts)
    except (DataError, OSError) as err:
        p.error(str(err))
    fit, speed = heaps(texts), rates(texts)
    projected = fit["k"] * args.words ** fit["beta"]
    report = {
        "texts": len(texts),
        "files": [path.name for path in args.texts],
        "heaps": fit,
        "analysis": speed,
        "projection": {
            "words": args.words,
            "distinct_words": round(projected),
            "analysis_s": round(projected / speed["distinct_words_per_s"], 1),
        },
    }
    atomic_write_text(args.output, json.dumps(report, ensure_ascii=False, indent=2))
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
