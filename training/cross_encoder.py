"""Stage 3: a cross-encoder reranker (one output) trained on relevant and irrelevant pairs.

Negatives (:mod:`training.negatives`):

- ``random``: the book's random passage of another title;
- ``bm25``: the question's best BM25 passages, *other paragraphs of its own article
  included* (what the product's first stage gets wrong), ``num_negatives`` per question.

Losses: ``bce`` (the book's binary cross-entropy on (question, passage, 1/0)) or ``listwise``
(a softmax over the gold passage and its negatives). Evaluated before and after training with
the book's pair correlation and by reranking what the product reranks: each held-out
question's BM25 top ``candidates`` (``first_stage="bm25"``, default), a bi-encoder's
(``"dense"``), or its passage among random other-title passages (``"random"``).
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss, ListNetLoss

from lc_klue.data import (
    add_irrelevant_contexts,
    relevance_pairs,
    sample_questions,
    unique_contexts,
)
from lc_klue.errors import DataError, ModelError
from training.args import CrossEncoderSettings, TrainingArgs
from training.data import mrc_card_data, mrc_parts
from training.evaluation import (
    RerankingEvaluator,
    StageEvaluator,
    candidate_lists,
    candidate_metrics,
    correlation_evaluator,
)
from training.models import head_learning_rate, keep_layers, make_bi_encoder, resolve_base_model
from training.negatives import (
    MINING_DEPTH,
    bm25_candidates,
    bm25_negatives,
    listwise_examples,
    pair_examples,
)
from training.outputs import StageResult
from training.runner import StageContext, StagePlan, run_stage


def train_cross_encoder(
    output_dir: str | Path,
    model: str | Path = "klue/roberta-small",
    settings: CrossEncoderSettings | None = None,
    args: TrainingArgs | None = None,
) -> StageResult:
    """Train a one-label cross-encoder on relevant/irrelevant (question, passage) pairs.

    Data arguments (``args``) as in :func:`training.mrc.train_mrc`; ``settings`` choose the
    negatives, the loss and the candidates the evaluation reranks.
    """
    settings = settings or CrossEncoderSettings()
    return run_stage("cross-encoder", output_dir, args, lambda ctx: _plan(ctx, model, settings))


def _plan(ctx: StageContext, model_name: str | Path, settings: CrossEncoderSettings) -> StagePlan:
    """The cross-encoder stage's model, data, loss and evaluation."""
    parts = mrc_parts(ctx.args)
    train, test = parts["train"], parts["test"]
    for name, part, flag in (("training", train, "--data"), ("test", test, "--test-data")):
        if len(set(part["title"])) < 2:
            raise DataError(
                f"MRC {name} data: pairing questions with irrelevant passages needs at "
                f"least 2 titles, found {len(set(part['title']))} (give more titles "
                f"with {flag}, or a larger --test-size)"
            )
    retriever = _retriever(settings.embedding_model, ctx.device)
    base = ctx.base_model(
        model_name, lambda: list(train["question"]) + sorted(set(train["context"]))
    )
    model = ctx.cross_encoder(base)
    kept = keep_layers(model, settings.layers)
    train_set, mined = _training_examples(train, settings, ctx.args.seed)
    questions = sample_questions(test, ctx.eval_questions(), seed=ctx.args.seed)
    corpus = unique_contexts(test)
    cands = _candidates(settings, questions, corpus, retriever, ctx.args.seed)
    pairs = correlation_evaluator(test, ctx.args.pair_questions, ctx.args.seed)
    rerank = RerankingEvaluator(questions, corpus, cands, ctx.args.show_progress)
    n, listwise = settings.num_negatives, settings.loss == "listwise"
    note = f"; {len(train_set)} {'lists' if listwise else 'pairs'} "
    note += f"({settings.negatives} negatives{mined}, {n} per question)"
    return StagePlan(
        model=model,
        train_dataset=train_set,
        loss=ListNetLoss(model) if listwise else BinaryCrossEntropyLoss(model),
        evaluator=StageEvaluator({"pair_spearman": pairs}, [rerank], primary="hit@1"),
        args_kwargs=head_learning_rate(model, ctx.args.learning_rate),
        card={
            "description": "Cross-encoder reranker with one output, trained "
            + (
                "listwise (softmax over the gold passage and its negatives)."
                if listwise
                else "with binary cross-entropy on relevant (1) and irrelevant (0) "
                "question/passage pairs."
            ),
            "base_model": str(model_name),
            "negatives": settings.negatives,
            "data": mrc_card_data(ctx.args, parts, len(corpus), train_note=note)
            | {
                "rerank_evaluation": f"{len(questions)} test questions; candidates: "
                + _source(settings, ctx.args.seed)
            },
            "first_stage": candidate_metrics(questions, corpus, cands),
        },
        hyperparameters={
            "loss": settings.loss,
            "num_negatives": n,
            **({"layers": kept} if settings.layers is not None else {}),
        },
    )


def _retriever(embedding_model: str | Path | None, device: str) -> SentenceTransformer | None:
    """The bi-encoder of the dense candidates, or None."""
    if embedding_model is None:
        return None
    path = resolve_base_model(embedding_model)
    if not (Path(path) / "modules.json").exists():
        raise ModelError(f"{embedding_model}: not a sentence-transformers model directory")
    return make_bi_encoder(path, device=device)


def _candidates(
    settings: CrossEncoderSettings,
    questions: Dataset,
    corpus: Dataset,
    retriever: SentenceTransformer | None,
    seed: int,
) -> list[list[int]]:
    """Each question's candidates to rerank (indices into ``corpus``), from the first stage."""
    n = settings.candidates
    if settings.candidate_source == "bm25":
        found = bm25_candidates(questions["question"], list(corpus["context"]), n)
        return [[j for j, _ in c] for c in found]
    dense = settings.candidate_source == "dense"
    return candidate_lists(questions, corpus, n, retriever if dense else None, seed)


def _source(settings: CrossEncoderSettings, seed: int) -> str:
    """Where the reranking evaluation's candidates come from, in words."""
    n = settings.candidates
    return {
        "bm25": f"BM25-Kiwi top {n} over the test passages",
        "dense": f"top-{n} passages of the bi-encoder {settings.embedding_model}",
        "random": f"gold passage + {n - 1} random other-title passages (seed {seed})",
    }[settings.candidate_source]


def _training_examples(
    train: Dataset, settings: CrossEncoderSettings, seed: int
) -> tuple[Dataset, str]:
    """The training rows of the stage (pairs for ``bce``, lists for ``listwise``) and a note
    on where the negatives came from."""
    bce = settings.loss == "bce"
    if settings.negatives == "random":
        if bce:
            return relevance_pairs(train, seed=seed), ""
        others = add_irrelevant_contexts(train, seed=seed)["irrelevant_context"]
        return listwise_examples(train, others, [[(i, 0.0)] for i in range(len(others))]), ""
    corpus = unique_contexts(train)
    passages = list(corpus["context"])
    _, picked = bm25_negatives(train, passages, list(corpus["context_id"]), settings.num_negatives)
    note = f" from BM25 top {MINING_DEPTH}, same-article paragraphs included"
    if bce:
        return pair_examples(train, passages, picked), note
    return listwise_examples(train, passages, picked), note
