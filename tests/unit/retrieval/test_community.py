"""Moving a langchain-community FAISS index (the book's format) into KlueFAISS."""

import warnings
from pathlib import Path

import pytest
from langchain_core.documents import Document

from lc_klue.errors import RetrievalError
from lc_klue.retrieval.community import import_community_faiss


@pytest.fixture
def community_folder(tmp_path: Path, embeddings, news_qa) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the package's own sunset notice
        from langchain_community.vectorstores import FAISS  # the book's store

    contexts = sorted(set(news_qa["context"]))[:6]
    docs = [Document(page_content=c, metadata={"title": f"t{i}"}) for i, c in enumerate(contexts)]
    FAISS.from_documents(docs + docs[:1], embeddings).save_local(str(tmp_path / "old"))
    return tmp_path / "old"


def test_import_keeps_passages_and_scores_cosine(community_folder: Path, embeddings) -> None:
    store = import_community_faiss(
        community_folder, embeddings, allow_dangerous_deserialization=True
    )
    assert len(store) == 6  # the duplicate is dropped
    doc = store.similarity_search("t0", k=6)[0]
    assert {"title", "context_id"} <= set(doc.metadata)
    first = store.get_by_ids([doc.metadata["context_id"]])[0]
    (top, score), *_ = store.similarity_search_with_score(first.page_content, k=1)
    assert top.page_content == first.page_content and score == pytest.approx(1.0, abs=1e-4)


def test_refuses_to_unpickle_without_consent(community_folder: Path, embeddings) -> None:
    with pytest.raises(RetrievalError, match="pickle"):
        import_community_faiss(community_folder, embeddings)


def test_not_a_community_folder(tmp_path: Path, embeddings) -> None:
    with pytest.raises(RetrievalError, match="not a langchain-community FAISS folder"):
        import_community_faiss(tmp_path, embeddings, allow_dangerous_deserialization=True)
