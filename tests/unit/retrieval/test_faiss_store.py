"""KlueFAISS: cosine scores, index types, batched retrieval, save/load and its refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset
from langchain_core.vectorstores import InMemoryVectorStore

from lc_klue.data import context_id
from lc_klue.errors import DataError, ModelError, RetrievalError
from lc_klue.models import KlueEmbeddings
from lc_klue.retrieval import KlueFAISS, build_first_stage
from lc_klue.retrieval.index import index_documents
from tests.kit import TinyModelFactory


def test_from_mrc_deduplicates_and_keeps_metadata(news_qa: Dataset, news_store: KlueFAISS):
    contexts = list(dict.fromkeys(news_qa["context"]))
    assert len(news_qa) == 96 and len(news_store) == len(contexts) == 32
    title_of = dict(zip(news_qa["context"], news_qa["title"], strict=True))
    docs = news_store.get_by_ids([context_id(c) for c in contexts])
    assert [d.page_content for d in docs] == contexts
    for d in docs:
        assert d.metadata == {
            "context_id": context_id(d.page_content),
            "title": title_of[d.page_content],
        }


def test_scores_are_cosine_and_relevance_in_unit_interval(
    news_store: KlueFAISS, embeddings: KlueEmbeddings, news_qa: Dataset
) -> None:
    query = news_qa[5]["question"]
    hits = news_store.similarity_search_with_score(query, k=8)
    q = np.asarray(embeddings.embed_query(query))
    for doc, score in hits:
        d = np.asarray(embeddings.embed_documents([doc.page_content])[0])
        assert score == pytest.approx(float(q @ d), abs=1e-4)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    rel = news_store.similarity_search_with_relevance_scores(query, k=8)
    assert [d.id for d, _ in rel] == [d.id for d, _ in hits]
    for (_, r), (_, s) in zip(rel, hits, strict=True):
        assert 0.0 <= r <= 1.0 and r == pytest.approx((1 + s) / 2)
    # the passage itself is its own best match with relevance ≈ 1 (more similar = higher)
    own = news_store.similarity_search_with_relevance_scores(hits[3][0].page_content, k=2)
    assert own[0][0].id == hits[3][0].id and own[0][1] == pytest.approx(1.0, abs=1e-4)
    assert own[1][1] < own[0][1]


@pytest.mark.parametrize(
    ("index_type", "params"), [("hnsw", {}), ("ivf", {"nlist": 4, "nprobe": 4})]
)
def test_approximate_index_types(
    news_qa: Dataset, embeddings: KlueEmbeddings, news_store: KlueFAISS, index_type, params
) -> None:
    store = KlueFAISS.from_mrc(news_qa, embeddings, index_type=index_type, **params)
    assert store.index_type == index_type
    queries = list(news_qa["question"][:10])
    exact = [[d.id for d in r] for r in news_store.as_retriever(k=5).batch(queries)]
    approx = [[d.id for d in r] for r in store.as_retriever(k=5).batch(queries)]
    assert approx == exact  # tiny corpus: all lists probed / graph fully explored
    # one query at a time (IVF: its lists split over the threads) finds the same
    assert [[d.id for d in store.as_retriever(k=5).invoke(q)] for q in queries] == exact


def test_batch_embeds_all_queries_in_one_call(
    news_store: KlueFAISS, news_qa: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    retriever = news_store.as_retriever(k=4)
    queries = list(news_qa["question"][:7])
    single = [retriever.invoke(q) for q in queries]
    calls: list[int] = []
    original = KlueEmbeddings.embed_queries

    def counting(self, texts):
        calls.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(KlueEmbeddings, "embed_queries", counting)
    batched = retriever.batch(queries)
    assert calls == [7]
    assert [[d.id for d in r] for r in batched] == [[d.id for d in r] for r in single]
    assert all(len(r) == 4 for r in batched)


async def test_async_retrieval(news_store: KlueFAISS, news_qa: Dataset) -> None:
    retriever = news_store.as_retriever(k=3)
    q = news_qa[0]["question"]
    assert [d.id for d in await retriever.ainvoke(q)] == [d.id for d in retriever.invoke(q)]


def test_bad_requests(news_store: KlueFAISS, embeddings: KlueEmbeddings) -> None:
    assert len(news_store.similarity_search("서울", k=33)) == 32  # k > corpus: all of it
    with pytest.raises(RetrievalError, match="k must be a positive integer"):
        news_store.similarity_search("서울", k=0)
    with pytest.raises(RetrievalError, match="query is empty"):
        news_store.as_retriever(k=3).invoke("  ")
    with pytest.raises(RetrievalError, match="query is empty"):
        news_store.as_retriever(k=3).batch(["서울", ""])
    with pytest.raises(DataError, match="empty corpus"):
        KlueFAISS.from_texts([], embeddings)
    with pytest.raises(DataError, match="empty"):
        KlueFAISS.from_mrc(Dataset.from_dict({"context": [], "title": []}), embeddings)
    with pytest.raises(RetrievalError, match="unknown index_type"):
        KlueFAISS(embeddings, "annoy")
    with pytest.raises(DataError, match="needs at least 64"):
        KlueFAISS.from_texts(["가", "나"], embeddings, index_type="ivf", nlist=64)


def test_save_load_round_trip(news_qa: Dataset, embeddings: KlueEmbeddings, tmp_path: Path) -> None:
    store = KlueFAISS.from_mrc(news_qa, embeddings, index_type="hnsw", hnsw_m=8, ef_search=40)
    store.save(tmp_path / "idx")
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == [
        "config.json",
        "documents.jsonl",
        "index.faiss",
    ]
    assert not list(tmp_path.glob(".*"))  # no temporary leftovers
    config = json.loads((tmp_path / "idx" / "config.json").read_text())
    assert config["embedding"]["name"] == embeddings.model_name_or_path
    loaded = KlueFAISS.load(tmp_path / "idx", embeddings)
    assert loaded.index_type == "hnsw" and loaded.params["hnsw_m"] == 8
    assert loaded.params["ef_search"] == 40 and loaded.index.hnsw.efSearch == 40
    queries = list(news_qa["question"][:6])
    before = store.as_retriever(k=5).batch(queries)
    after = loaded.as_retriever(k=5).batch(queries)
    assert [[(d.id, d.metadata) for d in r] for r in after] == [
        [(d.id, d.metadata) for d in r] for r in before
    ]
    # relevance scores survive the reload (LangChain's FAISS loses its distance strategy)
    a = loaded.similarity_search_with_relevance_scores(queries[0], k=3)
    b = store.similarity_search_with_relevance_scores(queries[0], k=3)
    assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=1e-6)


def test_load_refuses_another_model(
    news_store: KlueFAISS, tiny_models: TinyModelFactory, tmp_path: Path
) -> None:
    news_store.save(tmp_path / "idx")
    other = KlueEmbeddings.from_model(tiny_models.bi_encoder("roberta"), name="other-model")
    with pytest.raises(ModelError, match=r"built with embedding model .*not 'other-model'"):
        KlueFAISS.load(tmp_path / "idx", other)
    assert len(KlueFAISS.load(tmp_path / "idx", other, check_model=False)) == 32


def test_load_errors(tmp_path: Path, embeddings: KlueEmbeddings) -> None:
    with pytest.raises(RetrievalError, match="directory not found"):
        KlueFAISS.load(tmp_path / "missing", embeddings)
    pickled = tmp_path / "lc"
    pickled.mkdir()
    (pickled / "index.faiss").write_bytes(b"")
    (pickled / "index.pkl").write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(RetrievalError, match="never unpickles"):
        KlueFAISS.load(pickled, embeddings)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RetrievalError, match=r"no config\.json"):
        KlueFAISS.load(tmp_path / "empty", embeddings)


def test_any_vector_store_plugs_in(news_qa: Dataset, embeddings: KlueEmbeddings) -> None:
    store = InMemoryVectorStore(embeddings)
    ids = index_documents(store, news_qa)
    assert len(ids) == 32 and ids[0] == context_id(news_qa[0]["context"])
    retriever = build_first_stage("dense", dense=store, k=6)
    docs = retriever.invoke(news_qa[0]["question"])
    assert len(docs) == 6 and {"context_id", "title"} <= set(docs[0].metadata)


def test_metadata_filter(news_store: KlueFAISS, news_qa: Dataset) -> None:
    title = news_qa[0]["title"]
    docs = news_store.similarity_search(news_qa[0]["question"], k=5, filter={"title": title})
    assert 1 <= len(docs) <= 2 and all(d.metadata["title"] == title for d in docs)
    retriever = news_store.as_retriever(search_kwargs={"k": 3, "filter": {"title": [title]}})
    batched = retriever.batch([news_qa[0]["question"], news_qa[5]["question"]])
    assert all(d.metadata["title"] == title for r in batched for d in r)
    picked = news_store.similarity_search("서울", k=4, filter=lambda m: m["title"] != title)
    assert len(picked) == 4 and all(d.metadata["title"] != title for d in picked)


async def test_abatch_uses_the_vectorised_path(news_store: KlueFAISS, news_qa: Dataset) -> None:
    retriever = news_store.as_retriever(k=3)
    queries = list(news_qa["question"][:4])
    assert [[d.id for d in r] for r in await retriever.abatch(queries)] == [
        [d.id for d in r] for r in retriever.batch(queries)
    ]


@pytest.mark.parametrize("index_type", ["hnsw", "ivf"])
def test_tuned_search_is_saved_and_served_after_a_reload(
    embeddings: KlueEmbeddings, tmp_path: Path, index_type: str
) -> None:
    dim = len(embeddings.embed_query("가"))
    vectors = np.random.default_rng(0).standard_normal((2000, dim)).astype(np.float32)
    ids = [f"p{i}" for i in range(len(vectors))]
    store = KlueFAISS(embeddings, index_type, hnsw_m=8, ef_construction=40)
    store.add_vectors(ids, vectors, [{"context_id": i} for i in ids], ids=ids)
    with pytest.raises(RetrievalError, match="cannot tune an empty"):
        KlueFAISS(embeddings, index_type).tune_search()
    tuning = store.tune_search(0.9)
    parameter = "ef_search" if index_type == "hnsw" else "nprobe"
    assert tuning.parameter == parameter and tuning.recall_at_10 >= 0.9
    assert store.params[parameter] == tuning.value and store.recall == tuning.record()
    store.save(tmp_path / "idx")
    config = json.loads((tmp_path / "idx" / "config.json").read_text())
    assert config["recall"] == tuning.record() and config["params"][parameter] == tuning.value
    loaded = KlueFAISS.load(tmp_path / "idx", embeddings)
    assert loaded.recall == tuning.record() and loaded.params[parameter] == tuning.value
    if index_type == "ivf":
        assert loaded.index.nprobe == tuning.value
    else:
        loaded.similarity_search_by_vector(vectors[0].tolist(), k=10)
        assert loaded.index.hnsw.efSearch == tuning.value
    untuned = KlueFAISS(embeddings, "flat")
    untuned.add_vectors(ids[:5], vectors[:5], ids=ids[:5])
    untuned.save(tmp_path / "flat")
    assert KlueFAISS.load(tmp_path / "flat", embeddings).recall is None
