"""Stage 2: fine-tune the STS bi-encoder on (question, passage) pairs of MRC data.

``MultipleNegativesRankingLoss`` with no-duplicate batches (the other passages of a batch are
the negatives). Evaluated before and after training with the book's pair evaluation (100
relevant + 100 irrelevant pairs, Spearman of cosine against 1/0) and with retrieval metrics on
held-out questions over the held-out passages.
"""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from sentence_transformers.base.sampler import BatchSamplers
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

from lc_klue.data import sample_questions, unique_contexts
from lc_klue.errors import DataError
from training.args import MrcSettings, TrainingArgs
from training.data import mrc_card_data, mrc_parts, positives
from training.evaluation import RetrievalEvaluator, StageEvaluator, pair_evaluator
from training.models import model_prompt, stage_prompts
from training.negatives import bm25_negatives
from training.outputs import StageResult
from training.runner import StageContext, StagePlan, run_stage


def train_mrc(
    output_dir: str | Path,
    model: str | Path,
    settings: MrcSettings | None = None,
    args: TrainingArgs | None = None,
) -> StageResult:
    """Fine-tune a bi-encoder (normally the STS stage's output) on question/passage pairs.

    Data (``args``): ``train_data``/``test_data`` are ``"klue"`` (KLUE MRC train/validation
    from the hub), a local MRC file or a Dataset. Without ``test_data`` the training data is
    split by title (``test_size``, seeded); ``dev_size`` of the training titles are then held
    out as dev (not trained on; the benchmark tunes fusion weights on them). ``pairs="ict"``
    trains on inverse-cloze pairs of any passage collection instead of questions. ``model``
    may also be a base LM or ``scratch:SIZE`` (mean pooling added). Retrieval metrics use
    ``eval_questions`` held-out questions (the book's seeded sample) against all distinct
    held-out passages. A model with ``query``/``document`` prompts (e5-small) sees questions
    and passages with them.
    """
    settings = settings or MrcSettings()
    return run_stage("mrc", output_dir, args, lambda ctx: _plan(ctx, model, settings))


def _plan(ctx: StageContext, model_name: str | Path, settings: MrcSettings) -> StagePlan:
    """The MRC stage's model, data, loss and evaluation."""
    seed, negatives, n = ctx.args.seed, settings.negatives, settings.num_negatives
    parts = mrc_parts(ctx.args)
    train, test = parts["train"], parts["test"]
    if len(set(test["title"])) < 2:
        raise DataError(
            "MRC test data: the pair evaluation needs at least 2 titles "
            f"(found {len(set(test['title']))}; give more titles or --test-data)"
        )
    base = ctx.base_model(
        model_name, lambda: list(train["question"]) + sorted(set(train["context"]))
    )
    st = ctx.bi_encoder(base)
    query, document = model_prompt(st, "query"), model_prompt(st, "document")
    pairs_eval = pair_evaluator(test, ctx.args.pair_questions, seed, prompts=(query, document))
    questions = sample_questions(test, ctx.eval_questions(), seed=seed)
    corpus = unique_contexts(test)
    retrieval = RetrievalEvaluator(questions, corpus, ctx.args.show_progress)
    mined = f" and {n} BM25-mined negative(s) per question (same-article paragraphs included)"
    return StagePlan(
        model=st,
        train_dataset=mrc_examples(train, negatives, n),
        loss=MultipleNegativesRankingLoss(st),
        evaluator=StageEvaluator({"pair_spearman": pairs_eval}, [retrieval], primary="hit@1"),
        card={
            "description": "Bi-encoder fine-tuned on (question, passage) pairs with "
            f"in-batch negatives{mined if negatives == 'bm25' else ''} "
            "(MultipleNegativesRankingLoss, no-duplicate batches).",
            "base_model": str(model_name),
            "data": mrc_card_data(ctx.args, parts, len(corpus))
            | {
                "retrieval_evaluation": f"{len(questions)} test questions (seed {seed}) "
                f"over {len(corpus)} test passages",
            },
        },
        args_kwargs={"batch_sampler": BatchSamplers.NO_DUPLICATES},
        hyperparameters={
            "batch_sampler": "no_duplicates",
            "negatives": negatives,
            **({"num_negatives": n} if negatives != "in-batch" else {}),
        },
        prompts=stage_prompts(
            st,
            {"question": "query", "context": "document"}
            | {f"negative_{i}": "document" for i in range(n)},
        ),
    )


def mrc_examples(train: Dataset, negatives: str, num_negatives: int) -> Dataset:
    """``question, context[, negative_0, …]`` rows: each question with its passage and, for
    ``negatives="bm25"``, its best BM25 passages among the training passages that are not its
    own (same-article paragraphs kept)."""
    rows: dict[str, list[str]] = {
        "question": list(train["question"]),
        "context": positives(train),
    }
    if negatives == "bm25":
        corpus = unique_contexts(train)
        passages = list(corpus["context"])
        _, chosen = bm25_negatives(train, passages, list(corpus["context_id"]), num_negatives)
        for i in range(num_negatives):
            # a question whose BM25 list ran short takes a fixed other passage
            rows[f"negative_{i}"] = [
                passages[c[i][0]] if len(c) > i else passages[(n + i + 1) % len(passages)]
                for n, c in enumerate(chosen)
            ]
    return Dataset.from_dict(rows)
