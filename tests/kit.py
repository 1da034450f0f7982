"""Test kit: tiny models built offline in seconds from the bundled fixture text."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from datasets import Dataset
from sentence_transformers import CrossEncoder, SentenceTransformer

from training.models import make_bi_encoder, make_cross_encoder
from training.scratch import build_scratch_base


class TinyModelFactory:
    """Builds (once per session) tiny BERT/RoBERTa base models and wraps them on demand.

    ``base(arch)`` is a from-scratch encoder directory with a tokenizer trained on the fixture
    texts; ``bi_encoder``/``cross_encoder`` return fresh, untrained model objects;
    ``bi_encoder_dir``/``cross_encoder_dir`` save them once and return the directory.
    """

    def __init__(self, root: Path, texts: list[str]) -> None:
        self.root = root
        self.texts = texts
        self.base = cache(self._base)
        self.bi_encoder_dir = cache(self._bi_encoder_dir)
        self.cross_encoder_dir = cache(self._cross_encoder_dir)

    def _base(self, arch: str = "bert") -> Path:
        return build_scratch_base(
            self.texts, self.root / f"base-{arch}", "tiny", arch, max_length=128
        )

    def bi_encoder(self, arch: str = "bert", pooling: str = "mean") -> SentenceTransformer:
        return make_bi_encoder(self.base(arch), pooling=pooling, max_seq_length=128, device="cpu")

    def cross_encoder(self, arch: str = "bert") -> CrossEncoder:
        return make_cross_encoder(self.base(arch), max_length=128, device="cpu")

    def _bi_encoder_dir(self, arch: str = "bert") -> Path:
        out = self.root / f"bi-encoder-{arch}"
        self.bi_encoder(arch).save(str(out))
        return out

    def _cross_encoder_dir(self, arch: str = "bert") -> Path:
        out = self.root / f"cross-encoder-{arch}"
        self.cross_encoder(arch).save_pretrained(str(out))
        return out


def fixture_texts(news_qa: Dataset, sts_pairs: Dataset) -> list[str]:
    """Every text of the fixture corpora (tokenizer training material)."""
    return (
        sorted(set(news_qa["context"]))
        + list(news_qa["question"])
        + list(sts_pairs["sentence1"])
        + list(sts_pairs["sentence2"])
    )
