"""Stage 3: a cross-encoder reranker (one output) trained on relevant and irrelevant pairs.

Binary cross-entropy on (question, passage, 1/0). Negatives are the book's random passage of
another title (``"random"``) or passages of other titles that a bi-encoder ranks highest for
the question (``"hard"``, :mod:`training.negatives`). Evaluated before and after training with
the book's pair correlation and with reranking metrics on held-out questions: the candidates of
each question are the bi-encoder's top ``candidates`` passages when a bi-encoder is given,
otherwise its gold passage plus ``candidates - 1`` random passages of other titles.
"""

from __future__ import annotations

from pathlib import Path

from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

from lc_klue.data import relevance_pairs, sample_questions, unique_contexts
from lc_klue.errors import DataError, ModelError
from training.args import TrainingArgs
from training.data import DataSource, mrc_card_data, mrc_splits
from training.evaluation import (
    candidate_lists,
    candidate_metrics,
    correlation_evaluator,
    primary,
    rerank_metrics,
)
from training.models import make_bi_encoder, resolve_base_model
from training.negatives import hard_negative_pairs
from training.outputs import StageResult
from training.runner import StageContext, StagePlan, run_stage

NEGATIVE_KINDS = ("random", "hard")


def train_cross_encoder(
    output_dir: str | Path,
    *,
    base_model: str | Path = "klue/roberta-small",
    negatives: str = "random",
    bi_encoder: str | Path | None = None,
    num_negatives: int = 1,
    candidates: int = 30,
    train_data: DataSource = "klue",
    test_data: DataSource | None = None,
    test_size: float = 0.3,
    pair_questions: int = 100,
    eval_questions: int = 1000,
    args: TrainingArgs | None = None,
) -> StageResult:
    """Train a one-label cross-encoder on relevant/irrelevant (question, passage) pairs.

    Data arguments as in :func:`training.mrc.train_mrc`. ``negatives="hard"`` needs
    ``bi_encoder`` (a sentence-transformers model directory); when given, the bi-encoder also
    supplies the top-``candidates`` passages that the reranking evaluation reorders.
    """
    if negatives not in NEGATIVE_KINDS:
        raise DataError(f"unknown negatives {negatives!r}; choose from {', '.join(NEGATIVE_KINDS)}")
    if negatives == "hard" and bi_encoder is None:
        raise ModelError("negatives='hard' needs a bi-encoder to mine them (--bi-encoder)")
    if num_negatives < 1 or candidates < 2:
        raise DataError("num_negatives must be ≥ 1 and candidates ≥ 2")

    def plan(ctx: StageContext) -> StagePlan:
        seed = ctx.args.seed
        parts = mrc_splits(train_data, test_data, test_size, seed)
        train, test = parts["train"], parts["test"]
        for name, part in (("training", train), ("test", test)):
            if len(set(part["title"])) < 2:
                raise DataError(
                    f"MRC {name} data: pairing questions with irrelevant passages needs at "
                    f"least 2 titles, found {len(set(part['title']))} (give more titles or "
                    "--test-data)"
                )
        retriever = None
        if bi_encoder is not None:
            path = resolve_base_model(bi_encoder)
            if not (Path(path) / "modules.json").exists():
                raise ModelError(f"{bi_encoder}: not a sentence-transformers model directory")
            retriever = make_bi_encoder(path, device=ctx.device)
        base = ctx.base_model(
            base_model, lambda: list(train["question"]) + sorted(set(train["context"]))
        )
        model = ctx.cross_encoder(base)
        if retriever is not None and negatives == "hard":
            train_pairs = hard_negative_pairs(
                retriever, train, num_negatives, show_progress=ctx.args.show_progress
            )
        else:
            train_pairs = relevance_pairs(train, seed=seed)
        corr_eval = correlation_evaluator(test, pair_questions, seed)
        questions = sample_questions(test, eval_questions, seed=seed)
        corpus = unique_contexts(test)
        cands = candidate_lists(questions, corpus, candidates, retriever, seed)

        def evaluate() -> dict[str, float]:
            return {
                "pair_spearman": primary(corr_eval, model),
                **rerank_metrics(
                    model, questions, corpus, cands, show_progress=ctx.args.show_progress
                ),
            }

        source = (
            f"top-{candidates} passages of the bi-encoder {bi_encoder}"
            if retriever is not None
            else f"gold passage + {candidates - 1} random other-title passages (seed {seed})"
        )
        return StagePlan(
            model=model,
            train_dataset=train_pairs,
            loss=BinaryCrossEntropyLoss(model),
            evaluate=evaluate,
            card={
                "description": "Cross-encoder reranker with one output, trained with binary "
                "cross-entropy on relevant (1) and irrelevant (0) question/passage pairs.",
                "base_model": str(base_model),
                "negatives": negatives,
                "data": mrc_card_data(
                    train_data,
                    parts,
                    test_data,
                    len(corpus),
                    test_size,
                    seed,
                    pair_questions,
                    train_note=f"; {len(train_pairs)} pairs ({negatives} negatives, "
                    f"{num_negatives} per question)",
                )
                | {"rerank_evaluation": f"{len(questions)} test questions; candidates: {source}"},
                "first_stage": candidate_metrics(questions, corpus, cands),
            },
        )

    return run_stage("cross-encoder", output_dir, args, plan)
