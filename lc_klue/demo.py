"""The offline demo (``lc-klue demo``): the whole method on the bundled Korean news corpus.

1. Trains the three models from scratch on the bundled data (cached after the first run):
   a tokenizer + small BERT, the STS bi-encoder (``sts_pairs.csv``), its MRC fine-tune and a
   cross-encoder (the news questions of the training titles).
2. Builds the index and its retrieval pipeline (``lc-klue index``): FAISS and BM25 indexes of
   every news passage, BM25 + lexical fusion, and the trained models only where their quick
   check finds them better than chance (each verdict is printed).
3. Answers sample questions of the held-out titles with that pipeline and cites the sources
   (extractive answer, no LLM).
4. Prints the hit-rate table of the book's three configurations beside BM25, hybrid and
   lexical fusion.

The models are tiny and trained on 160 sentence pairs and a few dozen questions, so their
numbers only show that every stage runs; real numbers come from ``lc-klue benchmark``.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from lc_klue.data import load_mrc, load_sts, split_by_title
from lc_klue.resources import NEWS_QA, STS_PAIRS
from lc_klue.storage import home_dir

#: The configurations of the demo's table (see ``lc_klue.bench.configs.CONFIGS``).
DEMO_CONFIGS = (
    "sts",
    "mrc",
    "mrc+ce",
    "bm25",
    "hybrid",
    "hybrid+ce",
    "hybrid+ce-rrf",
    "fusion-lex",
)
TEST_SIZE = 0.3
SEED = 42
#: Why the stage check may find a learned stage below the one before it in the demo (told as
#: information, not as a failure; the benchmark's own runs keep the check).
STAGE_DROPS_EXPECTED = (
    "the demo's models are tiny, trained from scratch on 160 sentence pairs and a few dozen "
    "questions, so a learned stage may well lose to BM25 and its lexical fusion on these 32 "
    "news passages; `lc-klue benchmark` with trained models is where the check counts"
)
#: Bump when the demo's training code changes, so cached models are rebuilt.
RECIPE_VERSION = 3


def default_cache_dir() -> Path:
    """``$LC_KLUE_HOME/demo`` or ``~/.cache/lc-klue/demo``."""
    return home_dir("demo")


@dataclass(frozen=True)
class DemoModels:
    """Directories of the demo's trained models."""

    sts: Path
    mrc: Path
    cross_encoder: Path
    reused: bool


@dataclass(frozen=True)
class Recipe:
    """How the demo trains: model size and epochs of each stage."""

    size: str = "mini"
    sts_epochs: int = 4
    mrc_epochs: int = 6
    ce_epochs: int = 4
    version: int = RECIPE_VERSION


#: The demo's recipe, and a smoke-test one (``--quick``: tiny models, one epoch each).
FULL = Recipe()
QUICK = Recipe(size="tiny", sts_epochs=1, mrc_epochs=1, ce_epochs=1)


def train_demo_models(
    cache_dir: str | Path,
    *,
    recipe: Recipe = FULL,
    retrain: bool = False,
    show_progress: bool = True,
) -> DemoModels:
    """Train (or reuse) the demo's STS, MRC and cross-encoder models under ``cache_dir``."""
    root = Path(cache_dir) / "models"
    models = DemoModels(root / "sts", root / "mrc", root / "cross-encoder", reused=True)
    key = {**asdict(recipe), "seed": SEED, "test_size": TEST_SIZE}
    done = root / "recipe.json"
    dirs = (models.sts, models.mrc, models.cross_encoder)
    fresh = done.exists() and json.loads(done.read_text()) == key
    if not retrain and fresh and all((d / "metrics.json").exists() for d in dirs):
        return models
    done.unlink(missing_ok=True)
    _train_stages(models, root / "base", recipe, show_progress)
    done.parent.mkdir(parents=True, exist_ok=True)
    done.write_text(json.dumps(key))
    return DemoModels(models.sts, models.mrc, models.cross_encoder, reused=False)


def _train_stages(models: DemoModels, base_dir: Path, recipe: Recipe, show_progress: bool) -> None:
    """Build the from-scratch base on every training text, then train the three stages on
    it; the cross-encoder's encoder starts from the MRC model (as in results/training.md)."""
    from training.args import CrossEncoderSettings, TrainingArgs
    from training.cross_encoder import train_cross_encoder
    from training.mrc import train_mrc
    from training.scratch import build_scratch_base
    from training.sts import train_sts

    news = split_by_title(load_mrc(NEWS_QA), TEST_SIZE, seed=SEED)
    sts = load_sts(STS_PAIRS)
    train, test = news["train"], news["test"]
    texts = (
        list(sts["sentence1"])
        + list(sts["sentence2"])
        + sorted(set(train["context"]))
        + list(train["question"])
    )
    base = build_scratch_base(texts, base_dir, recipe.size, seed=SEED)
    # Learning rates well above the book's 2e-5: the weights start random. The cache is the
    # demo's own, so its models are replaced when the recipe changes.
    common = TrainingArgs(
        seed=SEED, show_progress=show_progress, warmup_steps=10, resume=False, overwrite=True
    )
    held_out = replace(common, train_data=train, test_data=test)
    train_sts(
        models.sts,
        base,
        args=replace(
            common, train_data=sts, epochs=recipe.sts_epochs, learning_rate=2e-4, max_length=64
        ),
    )
    train_mrc(
        models.mrc,
        models.sts,
        args=replace(held_out, epochs=recipe.mrc_epochs, learning_rate=2e-4, max_length=192),
    )
    train_cross_encoder(
        models.cross_encoder,
        models.mrc,
        CrossEncoderSettings(num_negatives=3),
        replace(held_out, epochs=recipe.ce_epochs, learning_rate=5e-4, max_length=256),
    )


def run_demo(
    cache_dir: str | Path | None = None,
    *,
    retrain: bool = False,
    quick: bool = False,
    n_answers: int = 3,
    show_progress: bool = True,
    out: TextIO | None = None,
) -> dict[str, Any]:
    """Run the whole demo; print answers and the table (to ``out``, default stdout); return
    the benchmark result."""
    out = out or sys.stdout
    from lc_klue.bench.report import benchmark_markdown, write_benchmark
    from lc_klue.bench.run import run_benchmark
    from lc_klue.bench.settings import (
        BenchmarkSettings,
        DataSettings,
        GridSettings,
        ModelSettings,
        SpeedSettings,
    )

    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    print(f"lc-klue demo — bundled Korean news Q&A ({NEWS_QA.name}), cache {cache}", file=out)
    print("1/4 training tiny models from scratch (cached after the first run)…", file=out)
    models = train_demo_models(
        cache, recipe=QUICK if quick else FULL, retrain=retrain, show_progress=show_progress
    )
    if models.reused:
        print("    reused the cached models (use --retrain to train again)", file=out)

    index_dir = _build_index(models, cache / "index", out)
    print("3/4 answering questions of held-out articles (saved pipeline, extractive):", file=out)
    test = split_by_title(load_mrc(NEWS_QA), TEST_SIZE, seed=SEED)["test"]
    _answer(index_dir, test, n_answers, out)

    print(
        "\n4/4 hit rates through the retriever interface (held-out titles, all passages):", file=out
    )
    settings = BenchmarkSettings(
        data=DataSettings(NEWS_QA, protocols=("full",), test_size=TEST_SIZE, seed=SEED),
        models=ModelSettings(str(models.sts), str(models.mrc), str(models.cross_encoder)),
        grid=GridSettings(configs=DEMO_CONFIGS, k=30, top_n=10, latency_queries=10),
        speed=SpeedSettings(queries=len(test)),
        show_progress=show_progress,
        stage_drops_expected=STAGE_DROPS_EXPECTED,
        extra={"note": "tiny models trained from scratch on the bundled demo data (CPU)"},
    )
    result = run_benchmark(settings)
    written = write_benchmark(result, cache / "results", "demo")
    print(benchmark_markdown(result), file=out)
    print(f"\nresults: {', '.join(str(p) for p in written.values())}", file=out)
    return result


def _build_index(models: DemoModels, index_dir: Path, out: TextIO) -> Path:
    """Index the news passages with the demo's models (``lc-klue index``); print the verdict
    of each model's quick check."""
    from lc_klue.retrieval import IndexSettings, build_index
    from lc_klue.retrieval.index import saved_pipeline

    print(
        "2/4 building the index and its pipeline (BM25 + lexical fusion, checked models)…", file=out
    )
    build_index(
        NEWS_QA,
        index_dir,
        IndexSettings(
            embedding_model=str(models.mrc),
            kinds=("dense", "bm25"),
            cross_encoder=str(models.cross_encoder),
        ),
    )
    saved = saved_pipeline(index_dir)
    for check in saved.checks if saved is not None else []:
        print(f"    {check.get('line')}", file=out)
    return index_dir


def _answer(index_dir: Path, test: Any, n_answers: int, out: TextIO) -> None:
    """Answer ``n_answers`` questions spread over ``test`` with the saved pipeline."""
    from lc_klue.chain import build_rag_chain, format_answer
    from lc_klue.retrieval import IndexOverrides, open_index

    chain = build_rag_chain(open_index(index_dir, IndexOverrides(top_n=3)))
    step = max(1, len(test) // max(1, n_answers))
    for row in test.select(range(0, min(len(test), step * n_answers), step)):
        result = chain.invoke(row["question"])
        print(f"\n질문: {row['question']}  (정답: {', '.join(row['answers']['text'])})", file=out)
        print(format_answer(result), file=out)
