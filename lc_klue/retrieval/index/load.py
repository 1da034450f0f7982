"""Open an index directory as a retriever: :func:`open_index` serves exactly the pipeline that
was saved (FAISS or Qdrant, each stage with its parameters), and :class:`IndexOverrides`
replaces only the parts it names."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever

from lc_klue.errors import RetrievalError
from lc_klue.retrieval.index.layout import (
    INDEX_KINDS,
    LEXICAL_FILE,
    Bm25Index,
    dense_features,
    dense_store,
    index_bm25,
    is_qdrant,
    model_path,
    qdrant_store,
    read_manifest,
    saved_pipeline,
)
from lc_klue.retrieval.model_check import ModelCheck, admits, check_model
from lc_klue.retrieval.parts import PipelineParts
from lc_klue.retrieval.pipeline import (
    FIRST_STAGE_KINDS,
    FirstStageKind,
    FusionStage,
    PipelineSpec,
    RerankStage,
    build_pipeline,
)
from lc_klue.retrieval.saved_pipeline import SavedPipeline

logger = logging.getLogger(__name__)

#: What each first stage needs from an index directory.
NEEDED = {"dense": ["dense"], "bm25": ["bm25"], "hybrid": ["dense", "bm25"]}


@dataclass(frozen=True)
class IndexOverrides:
    """The parts of an index's saved pipeline to replace; None leaves each as saved."""

    k: int | None = None
    """Candidates the first stage proposes (never fewer than ``top_n``)."""
    top_n: int | None = None
    """Passages returned."""
    first_stage: FirstStageKind | None = None
    """Serve this first stage alone (``dense``, ``bm25`` or ``hybrid``) instead of the saved
    pipeline's stages; an index without a saved pipeline serves ``hybrid`` when it has both
    indexes, else the one it has."""
    embedding_model: str | Path | Embeddings | None = None
    """The bi-encoder embedding the questions (a path, hub id or loaded embeddings) instead of
    the one recorded in the manifest; it must be the model the passages were embedded with."""
    cross_encoder: str | Path | Any | None = None
    """A cross-encoder (path, hub id or loaded ``CrossEncoder``) reranking the last stage's
    candidates, if it passes its check on the index's passages."""
    rerank_fusion: Literal["none", "rrf"] | None = None
    """Fuse the cross-encoder's rank with the previous stage's (``rrf``) or not (None: rrf
    after a saved pipeline, none after a first stage alone)."""
    rerank_window: int | None = None
    """The cross-encoder reads each passage's best window of this many tokens."""
    cascade_margin: float | None = None
    """Skip reranking when the previous stage's top-1 score leads its top-2 by this much."""
    hybrid_fusion: Literal["package", "store"] | None = None
    """A ``hybrid`` first stage fuses its rankings here (``package``) or inside Qdrant
    (``store``; None: ``store`` on a Qdrant index)."""


def open_index(
    index_dir: str | Path,
    overrides: IndexOverrides | None = None,
    *,
    device: str | None = None,
    backend: str | None = None,
    batch_size: int = 64,
    check: bool = True,
) -> BaseRetriever:
    """The retriever an index directory's saved pipeline describes, with ``overrides``.

    Models run on ``device`` with ``backend`` (``onnx``/``int8`` on the CPU) in batches of
    ``batch_size``. A cross-encoder is checked on the index's passages first (``check``;
    :func:`~lc_klue.retrieval.model_check.check_model`): near chance it is left out, with a
    warning."""
    o = overrides or IndexOverrides()
    root = Path(index_dir).expanduser()
    manifest = read_manifest(root)
    saved = saved_pipeline(root) if o.first_stage is None else None
    options: dict[str, Any] = {"device": device, "backend": backend, "batch_size": batch_size}
    found = index_bm25(root, manifest) if o.cross_encoder is not None or saved else None
    if saved is not None:
        for verdict in saved.checks:
            if verdict.get("near_chance"):
                logger.info("%s", verdict.get("line"))
        spec, parts = saved.spec, pipeline_parts(root, saved, options, o.embedding_model, found)
    else:
        spec, parts = _first_stage_alone(root, manifest, o, options, found)
    return serve(spec, parts, o, found, check=check)


def serve(
    spec: PipelineSpec,
    parts: PipelineParts,
    overrides: IndexOverrides,
    checked_on: Bm25Index | None,
    *,
    check: bool = True,
) -> BaseRetriever:
    """The retriever of ``spec`` over ``parts`` with the overrides' cross-encoder and sizes:
    the cross-encoder (checked on ``checked_on``'s passages, its BM25 proposing the
    distractors, unless ``check`` is False; near chance it is left out, with a warning)
    reranks the last stage's candidates, fused by reciprocal rank after a pipeline's stages
    unless ``rerank_fusion`` says otherwise."""
    o = overrides
    if o.cross_encoder is not None:
        name = _cross_encoder(parts, o.cross_encoder)
        if not check or admits(_check(parts, name, checked_on)):
            rerank = RerankStage(
                cross_encoder=name,
                fusion=o.rerank_fusion or ("rrf" if spec.stages else "none"),
                window=o.rerank_window,
                cascade_margin=o.cascade_margin,
            )
            spec = spec.model_copy(update={"stages": [*spec.stages, rerank]})
    return build_pipeline(spec.sized(o.k, o.top_n), parts)


def _cross_encoder(parts: PipelineParts, model: Any) -> str:
    """The name ``parts`` knows the cross-encoder ``model`` by (a loaded one is added)."""
    if isinstance(model, str | Path):
        return model_path(model) or str(model)
    name = str(getattr(model, "name_or_path", None) or "cross-encoder")
    parts.use_model(name, model)
    return name


def _check(parts: PipelineParts, name: str, found: Bm25Index | None) -> ModelCheck | None:
    """:func:`check_model` of the cross-encoder ``name`` on the index's passages, its BM25
    proposing the distractors; None when the index has no BM25 to check with."""
    if found is None:
        return None
    docs, bm25, _ = found
    return check_model(parts.cross_encoder(name), "cross-encoder", name, docs, bm25)


def _embeddings(model: str | Path | Embeddings, options: dict[str, Any]) -> Embeddings:
    """``model`` as LangChain embeddings (a path or hub id is loaded)."""
    if isinstance(model, Embeddings):
        return model
    from lc_klue.models.embeddings import KlueEmbeddings

    return KlueEmbeddings(
        model_name_or_path=str(model), device=options["device"], backend=options["backend"]
    )


def pipeline_parts(
    index_dir: str | Path,
    saved: SavedPipeline,
    options: dict[str, Any] | None = None,
    embedding_model: str | Path | Embeddings | None = None,
    found: Bm25Index | None = None,
) -> PipelineParts:
    """The parts of an index directory's pipeline, loaded (not rebuilt): its BM25 index
    (``found``, else read here) and passages, its lexical features and the dense vectors of
    its bi-encoder (``embedding_model`` embeds the questions instead of the recorded one).
    ``options``: ``device``, ``backend``, ``batch_size`` of the models."""
    options = {"device": None, "backend": None, "batch_size": 64, **(options or {})}
    root = Path(index_dir).expanduser()
    manifest = read_manifest(root)
    if saved.spec.first_stage.kind in ("bm25", "hybrid") and found is None:
        found = index_bm25(root, manifest)
    if found is None:
        raise RetrievalError(f"{root}: a saved pipeline starts with this index's BM25")
    docs, bm25, k1b = found
    name = manifest.get("dense", {}).get("embedding_model")
    embeddings = {n: _embeddings(n, options) for n in saved.spec.embedding_models() if n != name}
    if name in saved.spec.embedding_models():
        embeddings[name] = _embeddings(embedding_model or name, options)
    store = dense_store(root, manifest, embeddings[name]) if name in embeddings else None
    parts = PipelineParts(
        docs,
        **options,
        indexes={k1b: bm25, **({name: store} if store is not None else {})},
        models=embeddings,
    )
    for stage in saved.spec.stages:
        if isinstance(stage, FusionStage) and stage.lexical and (root / LEXICAL_FILE).is_file():
            from lc_klue.retrieval.lexical_features import LexicalFeatures

            lexical = LexicalFeatures.load(root / LEXICAL_FILE, docs)
            if list(lexical.windows) == list(stage.windows):
                parts.use_scorer(("lexical", stage.windows), lexical)
    dense = dense_features(store, embeddings[name], docs) if store is not None else None
    if dense is not None:
        parts.use_scorer(("dense", name), dense)
    return parts


def _first_stage_alone(
    root: Path,
    manifest: dict[str, Any],
    o: IndexOverrides,
    options: dict[str, Any],
    found: Bm25Index | None,
) -> tuple[PipelineSpec, PipelineParts]:
    """The spec of ``o.first_stage`` alone over the index's own indexes, and its parts."""
    kinds = manifest["kinds"]
    kind = o.first_stage or ("hybrid" if set(INDEX_KINDS) <= set(kinds) else kinds[0])
    if kind not in FIRST_STAGE_KINDS:
        raise RetrievalError(f"unknown first stage {kind!r}; choose dense, bm25 or hybrid")
    missing = [n for n in NEEDED[kind] if n not in kinds]
    if missing:
        raise RetrievalError(f"{root}: no {' or '.join(missing)} index (has: {', '.join(kinds)})")
    embeddings, name = None, ""
    if "dense" in NEEDED[kind]:
        model = o.embedding_model or manifest["dense"]["embedding_model"]
        name = str(getattr(model, "model_name_or_path", None) or model)
        embeddings = _embeddings(model, options)
    indexes, docs = _open_stores(root, manifest, kind, name, embeddings, found)
    k1b = next((k for k in indexes if isinstance(k, tuple)), None)
    spec = PipelineSpec.checked(
        first_stage={
            "kind": kind,
            "embedding_model": name or None,
            "fusion": o.hybrid_fusion or ("store" if is_qdrant(manifest) else "package"),
            **({"k1": k1b[0], "b": k1b[1]} if k1b is not None else {}),
        }
    )
    models = {name: embeddings} if embeddings is not None else None
    return spec, PipelineParts(docs, **options, indexes=indexes, models=models)


def _open_stores(
    root: Path,
    manifest: dict[str, Any],
    kind: str,
    name: str,
    embeddings: Embeddings | None,
    found: Bm25Index | None,
) -> tuple[dict[Any, Any], list[Any]]:
    """The indexes a first stage ``kind`` needs (vector store by model name, BM25 by
    ``(k1, b)``) and the passages (none on Qdrant: they stay in the collection)."""
    indexes: dict[Any, Any] = {}
    needs_bm25 = "bm25" in NEEDED[kind]
    if is_qdrant(manifest):
        collection = qdrant_store().open_qdrant_index(root, manifest, embeddings, kind)
        if embeddings is not None:
            indexes[name] = collection.view("dense")
        if needs_bm25:
            k1b = (manifest["bm25"]["k1"], manifest["bm25"]["b"])
            indexes[k1b] = collection.view("bm25").as_retriever()
        return indexes, []
    from lc_klue.retrieval.faiss_store import KlueFAISS

    if embeddings is not None:
        indexes[name] = KlueFAISS.load(root / "dense", embeddings)
    if needs_bm25:
        found = found or index_bm25(root, manifest)
        assert found is not None
        indexes[found[2]] = found[1]
        return indexes, found[0]
    return indexes, indexes[name].documents()
