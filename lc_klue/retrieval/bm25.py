"""Korean BM25: Kiwi content morphemes (:func:`lc_klue.text.kiwi_tokenize`) scored with bm25s."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from lc_klue.data import MrcSource, context_id, mrc_documents
from lc_klue.errors import DataError
from lc_klue.models.embeddings import PROGRESS_MIN_TEXTS
from lc_klue.ranking import top_k_indices
from lc_klue.retrieval.base import (
    ScoredRetrieverMixin,
    check_kiwi_record,
    check_search,
    kiwi_record,
    read_index_config,
    read_index_files,
    recorded_analysis,
    save_index,
)
from lc_klue.text import check_analysis, kiwi_tokenize

FORMAT = "lc-klue-bm25"
#: BM25 parameters fitted on KorQuAD train-title questions (the shipped default's first stage).
TUNED_BM25 = {"k1": 0.9, "b": 0.4}

# bm25s sets its own logger to DEBUG on import, which prints build details under any handler.
logging.getLogger("bm25s").setLevel(logging.WARNING)


class KiwiBM25Retriever(ScoredRetrieverMixin, BaseRetriever):
    """BM25 over Kiwi morphemes (bm25s). Ties are broken by corpus order (deterministic)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    docs: list[Document] = Field(repr=False)
    """The indexed passages, in corpus order."""
    k: int = 4
    """Number of passages returned per query."""
    k1: float = 1.5
    """BM25 term-frequency saturation."""
    b: float = 0.75
    """BM25 length normalisation."""
    method: str = "lucene"
    """bm25s scoring variant (``lucene``, ``robertson``, ``atire``, ``bm25l``, ``bm25+``)."""
    analysis: str = "context"
    """How Kiwi reads the passages and the queries: ``context`` or ``word`` (each distinct word
    once: faster on large corpora; :data:`lc_klue.text.ANALYSES`). Saved with the index."""

    index: Any = Field(default=None, exclude=True, repr=False)
    """The ``bm25s.BM25`` index of ``docs``; built from them when None (from ``morphemes=``,
    one list per passage, when the caller has analysed them already)."""

    def __init__(self, **data: Any) -> None:
        """Index ``docs`` unless an index is given (as :meth:`load` does)."""
        tokens = data.pop("morphemes", None)
        super().__init__(**data)
        if not self.docs:
            raise DataError("cannot build a BM25 index from an empty corpus")
        check_analysis(self.analysis)
        if self.index is None:
            progress = len(self.docs) > PROGRESS_MIN_TEXTS
            if tokens is None:
                texts = [d.page_content for d in self.docs]
                tokens = kiwi_tokenize(texts, show_progress=progress, analysis=self.analysis)
            elif len(tokens) != len(self.docs):
                raise DataError(f"{len(tokens)} morpheme lists for {len(self.docs)} passages")
            bm25 = bm25s.BM25(k1=self.k1, b=self.b, method=self.method)
            bm25.index(tokens, show_progress=progress)
            self.index = bm25

    @classmethod
    def from_documents(cls, documents: Iterable[Document], **kwargs: Any) -> KiwiBM25Retriever:
        """Index Documents (``metadata["context_id"]`` is added when missing)."""
        docs = []
        for d in documents:
            meta = dict(d.metadata)
            meta.setdefault("context_id", context_id(d.page_content))
            docs.append(Document(page_content=d.page_content, metadata=meta, id=d.id))
        return cls(docs=docs, **kwargs)

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str],
        metadatas: Iterable[dict] | None = None,
        ids: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> KiwiBM25Retriever:
        """Index plain texts with optional metadata and ids."""
        texts = list(texts)
        metas = list(metadatas) if metadatas is not None else [{} for _ in texts]
        id_list = list(ids) if ids is not None else [None] * len(texts)
        docs = [
            Document(page_content=t, metadata=m, id=i)
            for t, m, i in zip(texts, metas, id_list, strict=True)
        ]
        return cls.from_documents(docs, **kwargs)

    @classmethod
    def from_mrc(cls, data: MrcSource, **kwargs: Any) -> KiwiBM25Retriever:
        """Index the distinct passages of MRC-format data (metadata ``context_id``, ``title``)."""
        return cls(docs=mrc_documents(data), **kwargs)

    # -- search ------------------------------------------------------------------------------

    def _copy(self, i: int) -> Document:
        d = self.docs[i]
        return Document(page_content=d.page_content, metadata=dict(d.metadata), id=d.id)

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every passage for a tokenised query."""
        ids = self.index.get_tokens_ids(tokens)
        if not ids:
            return np.zeros(len(self.docs), dtype=np.float32)
        return np.asarray(self.index.get_scores_from_ids(ids), dtype=np.float32)

    def search_with_scores(
        self, queries: Sequence[str], k: int | None = None
    ) -> list[list[tuple[Document, float]]]:
        """``(Document, BM25 score)`` for many queries (one Kiwi call for all of them)."""
        queries, k = check_search(queries, self.k if k is None else k, len(self.docs))
        out = []
        for tokens in kiwi_tokenize(queries, analysis=self.analysis):
            s = self.scores(tokens)
            out.append([(self._copy(int(i)), float(s[i])) for i in top_k_indices(s, k)])
        return out

    # -- persistence -------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Save atomically: bm25s arrays (no pickle), ``documents.jsonl`` and ``config.json``."""
        config = {
            "format": FORMAT,
            "version": 1,
            "k": self.k,
            "k1": self.k1,
            "b": self.b,
            "method": self.method,
            "tokenizer": kiwi_record(self.analysis),
        }
        index = self.index
        return save_index(
            path,
            self.docs,
            config,
            lambda d: index.save(str(d / "bm25"), allow_pickle=False, show_progress=False),
        )

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> KiwiBM25Retriever:
        """Load an index saved by :meth:`save` (``kwargs`` override e.g. ``k``); one built
        with another Kiwi model is refused (:func:`~lc_klue.retrieval.base.check_kiwi_record`)."""
        root = Path(path).expanduser()
        config = read_index_config(root, FORMAT, 1, "BM25 index")
        check_kiwi_record(config.get("tokenizer"), f"{root} (BM25 index)")
        analysis = recorded_analysis(config.get("tokenizer"))
        docs, bm25 = read_index_files(
            root,
            config,
            "BM25 index",
            lambda d: bm25s.BM25.load(str(d / "bm25"), allow_pickle=False, show_progress=False),
        )
        params = {k: config[k] for k in ("k", "k1", "b", "method")} | kwargs
        return cls(docs=docs, index=bm25, analysis=analysis, **params)
