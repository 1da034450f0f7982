"""The parts retrieval pipelines are built from: a passage corpus and every index, model and
feature scorer over it, each made at most once and shared (:class:`PipelineParts`), so many
pipelines over one corpus (the benchmark's, an index's) share them. One Kiwi analysis of the
corpus serves both BM25 and the lexical features."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore

from lc_klue.errors import RetrievalError
from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.lexical_features import LexicalFeatures, analyse_corpus, passage_morphemes


class PipelineParts:
    """A passage corpus and everything built over it, each made once and shared.

    Models load on first use (``device``, ``batch_size``, ``max_length``, ``backend`` apply:
    ``onnx``/``int8`` run bi- and cross-encoders in ONNX Runtime on the CPU); indexes are
    built over :attr:`documents` unless already given: ``indexes`` holds vector stores by
    embedding-model name and BM25 retrievers by ``(k1, b)``, ``models`` loaded bi-encoders
    (LangChain ``Embeddings``) and cross-encoders by name (e.g. loaded from an index).
    """

    def __init__(
        self,
        documents: Sequence[Document],
        *,
        device: str | None = None,
        batch_size: int = 64,
        max_length: int | None = None,
        show_progress: bool = False,
        indexes: Mapping[Any, Any] | None = None,
        models: Mapping[str, Any] | None = None,
        backend: str | None = None,
    ) -> None:
        self.documents = list(documents)
        self.backend = backend
        if not self.documents and not indexes:
            raise RetrievalError("the corpus is empty: nothing to retrieve from")
        self.device, self.batch_size, self.max_length = device, batch_size, max_length
        self.show_progress = show_progress
        self._stores: dict[str, VectorStore] = {}
        self._bm25: dict[tuple[float, float], BaseRetriever] = {}
        self._scorers: dict[Any, Any] = {}
        self._analysis: tuple[list[list[str]], list[int]] | None = None
        for key, index in (indexes or {}).items():
            self.use_index(key, index)
        self._embeddings: dict[str, Embeddings] = {}
        self._cross_encoders: dict[str, Any] = {}
        for name, model in (models or {}).items():
            self.use_model(name, model)

    def with_documents(self, documents: Sequence[Document]) -> PipelineParts:
        """Parts over another corpus that share this one's loaded models (not its indexes)."""
        other = copy.copy(self)
        other.documents = list(documents)
        if not other.documents:
            raise RetrievalError("the corpus is empty: nothing to retrieve from")
        other._stores, other._bm25, other._scorers = {}, {}, {}
        other._analysis = None
        return other

    def use_scorer(self, key: tuple[str, Any], scorer: Any) -> None:
        """Use a feature scorer built elsewhere (e.g. loaded from an index directory) under
        its key: ``("lexical", windows)`` or ``("dense", model name)``."""
        self._scorers[(key[0], tuple(key[1]) if key[0] == "lexical" else key[1])] = scorer

    def use_model(self, name: str, model: Any) -> None:
        """Use a model loaded elsewhere under ``name``: LangChain ``Embeddings`` as a
        bi-encoder, anything else as a cross-encoder."""
        if isinstance(model, Embeddings):
            self._embeddings[name] = model
        else:
            self._cross_encoders[name] = model

    def embeddings(self, name: str) -> Embeddings:
        """The bi-encoder ``name`` as LangChain embeddings (loaded once)."""
        if name not in self._embeddings:
            from lc_klue.models.embeddings import KlueEmbeddings

            self._embeddings[name] = KlueEmbeddings(
                model_name_or_path=name,
                device=self.device,
                batch_size=self.batch_size,
                backend=self.backend,
            )
        return self._embeddings[name]

    def store(self, name: str) -> VectorStore:
        """The vector store of the corpus embedded by ``name`` (a flat FAISS index, built once)."""
        if name not in self._stores:
            from lc_klue.retrieval.faiss_store import KlueFAISS

            self._stores[name] = KlueFAISS.from_mrc(self.documents, self.embeddings(name))
        return self._stores[name]

    def analysis(self) -> tuple[list[list[str]], list[int]]:
        """The corpus's Kiwi analysis (sentences' morphemes and their passages), made once and
        shared by BM25 and the lexical features
        (:func:`~lc_klue.retrieval.lexical_features.analyse_corpus`)."""
        if self._analysis is None:
            texts = [d.page_content for d in self.documents]
            self._analysis = analyse_corpus(texts, self.show_progress)
        return self._analysis

    def bm25(self, k1: float = 1.5, b: float = 0.75) -> BaseRetriever:
        """Kiwi BM25 of the corpus with ``k1``/``b`` (indexed once per pair, unless given)."""
        key = (float(k1), float(b))
        if key not in self._bm25:
            tokens = passage_morphemes(self.analysis(), len(self.documents))
            self._bm25[key] = KiwiBM25Retriever(docs=self.documents, k1=k1, b=b, morphemes=tokens)
        return self._bm25[key]

    def use_index(self, key: str | tuple[float, float], index: Any) -> None:
        """Use an index built elsewhere: a vector store under its embedding model's name, or a
        BM25 retriever under its ``(k1, b)``."""
        if isinstance(key, tuple):
            self._bm25[(float(key[0]), float(key[1]))] = index
        else:
            self._stores[key] = index

    def cross_encoder(self, name: str) -> Any:
        """The cross-encoder ``name`` (loaded once)."""
        if name not in self._cross_encoders:
            from lc_klue.models.reranker import load_cross_encoder

            self._cross_encoders[name] = load_cross_encoder(
                name, self.device, self.max_length, backend=self.backend
            )
        return self._cross_encoders[name]

    def lexical(self, windows: Sequence[int]) -> Any:
        """Lexical features of the corpus (built once per window sizes)."""
        key = ("lexical", tuple(windows))
        if key not in self._scorers:
            self._scorers[key] = LexicalFeatures(
                self.documents, windows=windows, analysis=self.analysis()
            )
        return self._scorers[key]

    def dense_features(self, name: str) -> Any:
        """Cosine features of bi-encoder ``name`` over the corpus (passages embedded once)."""
        key = ("dense", name)
        if key not in self._scorers:
            from lc_klue.retrieval.fusion import DenseFeatures

            self._scorers[key] = DenseFeatures(self.embeddings(name), self.documents)
        return self._scorers[key]

    def cross_encoder_features(self, name: str) -> Any:
        """Cross-encoder score features of ``name``."""
        key = ("cross_encoder", name)
        if key not in self._scorers:
            from lc_klue.retrieval.fusion import CrossEncoderFeatures

            self._scorers[key] = CrossEncoderFeatures(
                self.cross_encoder(name), batch_size=self.batch_size
            )
        return self._scorers[key]
