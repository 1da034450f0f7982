"""STS pairs as a retrieval task the default pipeline's weights never saw.

    python examples/sts_retrieval.py STS_FILE OUT_DIR [--min-label 4.0]

STS_FILE: KLUE STS or KorSTS (any file ``lc_klue.data.load_sts`` reads). Each pair with a
label of at least ``--min-label`` (of 5) and two different sentences becomes a question
(sentence1) whose gold passage is its sentence2; the search space is every distinct sentence2
of the file. Writes ``OUT_DIR/questions.jsonl`` and ``OUT_DIR/passages.jsonl`` (for
``lc-klue evaluate OUT_DIR/questions.jsonl --corpus OUT_DIR/passages.jsonl``; keep them out
of the repository) and prints hit@1 / MRR@10 of BM25 (bm25s defaults and k1 0.9, b 0.4) and of
the default pipeline on them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lc_klue import PipelineParts, build_pipeline, evaluate_retriever, load_sts
from lc_klue.data import context_id, load_passages, mrc_documents
from lc_klue.evaluation import EvalSettings
from lc_klue.retrieval import PipelineSpec, default_pipeline


def write_task(sts_file: str, out: Path, min_label: float) -> tuple[Path, Path, int]:
    """The question and passage files of the retrieval task, and its question count."""
    pairs = load_sts(sts_file)
    out.mkdir(parents=True, exist_ok=True)
    questions = [
        {"question": a, "context": b}
        for a, b, s in zip(pairs["sentence1"], pairs["sentence2"], pairs["score"], strict=True)
        if s * 5 >= min_label and " ".join(a.split()) != " ".join(b.split())
    ]
    seen: dict[str, str] = {}
    for b in pairs["sentence2"]:
        seen.setdefault(context_id(b), b)
    q_file, p_file = out / "questions.jsonl", out / "passages.jsonl"
    q_file.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in questions), "utf-8")
    p_file.write_text(
        "".join(json.dumps({"context": c}, ensure_ascii=False) + "\n" for c in seen.values()),
        "utf-8",
    )
    return q_file, p_file, len(questions)


def main() -> None:
    """Write the task, then evaluate BM25 and the default pipeline on it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sts_file")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--min-label", type=float, default=4.0)
    args = parser.parse_args()
    from lc_klue.runtime import quiet_output

    q_file, p_file, n = write_task(args.sts_file, args.out_dir, args.min_label)
    corpus = load_passages(p_file)
    questions = [json.loads(line) for line in q_file.read_text("utf-8").splitlines()]
    parts = PipelineParts(mrc_documents(corpus))
    default = default_pipeline().spec
    specs = {
        "BM25 (k1 1.5, b 0.75)": PipelineSpec.checked(top_n=10),
        "BM25 (k1 0.9, b 0.4)": PipelineSpec.checked(first_stage=default.first_stage, top_n=10),
        "default pipeline": default,
    }
    print(f"{args.sts_file}: {n} questions (label >= {args.min_label}), {len(corpus)} passages")
    for name, spec in specs.items():
        with quiet_output():
            retriever = build_pipeline(spec, parts)
        result = evaluate_retriever(
            retriever,
            [q["question"] for q in questions],
            [q["context"] for q in questions],
            corpus=corpus,
            name=name,
            settings=EvalSettings(latency_queries=100, show_progress=False),
        )
        m = result.metrics
        print(
            f"| {name} | {m['hit@1']:.3f} | {m['hit@10']:.3f} | {m['mrr@10']:.3f} | "
            f"{result.latency_p50_ms:.1f} |"
        )


if __name__ == "__main__":
    main()
