"""A cross-encoder over Kiwi morphemes that scores how a question's terms meet a passage.

:class:`KiwiInteraction` is the reranker built on a ``kiwi:static`` base: a sentence-
transformers input module for a ``CrossEncoder``. It compares every content morpheme of the
question with every content morpheme of the passage (kernel pooling, as in K-NRM, Xiong et al.
2017):

- an **exact** kernel (same ``form/tag``, unknown names included) and **soft** kernels over the
  cosine of the morphemes' CoNg vectors (축구 meets 야구);
- each kernel's soft term frequency, ``log1p``-saturated per question term, over the whole
  passage and in its best window of ``windows`` morphemes (answer sentences gather the
  question's terms: that is what separates paragraphs of one article);
- the same per Kiwi sentence, best sentence kept (the answer sentence);
- a BM25-style saturation of the exact matches (``k1``, ``b`` learned);
- the share of the question's character bigrams and of its morpheme pairs (phrases) found in
  the passage;
- question terms weighted by a learned function of their IDF; passage and question lengths.

A small MLP turns these features into the score. The morpheme vectors stay frozen (they come
from the base), so the model learns a few hundred weights: it trains in minutes on CPU from a
few thousand questions.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Self

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lc_klue.errors import ModelError
from lc_klue.models.kiwi_vocab import KiwiVocab
from lc_klue.models.module_io import SavedModule
from lc_klue.text import char_ngrams, same_kiwi_model

#: Centres of the soft kernels (cosine of CoNg vectors) and their width.
SOFT_KERNELS = (0.9, 0.7, 0.5, 0.3)
SOFT_WIDTH = 0.1
#: Passage length (content morphemes) at which the length normalisation is neutral.
LENGTH_SCALE = 100.0


def _softplus_inverse(y: float) -> float:
    return math.log(math.expm1(y))


@dataclass(frozen=True)
class KiwiInteractionConfig:
    """Settings of a :class:`KiwiInteraction` (its saved JSON configuration)."""

    dim: int = 256
    """Size of the morpheme vectors (the ``kiwi:static`` base's semantic part)."""
    oov_buckets: int = 16_384
    """Hash buckets for morphemes outside Kiwi's table (as the base's)."""
    windows: tuple[int, ...] = (8, 16, 32)
    """Window sizes (morphemes) of the best-window features."""
    hidden: int = 16
    """Hidden units of the scoring MLP."""
    max_seq_length: int = 400
    """Passage morphemes read."""
    max_query_length: int = 64
    """Question morphemes read."""
    kiwi_model: str | None = None
    """kiwipiepy-model version the module was built with (None: the installed one)."""


class KiwiInteraction(SavedModule):
    """(question, passage) → relevance score from kernel-pooled morpheme interactions."""

    config_file_name = "kiwi_interaction_config.json"
    config_keys = [f.name for f in fields(KiwiInteractionConfig)]  # noqa: RUF012 (as on the base)
    #: Learning rate the training stages use unless one is given.
    default_learning_rate: ClassVar[float] = 1e-2

    def __init__(
        self,
        settings: KiwiInteractionConfig | None = None,
        vectors: torch.Tensor | np.ndarray | None = None,
        idf: torch.Tensor | np.ndarray | None = None,
    ) -> None:
        """``vectors`` (rows × ``dim``, frozen) and ``idf`` (one per row) come from a
        ``kiwi:static`` base; zero vectors and IDF 1 when None."""
        super().__init__()
        settings = settings or KiwiInteractionConfig()
        self.settings = replace(
            settings,
            windows=tuple(int(w) for w in settings.windows),
            kiwi_model=same_kiwi_model(settings.kiwi_model),
        )
        self.vocab = KiwiVocab(settings.oov_buckets, content_only=True)
        self.max_seq_length = settings.max_seq_length
        dim, hidden = settings.dim, settings.hidden
        rows = self.vocab.size
        table = torch.zeros(rows, dim) if vectors is None else torch.as_tensor(vectors).float()
        weights = torch.ones(rows) if idf is None else torch.as_tensor(idf).float()
        if tuple(table.shape) != (rows, dim) or tuple(weights.shape) != (rows,):
            raise ValueError(f"vectors must be ({rows}, {dim}) and idf ({rows},)")
        self.register_buffer("vectors", F.normalize(table, dim=-1))
        self.register_buffer("idf", weights)
        self.register_buffer("centres", torch.tensor(SOFT_KERNELS))
        kernels = 1 + len(SOFT_KERNELS)
        self.term_weight = nn.Linear(1, 1)
        with torch.no_grad():
            self.term_weight.weight.fill_(1.0)
            self.term_weight.bias.fill_(0.0)
        # BM25-style saturation of exact matches: k1 = softplus(.), b = sigmoid(.)
        self.saturation = nn.Parameter(torch.tensor([_softplus_inverse(0.9), -0.405]))
        self.mlp = nn.Sequential(
            nn.Linear(kernels * (2 + len(self.settings.windows)) + 5, hidden),
            nn.Tanh(),
            nn.Linear(hidden, 1),
        )

    # ------------------------------------------------------------------ inputs

    def preprocess(
        self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """Rows and ``form/tag`` hashes of the content morphemes of each (question, passage)."""
        if inputs and all(isinstance(x, str) for x in inputs):
            # Single texts: sentence-transformers' model card asks for token counts of each
            # training column; this model only scores pairs, so it has none to give.
            return {}
        if any(isinstance(x, str) or len(x) != 2 for x in inputs):
            raise ModelError("KiwiInteraction scores (question, passage) pairs")
        questions = [str(q) for q, _ in inputs]
        if prompt:
            questions = self._prepend_prompt(questions, prompt)
        passages = [str(p) for _, p in inputs]
        q = [
            (r[: self.settings.max_query_length], h[: self.settings.max_query_length])
            for r, h, _ in self.vocab.encode_keys(questions)
        ]
        p = [
            (
                e.rows[: self.max_seq_length],
                e.hashes[: self.max_seq_length],
                e.sentences[: self.max_seq_length],
            )
            for e in self.vocab.encode_keys(passages)
        ]
        q_rows, q_hash = _pad([r for r, _ in q], [h for _, h in q])
        p_rows, p_hash = _pad([r for r, _, _ in p], [h for _, h, _ in p])
        p_sentence, _ = _pad([s for _, _, s in p], [s for _, _, s in p])
        surface = [
            _surface(question, q_h, passage, p_h)
            for question, (_, q_h), passage, (_, p_h, _) in zip(
                questions, q, passages, p, strict=True
            )
        ]
        return {
            "q_rows": q_rows,
            "q_hash": q_hash,
            "p_rows": p_rows,
            "p_hash": p_hash,
            "p_sentence": p_sentence,
            "surface": torch.tensor(surface, dtype=torch.float32).reshape(len(inputs), 2),
        }

    # ------------------------------------------------------------------ forward

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        """``scores``: one relevance score per pair."""
        q_rows, p_rows = features["q_rows"], features["p_rows"]
        q_mask, p_mask = (q_rows >= 0).float(), (p_rows >= 0).float()
        q_vec = self.vectors[q_rows.clamp_min(0)]
        p_vec = self.vectors[p_rows.clamp_min(0)]
        cosine = torch.einsum("bqd,bpd->bqp", q_vec, p_vec)
        exact = (features["q_hash"].unsqueeze(2) == features["p_hash"].unsqueeze(1)).float()
        pair_mask = q_mask.unsqueeze(2) * p_mask.unsqueeze(1)
        exact = exact * pair_mask
        soft = torch.exp(-((cosine.unsqueeze(-1) - self.centres) ** 2) / (2 * SOFT_WIDTH**2))
        soft = soft * ((1 - exact) * pair_mask).unsqueeze(-1)
        kernels = torch.cat([exact.unsqueeze(-1), soft], dim=-1)  # B, Lq, Lp, K
        weight = F.softplus(self.term_weight(self.idf[q_rows.clamp_min(0)].unsqueeze(-1)))
        weight = weight.squeeze(-1) * q_mask
        weight = weight / weight.sum(1, keepdim=True).clamp_min(1e-6)
        parts = [(torch.log1p(kernels.sum(2)) * weight.unsqueeze(-1)).sum(1)]
        b, lq, lp, k = kernels.shape
        flat = kernels.permute(0, 1, 3, 2).reshape(-1, 1, lp)
        for w in self.settings.windows:
            size = min(w, lp)
            counts = F.avg_pool1d(flat, size, stride=max(1, size // 2), ceil_mode=True) * size
            counts = counts.reshape(b, lq, k, -1)
            per_window = (torch.log1p(counts) * weight[:, :, None, None]).sum(1)
            parts.append(per_window.max(-1).values)
        sentence = features["p_sentence"]
        n_sentences = int(sentence.max().item()) + 1 if sentence.numel() else 1
        member = F.one_hot(sentence.clamp_min(0), max(n_sentences, 1)).float()
        member = member * p_mask.unsqueeze(-1)  # B, Lp, S
        per_sentence = torch.einsum("bqpk,bps->bqsk", kernels, member)
        parts.append((torch.log1p(per_sentence) * weight[:, :, None, None]).sum(1).max(1).values)
        k1, b_norm = F.softplus(self.saturation[0]), torch.sigmoid(self.saturation[1])
        tf, length = exact.sum(2), p_mask.sum(1, keepdim=True)
        norm = k1 * (1 - b_norm + b_norm * length / LENGTH_SCALE)
        saturated = (tf * (k1 + 1) / (tf + norm) * weight).sum(1, keepdim=True)
        lengths = torch.stack([torch.log1p(p_mask.sum(1)), torch.log1p(q_mask.sum(1))], dim=-1)
        extra = [saturated, lengths, features["surface"]]
        features["scores"] = self.mlp(torch.cat([*parts, *extra], dim=-1))
        return features

    @classmethod
    def from_saved(cls, config: dict[str, Any], state: dict[str, torch.Tensor]) -> Self:
        """The module of a saved configuration and state (vectors and IDF included)."""
        module = cls(KiwiInteractionConfig(**config), state.pop("vectors"), state.pop("idf"))
        state.pop("centres", None)
        module.load_state_dict(state, strict=False)
        return module

    @classmethod
    def from_static(cls, static: Any, **config: Any) -> Self:
        """A fresh interaction model on the vectors and weights of a
        :class:`~lc_klue.models.kiwi_static.KiwiStaticEmbedding`."""
        base = static.settings
        return cls(
            KiwiInteractionConfig(dim=base.dim, oov_buckets=base.oov_buckets, **config),
            static.semantic.weight.detach(),
            torch.exp(static.log_weight.weight.detach().squeeze(1)),
        )


def _surface(question: str, q_hash: list[int], passage: str, p_hash: list[int]) -> list[float]:
    """Two pair features Kiwi's morphemes miss: the share of the question's character bigrams
    found in the passage (robust to segmentation: 해상풍력 / 해상 풍력), and the share of its
    adjacent content-morpheme pairs found as a phrase in the passage (word order)."""
    q_chars = set(char_ngrams(question))
    chars = len(q_chars & set(char_ngrams(passage))) / len(q_chars) if q_chars else 0.0
    q_pairs = set(itertools.pairwise(q_hash))
    p_pairs = set(itertools.pairwise(p_hash)) | {(a, c) for a, _, c in _triples(p_hash)}
    pairs = len(q_pairs & p_pairs) / len(q_pairs) if q_pairs else 0.0
    return [chars, pairs]


def _triples(items: list[int]) -> zip[tuple[int, int, int]]:
    return zip(items, items[1:], items[2:], strict=False)


def _pad(rows: list[list[int]], hashes: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded row (-1) and hash tensors of equal length (at least 1)."""
    length = max([len(r) for r in rows] + [1])
    out_rows = torch.full((len(rows), length), -1, dtype=torch.long)
    out_hash = torch.full((len(rows), length), -1, dtype=torch.long)
    for i, (r, h) in enumerate(zip(rows, hashes, strict=True)):
        if r:
            out_rows[i, : len(r)] = torch.as_tensor(r, dtype=torch.long)
            out_hash[i, : len(h)] = torch.as_tensor(h, dtype=torch.long)
    return out_rows, out_hash
