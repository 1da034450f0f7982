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
from training.args import TrainingArgs
from training.data import DataSource, mrc_card_data, mrc_splits, positives
from training.evaluation import dense_retrieval_metrics, pair_evaluator, primary
from training.models import model_prompt, stage_prompts
from training.negatives import bm25_negatives
from training.outputs import StageResult
from training.runner import StageContext, StagePlan, run_stage

#: Where the MRC stage's negatives come from (besides the other passages of each batch).
MRC_NEGATIVES = ("in-batch", "bm25")


def train_mrc(
    output_dir: str | Path,
    *,
    model: str | Path,
    train_data: DataSource = "klue",
    test_data: DataSource | None = None,
    test_size: float = 0.3,
    dev_size: float = 0.0,
    pairs: str = "questions",
    pooling: str = "mean",
    pair_questions: int = 100,
    eval_questions: int | None = None,
    negatives: str = "in-batch",
    num_negatives: int = 1,
    args: TrainingArgs | None = None,
) -> StageResult:
    """Fine-tune a bi-encoder (normally the STS stage's output) on question/passage pairs.

    ``train_data``/``test_data``: ``"klue"`` (KLUE MRC train/validation from the hub), a local
    MRC file or a Dataset. Without ``test_data`` the training data is split by title
    (``test_size``, seeded); ``dev_size`` of the training titles are then held out as dev
    (not trained on; the benchmark tunes fusion weights on them). ``pairs="ict"`` trains on
    inverse-cloze pairs of any passage collection instead of questions (no questions needed).
    ``model`` may also be a base LM or ``scratch:SIZE`` (pooling added). Retrieval metrics
    use ``eval_questions`` held-out questions (the book's seeded sample; None: 1000, or 200
    when ``max_steps`` caps training) against all distinct held-out passages.
    ``negatives="bm25"`` adds each question's ``num_negatives`` best BM25 passages among the
    training passages that are not its own (other paragraphs of the same article included:
    what a first stage confuses) as explicit negatives. A model with
    ``query``/``document`` prompts (e5-small) sees questions and passages with them.
    """
    if negatives not in MRC_NEGATIVES:
        raise DataError(f"unknown negatives {negatives!r}; choose from {', '.join(MRC_NEGATIVES)}")

    def plan(ctx: StageContext) -> StagePlan:
        seed = ctx.args.seed
        parts = mrc_splits(train_data, test_data, test_size, seed, dev_size, pairs)
        train, test = parts["train"], parts["test"]
        if len(set(test["title"])) < 2:
            raise DataError(
                "MRC test data: the pair evaluation needs at least 2 titles "
                f"(found {len(set(test['title']))}; give more titles or --test-data)"
            )
        base = ctx.base_model(
            model, lambda: list(train["question"]) + sorted(set(train["context"]))
        )
        st = ctx.bi_encoder(base, pooling)
        query, document = model_prompt(st, "query"), model_prompt(st, "document")
        pairs_eval = pair_evaluator(test, pair_questions, seed, prompts=(query, document))
        questions = sample_questions(test, ctx.eval_questions(eval_questions), seed=seed)
        corpus = unique_contexts(test)

        def evaluate() -> dict[str, float]:
            return {
                "pair_spearman": primary(pairs_eval, st),
                **dense_retrieval_metrics(st, questions, corpus, ctx.args.show_progress),
            }

        return StagePlan(
            model=st,
            train_dataset=mrc_examples(train, negatives, num_negatives),
            loss=MultipleNegativesRankingLoss(st),
            evaluate=evaluate,
            card={
                "description": "Bi-encoder fine-tuned on (question, passage) pairs with "
                "in-batch negatives"
                + (
                    f" and {num_negatives} BM25-mined negative(s) per question (same-article "
                    "paragraphs included)"
                    if negatives == "bm25"
                    else ""
                )
                + " (MultipleNegativesRankingLoss, no-duplicate batches).",
                "base_model": str(model),
                "data": mrc_card_data(
                    train_data, parts, test_data, len(corpus), test_size, seed, pair_questions
                )
                | {
                    "retrieval_evaluation": f"{len(questions)} test questions (seed {seed}) "
                    f"over {len(corpus)} test passages",
                },
            },
            args_kwargs={"batch_sampler": BatchSamplers.NO_DUPLICATES},
            hyperparameters={
                "batch_sampler": "no_duplicates",
                "negatives": negatives,
                **({"num_negatives": num_negatives} if negatives != "in-batch" else {}),
            },
            prompts=stage_prompts(
                st,
                {"question": "query", "context": "document"}
                | {f"negative_{i}": "document" for i in range(num_negatives)},
            ),
        )

    return run_stage("mrc", output_dir, args, plan)


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
