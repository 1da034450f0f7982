"""A LangChain ``Embeddings`` over a sentence-transformers bi-encoder (hub id or local path)."""

from __future__ import annotations

from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from lc_klue.errors import ModelError
from lc_klue.runtime import (
    load_error,
    pick_device,
    resolve_model_source,
    set_dtype,
    trusts_own_code,
)

#: Fixed texts whose embeddings identify a model (see :func:`embedding_fingerprint`).
PROBE_TEXTS = (
    "대한민국의 수도는 서울이다.",
    "오늘 부산의 날씨는 맑고 바람이 약하다.",
    "The quick brown fox jumps over the lazy dog.",
)
#: Minimum cosine between saved and current probe embeddings for "the same model".
FINGERPRINT_MIN_COSINE = 0.99
#: ``show_progress=None`` shows a progress bar for inputs longer than this.
PROGRESS_MIN_TEXTS = 1000
#: Batches per step of the progress bar (and per chunk of the multi-process pool).
PROGRESS_CHUNK_BATCHES = 16


class KlueEmbeddings(BaseModel, Embeddings):
    """Sentence-transformers embeddings for LangChain: batched, normalised, prompt-aware.

    Queries go through ``encode_query`` and passages through ``encode_document``, so a model
    saved with ``prompts={"query": ..., "document": ...}`` uses them; :attr:`prompts` overrides
    them.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model_name_or_path: str
    """Hub id or local directory of a sentence-transformers model."""
    device: str | None = None
    """``cpu``, ``cuda``, ``cuda:1``, ``mps``…; None picks the best available."""
    batch_size: int = Field(default=32, gt=0)
    """Texts encoded per forward pass."""
    normalize: bool = True
    """L2-normalise embeddings (cosine similarity = inner product)."""
    show_progress: bool | None = None
    """Progress bar: True, False, or None for inputs of more than 1,000 texts."""
    prompts: dict[str, str] = Field(default_factory=dict)
    """Texts prepended to queries (key ``query``) and passages (``document``); a missing key
    uses the model's own prompt of that name if it has one."""
    dtype: str | None = None
    """``float16``/``bfloat16`` on an accelerator for speed; ignored on CPU."""
    backend: str | None = None
    """``torch`` (default), or on the CPU ``onnx`` / ``int8``: the transformer in ONNX Runtime,
    int8 quantised (:mod:`lc_klue.models.onnx_backend`)."""
    workers: int = Field(default=1, gt=0)
    """Processes that embed a large passage list (more than 1,000 texts) on the CPU:
    sentence-transformers' multi-process pool, each process one torch thread. 1: this one."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra keyword arguments of ``SentenceTransformer(...)``."""

    client: Any = Field(default=None, exclude=True, repr=False)
    """An already loaded ``SentenceTransformer``; when given it is used as it is."""

    _fingerprint: dict[str, Any] | None = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        """Validate the settings, then load the model (:class:`ModelError` if it cannot be)."""
        super().__init__(**data)
        if self.client is None:
            self._load()
        elif self.backend:
            from lc_klue.models.onnx_backend import use_backend

            use_backend(self.client, self.backend)

    def _load(self) -> None:
        from sentence_transformers import SentenceTransformer

        from lc_klue.models.onnx_backend import check_backend, use_backend

        source = resolve_model_source(self.model_name_or_path, "embedding model")
        device = pick_device(self.device)
        check_backend(self.backend, device)
        try:
            kwargs = {"trust_remote_code": trusts_own_code(source)} | self.model_kwargs
            model = SentenceTransformer(source, device=device, **kwargs)
        except (OSError, ValueError) as e:
            raise load_error("embedding model", self.model_name_or_path, e) from e
        set_dtype(model, self.dtype, device)
        self.client = use_backend(model, self.backend, device)

    @classmethod
    def from_model(cls, model: Any, name: str | None = None, **kwargs: Any) -> KlueEmbeddings:
        """Wrap an already loaded ``SentenceTransformer`` (e.g. straight after training)."""
        return cls(model_name_or_path=name or _model_name(model), client=model, **kwargs)

    @property
    def dimension(self) -> int:
        """Embedding size."""
        return int(self.client.get_embedding_dimension())

    def _progress(self, n: int) -> bool:
        return n > PROGRESS_MIN_TEXTS if self.show_progress is None else self.show_progress

    def _encode(self, texts: list[str], query: bool) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("expected a list of texts, got a single string")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encode = self.client.encode_query if query else self.client.encode_document
        prompt = self.prompts.get("query" if query else "document")
        kwargs: dict[str, Any] = {"prompt": prompt} if prompt is not None else {}
        kwargs |= {
            "batch_size": self.batch_size,
            "normalize_embeddings": self.normalize,
            "convert_to_numpy": True,
        }
        texts = list(texts)
        if self.workers > 1 and not query and len(texts) > PROGRESS_MIN_TEXTS:
            return self._encode_pool(encode, texts, kwargs)
        if not self._progress(len(texts)):
            return np.asarray(encode(texts, show_progress_bar=False, **kwargs), dtype=np.float32)
        from tqdm.auto import tqdm

        parts = []
        step = max(self.batch_size * PROGRESS_CHUNK_BATCHES, 1)
        with tqdm(total=len(texts), desc="Embedding", unit="text") as bar:
            for start in range(0, len(texts), step):  # the bar's rate is texts per second
                chunk = texts[start : start + step]
                parts.append(encode(chunk, show_progress_bar=False, **kwargs))
                bar.update(len(chunk))
        return np.concatenate([np.asarray(p, dtype=np.float32) for p in parts])

    def _encode_pool(self, encode: Any, texts: list[str], kwargs: dict[str, Any]) -> np.ndarray:
        """``texts`` embedded by :attr:`workers` processes (sentence-transformers' pool)."""
        pool = self.client.start_multi_process_pool(["cpu"] * self.workers)
        try:
            emb = encode(
                texts,
                pool=pool,
                chunk_size=max(self.batch_size * PROGRESS_CHUNK_BATCHES, 1),
                show_progress_bar=self._progress(len(texts)),
                **kwargs,
            )
        finally:
            self.client.stop_multi_process_pool(pool)
        return np.asarray(emb, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (document prompt), in batches."""
        return self._encode(texts, query=False).tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one query (query prompt)."""
        return self._encode([text], query=True)[0].tolist()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed many queries in one batched call; a float32 matrix."""
        return self._encode(texts, query=True)

    def embed_documents_array(self, texts: list[str]) -> np.ndarray:
        """Embed passages as a float32 matrix (no conversion to Python lists)."""
        return self._encode(texts, query=False)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async :meth:`embed_documents` (runs in a worker thread)."""
        import asyncio

        return await asyncio.to_thread(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Async :meth:`embed_query` (runs in a worker thread)."""
        import asyncio

        return await asyncio.to_thread(self.embed_query, text)

    def fingerprint(self) -> dict[str, Any]:
        """The model's identity (name, dimension, probe embeddings); computed once."""
        if self._fingerprint is None:
            self._fingerprint = embedding_fingerprint(self)
        return self._fingerprint


def _model_name(model: Any) -> str:
    card = getattr(model, "model_card_data", None)
    return str(getattr(card, "base_model", None) or getattr(model, "name_or_path", "") or "model")


def embed_queries(embeddings: Embeddings, queries: list[str]) -> np.ndarray:
    """All ``queries`` embedded in one call when ``embeddings`` supports it (float32 matrix)."""
    if isinstance(embeddings, KlueEmbeddings):
        return embeddings.embed_queries(queries)
    return np.asarray([embeddings.embed_query(q) for q in queries], dtype=np.float32)


def embed_passages(embeddings: Embeddings, texts: list[str]) -> np.ndarray:
    """Passages embedded as a float32 matrix."""
    if isinstance(embeddings, KlueEmbeddings):
        return embeddings.embed_documents_array(texts)
    return np.asarray(embeddings.embed_documents(texts), dtype=np.float32).reshape(len(texts), -1)


def embedding_fingerprint(embeddings: Embeddings) -> dict[str, Any]:
    """Identity of any LangChain ``Embeddings``: name, dimension and normalised probe vectors.

    Two models match when their probe embeddings agree (cosine ≥ 0.99): robust to device and
    precision, but a different or re-trained model does not pass.
    """
    if isinstance(embeddings, KlueEmbeddings) and embeddings._fingerprint is not None:
        return embeddings._fingerprint
    probe = embed_passages(embeddings, list(PROBE_TEXTS))
    probe = probe / np.maximum(np.linalg.norm(probe, axis=1, keepdims=True), 1e-12)
    name = getattr(embeddings, "model_name_or_path", None) or getattr(embeddings, "model", None)
    return {
        "class": type(embeddings).__name__,
        "name": str(name) if name is not None else None,
        "dimension": int(probe.shape[1]),
        "probe": np.round(probe, 6).tolist(),
    }


def fingerprint_mismatch(saved: dict[str, Any], current: dict[str, Any]) -> str | None:
    """None when two fingerprints are the same model, else the reason they differ."""
    if saved.get("dimension") != current.get("dimension"):
        return f"dimension {saved.get('dimension')} vs {current.get('dimension')}"
    a = np.asarray(saved.get("probe"), dtype=np.float32)
    b = np.asarray(current.get("probe"), dtype=np.float32)
    if a.shape != b.shape:
        return "probe embeddings have different shapes"
    cos = float(np.min(np.sum(a * b, axis=1)))
    if cos < FINGERPRINT_MIN_COSINE:
        return f"probe embeddings differ (min cosine {cos:.3f} < {FINGERPRINT_MIN_COSINE})"
    return None


def check_same_model(saved: dict[str, Any], embedding: Embeddings, what: str, fix: str) -> None:
    """Raise :class:`~lc_klue.errors.ModelError` when ``embedding`` is not the model whose
    fingerprint ``saved`` an index stores.

    Args:
        saved: the fingerprint saved with the index (:func:`embedding_fingerprint`).
        embedding: the model that would now search it.
        what: the index, as the message starts (``"<path>: the index"``).
        fix: what to do instead, as the message ends.
    """
    reason = fingerprint_mismatch(saved, embedding_fingerprint(embedding))
    if reason:
        name = getattr(embedding, "model_name_or_path", type(embedding).__name__)
        raise ModelError(
            f"{what} was built with embedding model {saved.get('name')!r}, not {name!r} "
            f"({reason}); {fix}"
        )
