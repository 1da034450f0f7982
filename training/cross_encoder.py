"""Stage 3: a cross-encoder reranker (one output) trained on relevant and irrelevant pairs.

Negatives (:mod:`training.negatives`):

- ``random``: the book's random passage of another title;
- ``hard``: passages of other titles that a bi-encoder ranks highest for the question;
- ``bm25``: the question's best BM25 passages, *other paragraphs of its own article
  included* (what the product's first stage gets wrong), ``num_negatives`` per question.

Losses: ``bce`` (the book's binary cross-entropy on (question, passage, 1/0)) or ``listwise``
(a softmax over the gold passage and its negatives; ``distill`` > 0 also teaches the first
stage's order of the negatives). Evaluated before and after training with the book's pair
correlation and by reranking what the product reranks: each held-out question's BM25 top
``candidates`` (``first_stage="bm25"``, default), a bi-encoder's (``"dense"``), or its passage
among random other-title passages (``"random"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss, ListNetLoss

from lc_klue.data import (
    add_irrelevant_contexts,
    relevance_pairs,
    sample_questions,
    unique_contexts,
)
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
from training.models import head_learning_rate, keep_layers, make_bi_encoder, resolve_base_model
from training.negatives import (
    MINING_DEPTH,
    bm25_candidates,
    bm25_negatives,
    dense_candidates,
    gold_ids,
    gold_scores,
    listwise_examples,
    negatives_for,
    pair_examples,
)
from training.outputs import StageResult
from training.runner import StageContext, StagePlan, run_stage

NEGATIVE_KINDS = ("random", "hard", "bm25")
LOSSES = ("bce", "listwise")
FIRST_STAGES = ("bm25", "dense", "random")


def train_cross_encoder(
    output_dir: str | Path,
    *,
    base_model: str | Path = "klue/roberta-small",
    negatives: str = "random",
    bi_encoder: str | Path | None = None,
    num_negatives: int = 1,
    loss: str = "bce",
    distill: float = 0.0,
    candidates: int = 30,
    first_stage: str | None = None,
    train_data: DataSource = "klue",
    test_data: DataSource | None = None,
    test_size: float = 0.3,
    dev_size: float = 0.0,
    pairs: str = "questions",
    pair_questions: int = 100,
    eval_questions: int | None = None,
    layers: int | None = None,
    args: TrainingArgs | None = None,
) -> StageResult:
    """Train a one-label cross-encoder on relevant/irrelevant (question, passage) pairs.

    Data arguments as in :func:`training.mrc.train_mrc` (``eval_questions`` too: None is
    1000, or 200 when ``max_steps`` caps training). ``layers`` keeps only the base's
    first encoder layers (:func:`training.models.keep_layers`). ``negatives="hard"`` and
    ``first_stage="dense"`` need ``bi_encoder`` (a sentence-transformers model directory).
    ``first_stage`` defaults to ``dense`` when a bi-encoder is given, else ``bm25``.
    """
    if negatives not in NEGATIVE_KINDS:
        raise DataError(f"unknown negatives {negatives!r}; choose from {', '.join(NEGATIVE_KINDS)}")
    if loss not in LOSSES:
        raise DataError(f"unknown loss {loss!r}; choose from {', '.join(LOSSES)}")
    first_stage = first_stage or ("dense" if bi_encoder is not None else "bm25")
    if first_stage not in FIRST_STAGES:
        raise DataError(
            f"unknown first stage {first_stage!r}; choose from {', '.join(FIRST_STAGES)}"
        )
    if (negatives == "hard" or first_stage == "dense") and bi_encoder is None:
        raise ModelError(
            f"{'negatives' if negatives == 'hard' else 'first_stage'}="
            f"{negatives if negatives == 'hard' else first_stage!r} needs a bi-encoder "
            "(--bi-encoder)"
        )
    if num_negatives < 1 or candidates < 2:
        raise DataError("num_negatives must be ≥ 1 and candidates ≥ 2")
    if not 0.0 <= distill < 1.0:
        raise DataError(f"distill must be in [0, 1), got {distill}")

    def plan(ctx: StageContext) -> StagePlan:
        seed = ctx.args.seed
        parts = mrc_splits(train_data, test_data, test_size, seed, dev_size, pairs)
        train, test = parts["train"], parts["test"]
        for name, part, flag in (("training", train, "--data"), ("test", test, "--test-data")):
            if len(set(part["title"])) < 2:
                raise DataError(
                    f"MRC {name} data: pairing questions with irrelevant passages needs at "
                    f"least 2 titles, found {len(set(part['title']))} (give more titles "
                    f"with {flag}, or a larger --test-size)"
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
        kept = keep_layers(model, layers)
        train_set, mined = _training_examples(
            train, negatives, num_negatives, loss, distill, retriever, seed, ctx
        )
        corr_eval = correlation_evaluator(test, pair_questions, seed)
        questions = sample_questions(test, ctx.eval_questions(eval_questions), seed=seed)
        corpus = unique_contexts(test)
        texts = list(corpus["context"])
        if first_stage == "bm25":
            cands = [
                [j for j, _ in c] for c in bm25_candidates(questions["question"], texts, candidates)
            ]
        elif first_stage == "dense":
            cands = candidate_lists(questions, corpus, candidates, retriever, seed)
        else:
            cands = candidate_lists(questions, corpus, candidates, None, seed)

        def evaluate() -> dict[str, float]:
            return {
                "pair_spearman": primary(corr_eval, model),
                **rerank_metrics(
                    model, questions, corpus, cands, show_progress=ctx.args.show_progress
                ),
            }

        source = {
            "bm25": f"BM25-Kiwi top {candidates} over the test passages",
            "dense": f"top-{candidates} passages of the bi-encoder {bi_encoder}",
            "random": f"gold passage + {candidates - 1} random other-title passages (seed {seed})",
        }[first_stage]
        train_loss: Any = BinaryCrossEntropyLoss(model) if loss == "bce" else ListNetLoss(model)
        return StagePlan(
            model=model,
            train_dataset=train_set,
            loss=train_loss,
            evaluate=evaluate,
            args_kwargs=head_learning_rate(model, ctx.args.learning_rate),
            card={
                "description": "Cross-encoder reranker with one output, trained "
                + (
                    "with binary cross-entropy on relevant (1) and irrelevant (0) "
                    "question/passage pairs."
                    if loss == "bce"
                    else "listwise (softmax over the gold passage and its negatives"
                    + (
                        f", distilling the first stage's order with weight {distill}"
                        if distill
                        else ""
                    )
                    + ")."
                ),
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
                    train_note=f"; {len(train_set)} {'pairs' if loss == 'bce' else 'lists'} "
                    f"({negatives} negatives{mined}, {num_negatives} per question)",
                )
                | {"rerank_evaluation": f"{len(questions)} test questions; candidates: {source}"},
                "first_stage": candidate_metrics(questions, corpus, cands),
            },
            hyperparameters={
                "loss": loss,
                "num_negatives": num_negatives,
                "distill": distill,
                **({"layers": kept} if layers is not None else {}),
            },
        )

    return run_stage("cross-encoder", output_dir, args, plan)


def _training_examples(
    train: Any,
    negatives: str,
    n: int,
    loss: str,
    distill: float,
    retriever: Any,
    seed: int,
    ctx: StageContext,
) -> tuple[Any, str]:
    """The training rows of the stage (pairs for ``bce``, lists for ``listwise``) and a note
    on where the negatives came from."""
    if negatives == "random":
        if loss == "bce":
            return relevance_pairs(train, seed=seed), ""
        others = add_irrelevant_contexts(train, seed=seed)["irrelevant_context"]
        return listwise_examples(train, others, [[(i, 0.0)] for i in range(len(others))]), ""
    corpus = unique_contexts(train)
    passages, ids, titles = (
        list(corpus["context"]),
        list(corpus["context_id"]),
        list(corpus["title"]),
    )
    questions = list(train["question"])
    if negatives == "bm25":
        found, picked = bm25_negatives(train, passages, ids, n)
        note = f" from BM25 top {MINING_DEPTH}, same-article paragraphs included"
    else:
        found = dense_candidates(
            retriever, questions, passages, MINING_DEPTH, show_progress=ctx.args.show_progress
        )
        picked = negatives_for(
            found, gold_ids(train), ids, n, titles=titles, question_titles=list(train["title"])
        )
        note = f" from the bi-encoder's top {MINING_DEPTH}, other titles only"
    if loss == "bce":
        return pair_examples(train, passages, picked), note
    golds = gold_scores(found, gold_ids(train), ids)
    return listwise_examples(train, passages, picked, distill, golds), note
