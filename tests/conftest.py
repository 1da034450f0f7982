"""Shared fixtures. Everything runs offline: the hub is never contacted in tests."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
if os.environ.get("PYTEST_XDIST_WORKER"):  # one thread per worker: the workers fill the cores
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

from collections.abc import Iterator
from pathlib import Path

import pytest
from datasets import Dataset

from lc_klue.data import load_mrc, load_sts
from lc_klue.resources import NEWS_QA, STS_PAIRS
from tests.kit import TinyModelFactory, fixture_texts, tiny_causal_lm_dir

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("LC_KLUE_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session", autouse=True)
def lc_klue_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """lc-klue's own folder (caches such as the CoNg table) in a temporary place, never the
    user's ``~/.cache/lc-klue``."""
    home = tmp_path_factory.mktemp("lc-klue-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LC_KLUE_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data folder (``LC_KLUE_DATA_DIR``, default ``../shared/data``); skips if absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"real data not found at {DATA_DIR} (set LC_KLUE_DATA_DIR)")
    return DATA_DIR


def shared_file(shared_data: Path, relative: str) -> Path:
    """A file under the real data folder; skips the test if that one file is missing."""
    path = shared_data / relative
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="session")
def news_qa() -> Dataset:
    """The bundled Korean news Q&A corpus (MRC format)."""
    return load_mrc(NEWS_QA)


@pytest.fixture(scope="session")
def sts_pairs() -> Dataset:
    """The bundled Korean STS pairs (score in [0, 1])."""
    return load_sts(STS_PAIRS)


@pytest.fixture(scope="session")
def tiny_models(
    tmp_path_factory: pytest.TempPathFactory, news_qa: Dataset, sts_pairs: Dataset
) -> TinyModelFactory:
    """Factory of tiny from-scratch BERT/RoBERTa bi-encoders and cross-encoders."""
    return TinyModelFactory(
        tmp_path_factory.mktemp("tiny-models"), fixture_texts(news_qa, sts_pairs)
    )


@pytest.fixture(scope="session")
def tiny_causal_lm(tiny_models: TinyModelFactory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer GPT-2 with the tiny Korean tokenizer, fitted to continue ``LM_TEXT``."""
    return tiny_causal_lm_dir(tiny_models, tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, str]:
    """The offline demo run once with the quick recipe: its cache folder, result and output."""
    import io

    from lc_klue.demo import run_demo

    cache = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    result = run_demo(cache, quick=True, n_answers=2, show_progress=False, out=out)
    return cache, result, out.getvalue()
