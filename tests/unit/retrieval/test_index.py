"""Index directories: build, manifest, load as a retriever."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.errors import RetrievalError
from lc_klue.retrieval import (
    HybridRetriever,
    IndexOverrides,
    IndexSettings,
    KiwiBM25Retriever,
    build_index,
    open_index,
)
from lc_klue.retrieval.index import read_manifest


def test_build_and_load_index(news_qa, tiny_models, cross_encoder, tmp_path: Path) -> None:
    model_dir = tiny_models.bi_encoder_dir()
    settings = IndexSettings(embedding_model=model_dir, index_type="hnsw")
    manifest = build_index(news_qa, tmp_path / "idx", settings)
    assert manifest["passages"] == 32 and manifest["kinds"] == ["dense", "bm25"]
    assert manifest["dense"]["embedding_model"] == str(Path(model_dir).resolve())
    hybrid = open_index(
        tmp_path / "idx",
        IndexOverrides(first_stage="hybrid", k=20, top_n=5, cross_encoder=cross_encoder),
        check=False,
    )
    assert isinstance(hybrid.base_retriever, HybridRetriever)
    assert len(hybrid.invoke(news_qa[0]["question"])) == 5
    bm25 = open_index(tmp_path / "idx", IndexOverrides(first_stage="bm25", k=8, top_n=8))
    assert isinstance(bm25, KiwiBM25Retriever) and len(bm25.invoke("풍력")) == 8
    build_index(news_qa, tmp_path / "lex", IndexSettings(kinds=["bm25"]))
    with pytest.raises(RetrievalError, match="no dense index"):
        open_index(tmp_path / "lex", IndexOverrides(first_stage="dense"))
    with pytest.raises(RetrievalError, match="index directory not found"):
        open_index(tmp_path / "missing")
    with pytest.raises(RetrievalError, match="needs an embedding model"):
        build_index(news_qa, tmp_path / "bad", IndexSettings(kinds=["dense"]))
    assert not (tmp_path / "bad").exists()  # atomic: nothing half-written


def test_read_manifest_names_the_problem(tmp_path: Path) -> None:
    with pytest.raises(RetrievalError, match="index directory not found"):
        read_manifest(tmp_path / "none")
    with pytest.raises(RetrievalError, match=r"no manifest\.json"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{")
    with pytest.raises(RetrievalError, match="not valid JSON"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kinds": []}))
    with pytest.raises(RetrievalError, match="not an lc-klue index manifest"):
        read_manifest(tmp_path)


def test_a_reranker_needs_the_saved_pipeline(news_qa, tmp_path: Path) -> None:
    with pytest.raises(RetrievalError, match="go into the saved pipeline"):
        settings = IndexSettings(embedding_model="some/model", kinds=["dense"], cross_encoder="ce")
        build_index(news_qa, tmp_path / "d", settings)
    assert not (tmp_path / "d").exists()
