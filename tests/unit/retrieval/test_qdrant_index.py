"""Index directories on Qdrant: ``build_index`` with ``store="qdrant"`` and ``open_index``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.data import context_id
from lc_klue.errors import ModelError, RetrievalError
from lc_klue.models import KlueEmbeddings
from lc_klue.retrieval import (
    HybridRetriever,
    IndexOverrides,
    IndexSettings,
    build_index,
    open_index,
)
from lc_klue.retrieval.fusion import FusionRetriever
from lc_klue.retrieval.qdrant_store import KlueQdrantRetriever, close, connect


@pytest.fixture(scope="module")
def qdrant_index(news_qa, tiny_models, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("qidx") / "idx"
    build_index(
        news_qa, out, IndexSettings(embedding_model=tiny_models.bi_encoder_dir(), store="qdrant")
    )
    return out


def test_manifest_and_layout(qdrant_index: Path, tiny_models) -> None:
    manifest = json.loads((qdrant_index / "manifest.json").read_text())
    assert manifest["kinds"] == ["dense", "bm25"] and manifest["passages"] == 32
    assert manifest["store"]["kind"] == "qdrant" and manifest["store"]["location"] is None
    assert manifest["dense"] == {
        "index_type": "qdrant",
        "embedding_model": str(Path(tiny_models.bi_encoder_dir()).resolve()),
    }
    assert manifest["bm25"] == {
        "tokenizer": "kiwi",
        "k1": 0.9,
        "b": 0.4,
        "analysis": "context",
    }  # the pipeline's
    assert manifest["pipeline"] == "pipeline.json"
    assert sorted(p.name for p in qdrant_index.iterdir()) == [
        "lexical.json",
        "manifest.json",
        "passages.jsonl",
        "pipeline.json",
        "qdrant",
    ]


def test_load_each_first_stage(qdrant_index: Path, news_qa, cross_encoder) -> None:
    question = news_qa[0]["question"]
    gold = context_id(news_qa[0]["context"])
    assert isinstance(open_index(qdrant_index, IndexOverrides(top_n=3)), FusionRetriever)
    hybrid = open_index(qdrant_index, IndexOverrides(first_stage="hybrid", k=10, top_n=10))
    assert isinstance(hybrid, KlueQdrantRetriever) and hybrid.vectorstore.mode == "hybrid"
    package = open_index(
        qdrant_index,
        IndexOverrides(first_stage="hybrid", hybrid_fusion="package", k=10, top_n=10),
    )
    assert isinstance(package, HybridRetriever)
    a = [context_id(d) for d in hybrid.invoke(question)]
    b = [context_id(d) for d in package.invoke(question)]
    assert a[:3] == b[:3] and set(a) == set(b)
    bm25 = open_index(qdrant_index, IndexOverrides(first_stage="bm25", top_n=5))
    assert gold in [context_id(d) for d in bm25.invoke(question)]
    dense = open_index(qdrant_index, IndexOverrides(first_stage="dense", top_n=4))
    assert len(dense.invoke(question)) == 4
    reranked = open_index(
        qdrant_index,
        IndexOverrides(first_stage="hybrid", k=12, top_n=3, cross_encoder=cross_encoder),
        check=False,
    )
    assert len(reranked.invoke(question)) == 3
    assert [len(r) for r in reranked.batch([question, news_qa[5]["question"]])] == [3, 3]


def test_model_mismatch_on_load(qdrant_index: Path, tiny_models) -> None:
    other = KlueEmbeddings.from_model(tiny_models.bi_encoder("roberta"), name="other-model")
    with pytest.raises(ModelError, match="not 'other-model'"):
        open_index(qdrant_index, IndexOverrides(first_stage="dense", embedding_model=other))


def test_an_embedded_directory_elsewhere_and_a_rebuild(news_qa, tmp_path: Path) -> None:
    shared = tmp_path / "qdrant-data"
    first = build_index(news_qa, tmp_path / "a", IndexSettings(store=f"qdrant:{shared}"))
    assert first["store"]["location"] == str(shared.resolve())
    assert not (tmp_path / "a" / "qdrant").exists()
    assert len(open_index(tmp_path / "a", IndexOverrides(top_n=3)).invoke("풍력 단지")) == 3
    retriever = open_index(tmp_path / "a", IndexOverrides(first_stage="bm25", top_n=3))
    assert len(retriever.invoke("풍력 단지")) == 3
    close(retriever.vectorstore.client)
    build_index(news_qa, tmp_path / "b", IndexSettings(store=f"qdrant:{shared}"))
    client = connect(shared)
    assert len(client.get_collections().collections) == 1  # the alias moved, the old one went
    close(client)


def test_errors_write_nothing(news_qa, tiny_models, tmp_path: Path) -> None:
    with pytest.raises(RetrievalError, match=r"cannot reach Qdrant at http://127\.0\.0\.1:9"):
        build_index(news_qa, tmp_path / "srv", IndexSettings(store="qdrant:http://127.0.0.1:9"))
    assert not (tmp_path / "srv").exists()
    with pytest.raises(RetrievalError, match="unknown store"):
        build_index(news_qa, tmp_path / "x", IndexSettings(store="milvus"))
    out = tmp_path / "gone"
    build_index(news_qa, out, IndexSettings(store="qdrant"))
    (out / "passages.jsonl").rename(out / "moved.jsonl")
    with pytest.raises(RetrievalError, match=r"passages\.jsonl: cannot read the passages"):
        open_index(out)
    (out / "moved.jsonl").rename(out / "passages.jsonl")
    for p in sorted((out / "qdrant").rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    (out / "qdrant").rmdir()
    with pytest.raises(RetrievalError, match="embedded Qdrant directory is missing"):
        open_index(out)


def test_without_the_qdrant_extra_it_is_one_line(news_qa, tmp_path: Path, monkeypatch) -> None:
    import sys

    import lc_klue.retrieval

    monkeypatch.setitem(sys.modules, "qdrant_client", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "lc_klue.retrieval.qdrant_store")
    monkeypatch.delattr(lc_klue.retrieval, "qdrant_store")
    with pytest.raises(
        RetrievalError, match=r"needs the qdrant extra: pip install 'lc-klue\[qdrant\]'"
    ):
        build_index(news_qa, tmp_path / "q", IndexSettings(store="qdrant"))
    assert not (tmp_path / "q").exists()
    build_index(news_qa, tmp_path / "f")  # the FAISS/bm25s store needs no Qdrant
