"""Shared pieces of every retriever: argument checks, the callback plumbing of a batched
``.batch()``, and the files of a saved index (documents and configuration)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from langchain_core.callbacks import CallbackManager, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, ensure_config, get_config_list

from lc_klue.errors import DataError, RetrievalError
from lc_klue.storage import atomic_directory, atomic_write_text
from lc_klue.text import CONTENT_TAGS, check_analysis, kiwi_model_version

logger = logging.getLogger(__name__)

T = TypeVar("T")


def check_query(query: Any) -> str:
    """Return ``query`` if it is a non-blank string, else raise :class:`RetrievalError`."""
    if not isinstance(query, str):
        raise RetrievalError(f"query must be a string, got {type(query).__name__}")
    if not query.strip():
        raise RetrievalError("query is empty")
    return query


def check_search(queries: Sequence[Any], k: int, corpus_size: int) -> tuple[list[str], int]:
    """The queries and ``k`` of a search, checked (:func:`check_query`, :func:`check_k`)."""
    return [check_query(q) for q in queries], check_k(k, corpus_size)


def check_k(k: int, corpus_size: int) -> int:
    """The package's one rule for ``k``: a positive integer (else :class:`RetrievalError`);
    more than the corpus holds returns the whole corpus, as LangChain's stores do."""
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise RetrievalError(f"k must be a positive integer, got {k!r}")
    return min(int(k), corpus_size)


#: Metadata key of a first-stage retriever's own score (dense cosine, BM25), read by the
#: reranker's cascade (:func:`~lc_klue.retrieval.compressor.first_stage_margin`).
SCORE_KEY = "retrieval_score"


def with_score(doc: Document, score: float) -> Document:
    """``doc`` (a copy the store made) with its retrieval score in ``metadata``."""
    doc.metadata[SCORE_KEY] = float(score)
    return doc


def passages_to_add(
    texts: Iterable[str],
    metadatas: Sequence[dict] | None,
    ids: Sequence[str | None] | None,
) -> tuple[list[str], list[dict[str, Any]], list[str]]:
    """The texts, metadata copies and ids of a vector store's ``add_texts``, checked: an id
    left out is ``metadata["context_id"]`` or the passage's :func:`~lc_klue.data.context_id`;
    an empty passage, a length mismatch or an id given twice is a :class:`DataError`."""
    from lc_klue.data import context_id

    texts = list(texts)
    metas = [dict(m) for m in metadatas] if metadatas else [{} for _ in texts]
    if len(metas) != len(texts):
        raise DataError(f"{len(texts)} texts but {len(metas)} metadatas")
    given = list(ids) if ids is not None else [None] * len(texts)
    if len(given) != len(texts):
        raise DataError(f"{len(texts)} texts but {len(given)} ids")
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            raise DataError(f"passage {i} is empty")
    final = [
        str(i) if i is not None else str(m.get("context_id") or context_id(t))
        for i, t, m in zip(given, texts, metas, strict=True)
    ]
    if len(set(final)) != len(final):
        dup = next(i for i in final if final.count(i) > 1)
        raise DataError(f"duplicate document id {dup!r} in one call")
    return texts, metas, final


def batch_retrieve(
    retriever: BaseRetriever,
    inputs: list[str],
    config: RunnableConfig | list[RunnableConfig] | None,
    search: Callable[[list[str]], list[list[Document]]],
    *,
    return_exceptions: bool = False,
) -> list[Any]:
    """Run ``search`` once on all ``inputs`` with the callbacks ``invoke`` would fire per query."""
    if not inputs:
        return []
    configs = get_config_list(config, len(inputs))
    managers = []
    for query, cfg in zip(inputs, configs, strict=True):
        cfg = ensure_config(cfg)
        cm = CallbackManager.configure(
            cfg.get("callbacks"),
            None,
            inheritable_tags=cfg.get("tags"),
            local_tags=retriever.tags,
            inheritable_metadata=cfg.get("metadata"),
            local_metadata=retriever.metadata,
        )
        managers.append(
            cm.on_retriever_start(None, query, name=cfg.get("run_name") or retriever.get_name())
        )
    try:
        for query in inputs:
            check_query(query)
        results = search(list(inputs))
    except Exception as e:
        for rm in managers:
            rm.on_retriever_error(e)
        if return_exceptions:
            return [e] * len(inputs)
        raise
    for rm, docs in zip(managers, results, strict=True):
        rm.on_retriever_end(docs)
    return results


class BatchedRetrieverMixin:
    """``batch``/``abatch`` for a retriever with ``_search_many(queries) -> list[list[Document]]``
    that serves all queries at once (callbacks fire per query, as with ``invoke``)."""

    def _search_many(self, queries: list[str]) -> list[list[Document]]:
        raise NotImplementedError

    def _can_batch(self, kwargs: dict[str, Any]) -> bool:
        """Whether this call can take the vectorised path (else the per-query one)."""
        return not kwargs

    def batch(
        self,
        inputs: list[str],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[list[Document]]:
        """Retrieve for many queries in one vectorised pass."""
        if not self._can_batch(kwargs):
            return super().batch(  # type: ignore[misc]
                inputs, config, return_exceptions=return_exceptions, **kwargs
            )
        return batch_retrieve(
            self,  # type: ignore[arg-type]
            inputs,
            config,
            self._search_many,
            return_exceptions=return_exceptions,
        )

    async def abatch(
        self,
        inputs: list[str],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[list[Document]]:
        """Async :meth:`batch` (the vectorised pass runs in a worker thread)."""
        return await asyncio.to_thread(
            self.batch, inputs, config, return_exceptions=return_exceptions, **kwargs
        )


class ScoredRetrieverMixin(BatchedRetrieverMixin):
    """A batched retriever over ``search_with_scores(queries, k)``: each document it returns
    carries its score (``metadata["retrieval_score"]``, :func:`with_score`)."""

    def search_with_scores(
        self, queries: Sequence[str], k: int | None = None
    ) -> list[list[tuple[Document, float]]]:
        raise NotImplementedError

    def _search_many(self, queries: list[str]) -> list[list[Document]]:
        return [[with_score(d, s) for d, s in hits] for hits in self.search_with_scores(queries)]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, k: int | None = None
    ) -> list[Document]:
        return [with_score(d, s) for d, s in self.search_with_scores([query], k)[0]]


def save_index(
    path: str | Path,
    docs: Sequence[Document],
    config: dict[str, Any],
    write_payload: Callable[[Path], None],
) -> Path:
    """Save an index directory atomically: the index's own files (``write_payload(dir)``),
    ``documents.jsonl`` and ``config.json`` (with the passage ``count``). No pickle."""
    with atomic_directory(path) as tmp:
        write_payload(tmp)
        write_documents(tmp / "documents.jsonl", docs)
        config = {**config, "count": len(docs)}
        atomic_write_text(tmp / "config.json", json.dumps(config, ensure_ascii=False, indent=2))
    return Path(path)


def read_index_files(
    root: Path, config: dict[str, Any], what: str, read_payload: Callable[[Path], T]
) -> tuple[list[Document], T]:
    """The documents and the index's own files of a directory written by :func:`save_index`;
    any damage (unreadable files, a passage count off) is one :class:`RetrievalError`."""
    try:
        payload = read_payload(root)
        docs = read_documents(root / "documents.jsonl")
    except (OSError, RuntimeError, ValueError) as e:
        raise RetrievalError(f"{root}: damaged {what} ({e})") from e
    if len(docs) != config.get("count"):
        raise RetrievalError(f"{root}: damaged {what} ({len(docs)} of {config.get('count')})")
    return docs, payload


def write_documents(path: Path, docs: Iterable[Document]) -> None:
    """Write Documents as JSON lines (``id``, ``page_content``, ``metadata``), atomically."""
    lines = (
        json.dumps(
            {"id": d.id, "page_content": d.page_content, "metadata": d.metadata},
            ensure_ascii=False,
        )
        for d in docs
    )
    atomic_write_text(path, "\n".join(lines) + "\n")


def read_documents(path: Path) -> list[Document]:
    """Read Documents written by :func:`write_documents`."""
    with path.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [
        Document(page_content=r["page_content"], metadata=r["metadata"], id=r["id"]) for r in rows
    ]


def kiwi_record(analysis: str = "context") -> dict[str, Any]:
    """The Kiwi analysis a lexical index (BM25, BM25 sparse vectors) is built with, kept in its
    configuration so that loading can compare it (:func:`check_kiwi_record`) and analyse
    queries the same way (:func:`recorded_analysis`)."""
    import kiwipiepy

    return {
        "name": "kiwi",
        "kiwipiepy": kiwipiepy.__version__,
        "kiwipiepy_model": kiwi_model_version(),
        "tags": sorted(CONTENT_TAGS),
        "analysis": check_analysis(analysis),
    }


def recorded_analysis(recorded: Any) -> str:
    """The :data:`~lc_klue.text.ANALYSES` mode a :func:`kiwi_record` names (``context`` for
    an index saved before the record had one)."""
    mode = recorded.get("analysis", "context") if isinstance(recorded, dict) else "context"
    try:
        return check_analysis(mode)
    except DataError as err:
        raise RetrievalError(f"{err} (this index is from a newer lc-klue?)") from None


def _series(version: str) -> str:
    """``X.Y`` of a version: kiwipiepy X.Y ships with kiwipiepy-model X.Y.* (its one model)."""
    return ".".join(version.split(".")[:2])


def check_kiwi_record(recorded: Any, where: str) -> None:
    """Compare the Kiwi analysis an index was built with (:func:`kiwi_record`) with this
    machine's: queries must become the morphemes the index holds.

    Another Kiwi model is one :class:`RetrievalError` line (its morphemes differ, so BM25 would
    silently lose matches): another kiwipiepy-model version, or for an index that recorded only
    kiwipiepy, another kiwipiepy ``X.Y`` (which pins kiwipiepy-model ``X.Y.*``). Another
    kiwipiepy version with the same model, or other content tags, is one warning line.
    """
    if not isinstance(recorded, dict) or not recorded.get("kiwipiepy"):
        return  # nothing recorded to compare
    now = kiwi_record()
    model = recorded.get("kiwipiepy_model")
    if model is not None and model != now["kiwipiepy_model"]:
        built = f"kiwipiepy-model {model}"
    elif model is None and _series(recorded["kiwipiepy"]) != _series(now["kiwipiepy_model"]):
        built = f"kiwipiepy {recorded['kiwipiepy']} (model {_series(recorded['kiwipiepy'])}.*)"
    else:
        built = ""
    if built:
        raise RetrievalError(
            f"{where}: built with {built}, but kiwipiepy-model {now['kiwipiepy_model']} is "
            "installed (another Kiwi model: queries would not match the indexed morphemes); "
            f"rebuild the index, or pip install kiwipiepy=={recorded['kiwipiepy']}"
            + (f" kiwipiepy-model=={model}" if model else "")
        )
    changes = []
    if recorded["kiwipiepy"] != now["kiwipiepy"]:
        changes.append(f"kiwipiepy {recorded['kiwipiepy']}, this is {now['kiwipiepy']}")
    if "tags" in recorded and sorted(recorded["tags"]) != now["tags"]:
        changes.append("other content tags")
    if changes:
        logger.warning(
            "%s: built with %s; queries may be tokenised a little differently (rebuild the "
            "index to be sure)",
            where,
            "; ".join(changes),
        )


def read_index_config(root: Path, fmt: str, version: int, what: str) -> dict[str, Any]:
    """Read ``root/config.json`` of a saved index (format ``fmt``, at most ``version``).

    A missing or foreign directory is a :class:`RetrievalError`; a pickled LangChain index
    (``index.pkl``) is refused, never loaded.
    """
    if not root.exists():
        raise RetrievalError(f"{root}: {what} directory not found")
    if not root.is_dir():
        raise RetrievalError(f"{root}: not a directory")
    cfg_path = root / "config.json"
    if not cfg_path.is_file():
        if (root / "index.pkl").exists():
            raise RetrievalError(
                f"{root}: looks like a pickled LangChain FAISS index (index.pkl); lc-klue never "
                "unpickles files. Rebuild it with `lc-klue index`."
            )
        raise RetrievalError(f"{root}: not a saved {what} (no config.json)")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RetrievalError(f"{cfg_path}: not valid JSON ({e})") from e
    found = config.get("format") if isinstance(config, dict) else None
    if found != fmt:
        raise RetrievalError(f"{root}: not a saved {what} (format {found!r}, expected {fmt!r})")
    if int(config.get("version", 0)) > version:
        raise RetrievalError(f"{root}: saved by a newer lc-klue (format {config['version']})")
    return config
