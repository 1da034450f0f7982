"""Index directories: the passages' dense (FAISS) and BM25 indexes saved together, and loaded
back as a retriever through :func:`~lc_klue.retrieval.pipeline.build_pipeline`.

Layout: ``dense/`` (:class:`~lc_klue.retrieval.faiss_store.KlueFAISS`), ``bm25/``
(:class:`~lc_klue.retrieval.bm25.KiwiBM25Retriever`), ``pipeline.json`` (the retrieval pipeline,
:class:`~lc_klue.retrieval.saved_pipeline.SavedPipeline`), ``lexical.json`` (its lexical
features' Kiwi analysis) and ``manifest.json`` (kinds, passage count, embedding model,
pipeline), read by :func:`read_manifest` alone. :func:`load_pipeline` serves the saved
pipeline; :func:`load_retriever` composes any other first stage and reranker. With
``store="qdrant"`` both indexes live in one Qdrant collection instead
(:mod:`~lc_klue.retrieval.qdrant_store`): embedded under ``qdrant/``, in another embedded
directory, or on a server, as the manifest's ``store`` says. The pipeline is the same: its BM25
candidates come from the collection's sparse vectors, and its lexical features read every
passage from ``passages.jsonl`` (a local copy, in corpus order, beside ``lexical.json``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore

from lc_klue.data import MrcSource, context_id, mrc_documents
from lc_klue.errors import DataError, RetrievalError
from lc_klue.retrieval.base import read_documents, write_documents
from lc_klue.retrieval.bm25 import KiwiBM25Retriever
from lc_klue.retrieval.compressor import CrossEncoderReranker
from lc_klue.retrieval.faiss_store import KlueFAISS
from lc_klue.retrieval.lexical_features import LexicalFeatures
from lc_klue.retrieval.model_check import ModelCheck, check_model
from lc_klue.retrieval.pipeline import (
    FIRST_STAGE_KINDS,
    FirstStageKind,
    FusionStage,
    PipelineParts,
    PipelineSpec,
    build_pipeline,
    model_path,
)
from lc_klue.retrieval.saved_pipeline import (
    PIPELINE_FILE,
    SavedPipeline,
    add_models,
    default_pipeline,
    fit_pipeline,
)
from lc_klue.storage import atomic_directory, atomic_write_text

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
#: The saved lexical features of the pipeline (the Kiwi analysis of every passage).
LEXICAL_FILE = "lexical.json"
#: A Qdrant index's passages, in corpus order, for its pipeline's lexical features.
PASSAGES_FILE = "passages.jsonl"
INDEX_KINDS = ("dense", "bm25")
#: What each first stage needs from an index directory.
NEEDED = {"dense": ["dense"], "bm25": ["bm25"], "hybrid": ["dense", "bm25"]}


#: The stores an index directory can keep its passages in (``--store``).
STORES = ("faiss", "qdrant")


def parse_store(spec: str) -> tuple[str, str | None]:
    """``faiss``, ``qdrant`` (embedded, inside the index directory), ``qdrant:PATH`` (an
    embedded directory) or ``qdrant:URL`` (a server) → ``(kind, location or None)``."""
    kind, _, location = str(spec).partition(":")
    if kind not in STORES or (kind == "faiss" and location):
        raise RetrievalError(
            f"unknown store {spec!r}; use faiss, qdrant, qdrant:PATH or qdrant:URL"
        )
    if kind == "qdrant" and location == ":memory:":
        raise RetrievalError("an index directory cannot keep a :memory: Qdrant; give a PATH or URL")
    return kind, location or None


def qdrant_store() -> Any:
    """:mod:`lc_klue.retrieval.qdrant_store`, or one clear line when the extra is missing."""
    try:
        from lc_klue.retrieval import qdrant_store as module
    except ModuleNotFoundError as e:
        if e.name not in ("qdrant_client", "langchain_qdrant"):
            raise
        raise RetrievalError(
            "the Qdrant store needs the qdrant extra: pip install 'lc-klue[qdrant]'"
        ) from None
    return module


def index_documents(store: VectorStore, data: MrcSource, batch_size: int = 10_000) -> list[str]:
    """Add the distinct passages of MRC data to any LangChain ``VectorStore`` (ids =
    ``context_id``), in chunks of ``batch_size``."""
    docs = mrc_documents(data)
    ids: list[str] = []
    for start in range(0, len(docs), batch_size):
        chunk = docs[start : start + batch_size]
        ids += store.add_documents(chunk, ids=[d.metadata["context_id"] for d in chunk])
    return ids


def build_index(
    data: MrcSource,
    output_dir: str | Path,
    embedding_model: str | Path | Embeddings | None = None,
    kinds: Sequence[str] = INDEX_KINDS,
    index_type: str = "flat",
    *,
    device: str | None = None,
    batch_size: int = 64,
    store: str = "faiss",
    collection: str = "lc_klue",
    pipeline: SavedPipeline | None = None,
    cross_encoder: str | Path | None = None,
    tune: Tuning | None = None,
    show_progress: bool = False,
    backend: str | None = None,
    workers: int = 1,
    **index_params: Any,
) -> dict[str, Any]:
    """Build and save the indexes ``kinds`` of MRC data under ``output_dir`` (atomically);
    returns the manifest. ``store``: ``faiss`` (FAISS + bm25s files), ``qdrant`` (an embedded
    Qdrant in the directory), ``qdrant:PATH`` or ``qdrant:URL`` (collection ``collection``);
    ``backend`` runs the embedding model on ``torch``, or ``onnx``/``int8`` on the CPU;
    ``workers`` > 1 embeds the passages in that many processes.

    With a BM25 index the directory also holds the whole retrieval pipeline (``pipeline.json``,
    :class:`SavedPipeline`; default: the one lc-klue ships) and its lexical features, so
    :func:`load_pipeline` serves it at once, from either store (a Qdrant index keeps its
    passages in ``passages.jsonl`` too: the lexical features read every one). The bi-encoder
    of the dense index and ``cross_encoder`` join it only if they pass :func:`check_model`;
    ``tune`` refits the fusion weights on those questions (:func:`fit_pipeline`)."""
    store_kind, location = parse_store(store)
    qdrant = qdrant_store() if store_kind == "qdrant" else None  # a missing extra: before work
    kinds = list(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in INDEX_KINDS]
    if unknown or not kinds:
        raise RetrievalError(f"unknown index kind(s) {unknown or kinds}; choose dense and/or bm25")
    if "dense" in kinds and embedding_model is None:
        raise RetrievalError("a dense index needs an embedding model (embedding_model=...)")
    if (cross_encoder is not None or tune is not None) and "bm25" not in kinds:
        raise RetrievalError(
            "a reranker or tuning questions go into the saved pipeline, which needs the BM25 "
            "index (kinds with bm25)"
        )
    docs = mrc_documents(data)
    manifest: dict[str, Any] = {"kinds": kinds, "passages": len(docs)}
    with atomic_directory(output_dir) as tmp:
        embeddings = None
        if "dense" in kinds:
            from lc_klue.models.embeddings import embedding_fingerprint

            embeddings = _bi_encoder(embedding_model, device, batch_size, backend, workers)
            name = model_path(embedding_fingerprint(embeddings)["name"])
            manifest["dense"] = {"index_type": index_type, "embedding_model": name}
        name = manifest.get("dense", {}).get("embedding_model")
        saved = (pipeline or default_pipeline(name)) if "bm25" in kinds else None
        k1b = (saved.spec.first_stage.k1, saved.spec.first_stage.b) if saved else None
        if k1b is not None:
            manifest["bm25"] = {"tokenizer": "kiwi", "k1": k1b[0], "b": k1b[1]}
        stores: dict[str, VectorStore] = {}
        bm25: Any = None
        if qdrant is not None:
            manifest["store"] = qdrant.write_qdrant_index(
                docs, tmp, location, embeddings, bm25=k1b, collection=collection
            )
            if "dense" in kinds:
                manifest["dense"]["index_type"] = "qdrant"
            if k1b is not None:  # the collection's BM25 proposes; the fusion reads every passage
                write_documents(tmp / PASSAGES_FILE, docs)
                bm25 = _sparse_bm25(tmp, manifest)[1]
        else:
            if embeddings is not None:
                dense = KlueFAISS.from_mrc(docs, embeddings, index_type=index_type, **index_params)
                dense.save(tmp / "dense")
                stores[name] = dense
            if k1b is not None:
                files = KiwiBM25Retriever(docs=docs, k1=k1b[0], b=k1b[1])
                files.save(tmp / "bm25")
                bm25 = files
        if saved is not None and k1b is not None and bm25 is not None:
            parts = PipelineParts(
                docs,
                device=device,
                batch_size=batch_size,
                show_progress=show_progress,
                stores=stores,
                embeddings={name: embeddings} if embeddings is not None else None,
                bm25={k1b: bm25},
            )
            try:
                saved = _pipeline_for(saved, parts, bm25, name, model_path(cross_encoder), tune)
            finally:
                if qdrant is not None:
                    qdrant.close(bm25.store.client)  # unlocked before the directory moves
            _save_pipeline(tmp, saved, parts)
            manifest["pipeline"] = PIPELINE_FILE
        atomic_write_text(tmp / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def _bi_encoder(
    model: str | Path | Embeddings | None,
    device: str | None,
    batch_size: int,
    backend: str | None,
    workers: int,
) -> Embeddings:
    """``model`` as LangChain embeddings (a path or hub id is loaded)."""
    if isinstance(model, Embeddings):
        return model
    from lc_klue.models.embeddings import KlueEmbeddings

    return KlueEmbeddings(
        model_name_or_path=str(model),
        device=device,
        batch_size=batch_size,
        backend=backend,
        workers=workers,
    )


def _save_pipeline(root: Path, saved: SavedPipeline, parts: PipelineParts) -> None:
    """Write ``saved`` and the lexical features of its fusion stage under ``root``."""
    saved.save(root / PIPELINE_FILE)
    for stage in saved.spec.stages:
        if isinstance(stage, FusionStage) and stage.lexical:
            parts.lexical(stage.windows).save(root / LEXICAL_FILE)
            break


@dataclass(frozen=True)
class Tuning:
    """Questions to fit a pipeline's fusion weights on, with their gold passage texts, and
    where they come from (recorded in the pipeline file); ``answers`` (MRC ``text`` and
    ``answer_start`` per question) place a gold passage among the chunks of a document."""

    questions: list[str]
    gold_contexts: list[str]
    about: dict[str, Any]
    answers: list[dict[str, Any]] | None = None


def tuning_gold_ids(tune: Tuning, documents: Sequence[Document]) -> tuple[list[str], list[str]]:
    """The tuning questions whose gold passage maps onto the corpus, and the corpus id of each
    one's passage: the passage itself, or the chunk standing for it when the corpus splits
    documents into chunks (:func:`~lc_klue.data.gold.chunk_gold_ids`). Questions
    that map to nothing are dropped with one warning line; when all do, one
    :class:`DataError` line."""
    from datasets import Dataset

    from lc_klue.data.gold import chunk_gold_ids

    corpus = Dataset.from_dict(
        {
            "context_id": [str(d.metadata["context_id"]) for d in documents],
            "context": [d.page_content for d in documents],
        }
    )
    ids = chunk_gold_ids(tune.gold_contexts, tune.answers, corpus)
    kept = [n for n, cid in enumerate(ids) if cid is not None]
    if not kept:
        raise DataError(
            f"none of the {len(ids)} tuning questions has its gold passage in the corpus, "
            "whole or in a chunk (holding its answer or sharing half its text): tune on "
            "questions about the indexed passages"
        )
    if len(kept) < len(ids):
        logger.warning(
            "%d of %d tuning questions dropped: their gold passage is not in the corpus, "
            "whole or in a chunk (holding its answer or sharing half its text)",
            len(ids) - len(kept),
            len(ids),
        )
    return [tune.questions[n] for n in kept], [str(ids[n]) for n in kept]


def _pipeline_for(
    saved: SavedPipeline,
    parts: PipelineParts,
    bm25: BaseRetriever,
    embedding_model: str | None,
    cross_encoder: str | None,
    tune: Tuning | None,
) -> SavedPipeline:
    """``saved`` with the models that pass their check, refitted on ``tune``'s questions."""
    checks = []
    if embedding_model is not None:
        checks.append(
            check_model(
                parts.embeddings(embedding_model),
                "embedding model",
                embedding_model,
                parts.documents,
                bm25,
            )
        )
    if cross_encoder is not None:
        checks.append(
            check_model(
                parts.cross_encoder(cross_encoder),
                "cross-encoder",
                cross_encoder,
                parts.documents,
                bm25,
            )
        )
    first = checks[0] if checks else None
    if first is not None and first.near_chance and first.model in saved.spec.embedding_models():
        saved = default_pipeline()  # the pipeline was built around the model: BM25's instead
    saved = add_models(
        saved, embedding_model=embedding_model, cross_encoder=cross_encoder, checks=checks
    )
    if tune is not None:
        questions, gold = tuning_gold_ids(tune, parts.documents)
        saved = fit_pipeline(saved, parts, questions, gold, tune.about)
    return saved


def read_manifest(index_dir: str | Path) -> dict[str, Any]:
    """The manifest of an index directory (:class:`RetrievalError` when it is not one)."""
    root = Path(index_dir).expanduser()
    if not root.is_dir():
        raise RetrievalError(f"{root}: index directory not found")
    path = root / MANIFEST
    if not path.is_file():
        raise RetrievalError(f"{root}: not an lc-klue index directory (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise RetrievalError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(manifest, dict) or not manifest.get("kinds"):
        raise RetrievalError(f"{path}: not an lc-klue index manifest")
    return manifest


def saved_pipeline(index_dir: str | Path) -> SavedPipeline | None:
    """The pipeline saved in an index directory, or None when it has none (a dense-only
    index, or one built before pipelines were saved)."""
    root = Path(index_dir).expanduser()
    manifest = read_manifest(root)
    if not manifest.get("pipeline"):
        return None
    return SavedPipeline.load(root / manifest["pipeline"])


def pipeline_parts(
    index_dir: str | Path,
    saved: SavedPipeline,
    *,
    device: str | None = None,
    batch_size: int = 64,
    cross_encoders: dict[str, Any] | None = None,
) -> PipelineParts:
    """The parts of an index directory's pipeline: its BM25 index (bm25s files, or the Qdrant
    collection's sparse vectors) and passages, its lexical features and the dense vectors of
    its bi-encoder, loaded (not rebuilt); ``cross_encoders`` are loaded models by name."""
    root = Path(index_dir).expanduser()
    manifest = read_manifest(root)
    fs = saved.spec.first_stage
    found = index_bm25(root, manifest) if fs.kind in ("bm25", "hybrid") else None
    if found is None:
        raise RetrievalError(f"{root}: a saved pipeline starts with this index's BM25")
    docs, bm25, k1b = found
    embeddings: dict[str, Embeddings] = {}
    for name in saved.spec.embedding_models():
        from lc_klue.models.embeddings import KlueEmbeddings

        embeddings[name] = KlueEmbeddings(model_name_or_path=name, device=device)
    name = manifest.get("dense", {}).get("embedding_model")
    store = _dense_store(root, manifest, embeddings[name]) if name in embeddings else None
    stores: dict[str, VectorStore] = {name: store} if store is not None else {}
    parts = PipelineParts(
        docs,
        device=device,
        batch_size=batch_size,
        stores=stores,
        embeddings=embeddings,
        bm25={k1b: bm25},
        cross_encoders=cross_encoders,
    )
    for stage in saved.spec.stages:
        if isinstance(stage, FusionStage) and stage.lexical and (root / LEXICAL_FILE).is_file():
            lexical = LexicalFeatures.load(root / LEXICAL_FILE, docs)
            if list(lexical.windows) == list(stage.windows):
                parts.use_scorer(("lexical", stage.windows), lexical)
    dense = _dense_features(store, embeddings[name], docs) if store is not None else None
    if dense is not None:
        parts.use_scorer(("dense", name), dense)
    return parts


def _dense_store(root: Path, manifest: dict[str, Any], embeddings: Embeddings) -> VectorStore:
    """An index directory's dense vectors as a vector store (FAISS files or the Qdrant
    collection searched densely), loaded once for the first stage and the fusion's cosine."""
    if manifest.get("store", {}).get("kind") == "qdrant":
        return qdrant_store().open_qdrant_index(root, manifest, embeddings, "dense")
    return KlueFAISS.load(root / "dense", embeddings)


def index_bm25(
    root: Path, manifest: dict[str, Any]
) -> tuple[list[Document], BaseRetriever, tuple[float, float]] | None:
    """An index directory's passages (in corpus order), its BM25 retriever and that
    retriever's ``(k1, b)``: the bm25s files, or the Qdrant collection's sparse vectors with
    ``passages.jsonl``. None when the index has no BM25 (or, on Qdrant, no pipeline)."""
    if "bm25" not in manifest["kinds"]:
        return None
    if manifest.get("store", {}).get("kind") == "qdrant":
        return _sparse_bm25(root, manifest) if manifest.get("pipeline") else None
    if not (root / "bm25").is_dir():
        return None
    files = KiwiBM25Retriever.load(root / "bm25")
    return files.docs, files, (files.k1, files.b)


def _sparse_bm25(
    root: Path, manifest: dict[str, Any]
) -> tuple[list[Document], Any, tuple[float, float]]:
    """:func:`index_bm25` of a Qdrant index: the collection's BM25 over ``passages.jsonl``."""
    try:
        docs = read_documents(root / PASSAGES_FILE)
    except (OSError, ValueError, KeyError) as e:
        raise RetrievalError(f"{root / PASSAGES_FILE}: cannot read the passages ({e})") from None
    store = qdrant_store().open_qdrant_index(root, manifest, None, "bm25")
    from lc_klue.retrieval.sparse import SparseBM25Retriever

    bm25 = SparseBM25Retriever(store=store, docs=docs)
    return docs, bm25, (store.sparse.k1, store.sparse.b)


def _dense_features(store: Any, embeddings: Embeddings, docs: list[Document]) -> Any:
    """Cosine features of the index's bi-encoder over ``docs`` from the vectors ``store`` holds
    (:func:`_dense_store`); None when the FAISS vectors do not cover the corpus."""
    from lc_klue.retrieval.fusion import DenseFeatures

    if isinstance(store, KlueFAISS):
        if len(store) != len(docs):
            return None
        return DenseFeatures(embeddings, store.documents(), vectors=store.vectors())
    ids = [str(d.id) if d.id is not None else context_id(d) for d in docs]
    return DenseFeatures(embeddings, docs, vectors=store.vectors(ids))  # a KlueQdrant


def load_pipeline(
    index_dir: str | Path,
    *,
    k: int | None = None,
    top_n: int | None = None,
    device: str | None = None,
    cross_encoder: Any = None,
    fusion: Literal["none", "rrf"] = "rrf",
    check: bool = True,
    batch_size: int = 64,
) -> BaseRetriever:
    """The retriever an index directory's saved pipeline describes, in one call.

    ``k``/``top_n`` override the pipeline's candidate and result counts. ``cross_encoder`` (a
    path, hub id or loaded ``CrossEncoder``) adds a reranker, fused with the pipeline's ranking
    by ``fusion`` (``rrf`` or ``none``), if it passes :func:`check_model` on this index's
    passages (``check=False``: it was checked already); near chance it is left out, with a
    warning.
    """
    root = Path(index_dir).expanduser()
    saved = saved_pipeline(root)
    if saved is None:
        raise RetrievalError(
            f"{root}: this index has no saved pipeline (rebuild it with `lc-klue index`)"
        )
    given: dict[str, Any] = {}
    name = None
    if cross_encoder is not None:
        if isinstance(cross_encoder, str | Path):
            name = model_path(cross_encoder) or str(cross_encoder)
        else:
            name = str(getattr(cross_encoder, "name_or_path", None) or "cross-encoder")
            given[name] = cross_encoder
    parts = pipeline_parts(root, saved, device=device, batch_size=batch_size, cross_encoders=given)
    for verdict in saved.checks:
        if verdict.get("near_chance"):
            logger.info("%s", verdict.get("line"))
    if name is not None:
        verdicts = [check_index_model(parts, saved, name)] if check else []
        saved = add_models(saved, cross_encoder=name, checks=verdicts, rerank_fusion=fusion)
    return build_pipeline(saved.sized(k, top_n), parts)


def check_reranker(index_dir: str | Path, model: Any, name: str | Path) -> ModelCheck | None:
    """:func:`check_model` of a loaded cross-encoder on an index directory's passages (its
    BM25 index proposes the distractors); None when the index has no BM25 or too few
    passages."""
    root = Path(index_dir).expanduser()
    found = index_bm25(root, read_manifest(root))
    if found is None:
        return None
    docs, bm25, _ = found
    return check_model(model, "cross-encoder", str(name), docs, bm25)


def checked_reranker(
    index_dir: str | Path,
    name: str | Path | None,
    *,
    device: str | None = None,
    backend: str | None = None,
    max_length: int | None = 512,
    check: bool = True,
) -> Any:
    """The cross-encoder ``name`` loaded for an index directory, or None when none is named or
    (``check``) it is near chance on the index's passages (:func:`check_reranker`; one warning
    line, :func:`~lc_klue.retrieval.model_check.admits`)."""
    if not name:
        return None
    from lc_klue.models.reranker import load_cross_encoder
    from lc_klue.retrieval.model_check import admits

    model = load_cross_encoder(name, device, max_length, backend=backend)
    if check and not admits(check_reranker(index_dir, model, name)):
        return None
    return model


def check_index_model(
    parts: PipelineParts, saved: SavedPipeline, name: str, kind: str = "cross-encoder"
) -> ModelCheck | None:
    """:func:`check_model` of the model ``name`` (loaded through ``parts``) on the passages of
    ``parts``, with the pipeline's BM25 proposing the distractors."""
    fs = saved.spec.first_stage
    model = parts.cross_encoder(name) if kind == "cross-encoder" else parts.embeddings(name)
    return check_model(model, kind, name, parts.documents, parts.bm25(fs.k1, fs.b))  # type: ignore[arg-type]


def load_retriever(
    index_dir: str | Path,
    kind: FirstStageKind | str | None = None,
    *,
    embedding_model: str | Path | Embeddings | None = None,
    reranker: CrossEncoderReranker | Any | None = None,
    k: int = 30,
    top_n: int = 10,
    device: str | None = None,
    hybrid_fusion: str | None = None,
    **reranker_kwargs: Any,
) -> BaseRetriever:
    """Load the indexes of ``index_dir`` and compose the retriever.

    With no ``kind``, ``embedding_model`` or ``reranker``, an index with a saved pipeline
    serves that pipeline (:func:`load_pipeline`, sized ``k``/``top_n``). Otherwise ``kind``
    defaults to ``hybrid`` when both indexes exist, else the one that does;
    ``embedding_model`` defaults to the model recorded in the manifest. ``hybrid_fusion``:
    ``store`` (inside Qdrant, the default for a Qdrant index) or ``package``. ``reranker`` (a model
    path, a ``CrossEncoder`` or a :class:`CrossEncoderReranker`) reorders ``k`` candidates to
    ``top_n``; ``reranker_kwargs`` are :class:`~lc_klue.retrieval.pipeline.RerankStage` fields
    (``window``, ``cascade_margin`` …) and ``batch_size``, ``max_length``, ``backend`` (of
    every model loaded here: ``onnx``/``int8`` on the CPU).
    """
    root = Path(index_dir).expanduser()
    manifest = read_manifest(root)
    if kind is None and embedding_model is None and reranker is None and manifest.get("pipeline"):
        return load_pipeline(root, k=k, top_n=top_n, device=device)
    kinds = manifest["kinds"]
    if kind is None:
        kind = "hybrid" if set(INDEX_KINDS) <= set(kinds) else kinds[0]
    if kind not in FIRST_STAGE_KINDS:
        raise RetrievalError(f"unknown first stage {kind!r}; choose dense, bm25 or hybrid")
    missing = [n for n in NEEDED[kind] if n not in kinds]
    if missing:
        raise RetrievalError(f"{root}: no {' or '.join(missing)} index (has: {', '.join(kinds)})")
    qdrant = manifest.get("store", {}).get("kind") == "qdrant"
    stores: dict[str, Any] = {}
    embeddings: dict[str, Embeddings] = {}
    model_name = None
    if "dense" in NEEDED[kind]:
        model = embedding_model or manifest["dense"]["embedding_model"]
        model_name = str(getattr(model, "model_name_or_path", None) or model)
        if isinstance(model, Embeddings):
            embeddings[model_name] = model
        else:
            from lc_klue.models.embeddings import KlueEmbeddings

            embeddings[model_name] = KlueEmbeddings(
                model_name_or_path=model_name,
                device=device,
                backend=reranker_kwargs.get("backend"),
            )
    bm25: BaseRetriever | None = None
    if qdrant:
        collection = qdrant_store().open_qdrant_index(
            root, manifest, embeddings.get(str(model_name)), kind
        )
        if model_name is not None:
            stores[model_name] = collection.view("dense")
        if "bm25" in NEEDED[kind]:
            bm25 = collection.view("bm25").as_retriever()
        k1b = (manifest["bm25"]["k1"], manifest["bm25"]["b"]) if bm25 is not None else None
        docs: list[Document] = []  # the passages stay in Qdrant
    else:
        if model_name is not None:
            stores[model_name] = KlueFAISS.load(root / "dense", embeddings[model_name])
        lexical = KiwiBM25Retriever.load(root / "bm25") if "bm25" in NEEDED[kind] else None
        bm25, k1b = lexical, (lexical.k1, lexical.b) if lexical is not None else None
        docs = lexical.docs if lexical is not None else stores[str(model_name)].documents()
    fusion = hybrid_fusion or ("store" if qdrant else "package")
    stages, cross_encoders = _rerank_stage(reranker, reranker_kwargs)
    spec = PipelineSpec.checked(
        first_stage={
            "kind": kind,
            "embedding_model": model_name,
            "fusion": fusion,
            **({"k1": k1b[0], "b": k1b[1]} if k1b is not None else {}),
        },
        stages=stages,
        k=k if stages else top_n,
        top_n=top_n,
    )
    parts = PipelineParts(
        docs,
        device=device,
        stores=stores,
        embeddings=embeddings,
        bm25={k1b: bm25} if bm25 is not None and k1b is not None else None,
        cross_encoders=cross_encoders,
        **{
            key: reranker_kwargs[key]
            for key in ("batch_size", "max_length", "backend")
            if key in reranker_kwargs
        },
    )
    return build_pipeline(spec, parts)


def _rerank_stage(
    reranker: Any, kwargs: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rerank stage of a reranker given as a path, a model or a compressor."""
    if reranker is None:
        return [], {}
    names = ("fusion", "fusion_weight", "window", "cascade_margin")
    fields: dict[str, Any] = {k: kwargs[k] for k in names if k in kwargs}
    if isinstance(reranker, str | Path):
        return [{"kind": "rerank", "cross_encoder": str(reranker), **fields}], {}
    if isinstance(reranker, CrossEncoderReranker):
        fields = {"fusion": reranker.fusion, "fusion_weight": reranker.fusion_weight, **fields}
        reranker = reranker.model
    return [{"kind": "rerank", "cross_encoder": "reranker", **fields}], {"reranker": reranker}
