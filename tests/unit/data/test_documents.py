"""Raw documents → sentence-aligned, overlapping passages with their source and offsets."""

from __future__ import annotations

import itertools
import json
import logging
from pathlib import Path

import pytest
from langchain_core.documents import Document

from lc_klue.data.documents import (
    KoreanSentenceSplitter,
    document_passages,
    is_document_source,
    read_documents,
)
from lc_klue.errors import DataError
from lc_klue.text import split_sentences

NEWS = (
    "서울시는 새 버스 노선을 발표했다. 노선은 3월부터 운행된다. 요금은 1,500원이다. "
    "부산시는 2027년까지 해상 풍력 단지를 조성한다고 밝혔다. 총 사업비는 1조 2천억 원이다. "
    "대구시는 신천에 수변 공원을 만든다."
)


def test_chunks_hold_whole_sentences_within_the_size() -> None:
    splitter = KoreanSentenceSplitter(chunk_size=70, chunk_overlap=0)
    chunks = splitter.split_text(NEWS)
    sentences = split_sentences(NEWS)
    assert len(chunks) >= 3
    for chunk in chunks:
        assert len(chunk) <= 70
        assert chunk in NEWS  # an exact slice of the text
        # every chunk is a run of whole sentences: it starts and ends on sentence boundaries
        assert any(chunk.startswith(s) for s in sentences)
        assert any(chunk.endswith(s) for s in sentences)
    # no overlap: the chunks' sentences are the text's sentences, each once, in order
    assert [s for c in chunks for s in split_sentences(c)] == sentences


def test_overlap_repeats_the_last_sentences_of_the_previous_chunk() -> None:
    splitter = KoreanSentenceSplitter(chunk_size=70, chunk_overlap=40)
    spans = splitter.spans([NEWS])[0]
    assert len(spans) >= 3
    for (s0, e0), (s1, e1) in itertools.pairwise(spans):
        assert s0 < s1 < e0 < e1  # the next chunk starts inside the previous one
        repeated = NEWS[s1:e0]  # whole sentences, at most chunk_overlap characters
        assert len(repeated) <= 40
        assert set(split_sentences(repeated)) <= set(split_sentences(NEWS))
        assert NEWS[s0:e0].endswith(repeated) and NEWS[s1:e1].startswith(repeated)
    assert spans[0][0] == 0 and spans[-1][1] == len(NEWS)  # the whole text is covered


def test_a_sentence_longer_than_a_chunk_is_cut_at_spaces() -> None:
    long = " ".join(["가나다라마바사"] * 30) + "."
    spans = KoreanSentenceSplitter(chunk_size=50, chunk_overlap=10).spans([long])[0]
    assert len(spans) > 1 and all(e - s <= 50 for s, e in spans)
    assert "".join(long[s:e] for s, e in spans).replace(" ", "") == long.replace(" ", "")


def test_chunks_stop_at_markdown_headings_and_keep_them_as_metadata() -> None:
    text = (
        "# 버스 노선\n\n서울시는 새 버스 노선을 발표했다. 요금은 1,500원이다.\n"
        "## 운행 ##\n노선은 3월부터 운행된다.\n\n"
        "```bash\n# 주석일 뿐\n```\n"
    )
    doc = Document(page_content=text, metadata={"source": "guide.md"})
    chunks = KoreanSentenceSplitter(chunk_size=500, chunk_overlap=100).split_documents([doc])
    # one chunk per section, though all the text would fit in one
    assert [c.metadata["heading"] for c in chunks] == ["버스 노선", "운행"]
    assert [c.metadata["title"] for c in chunks] == ["guide.md › 버스 노선", "guide.md › 운행"]
    assert chunks[0].page_content == "서울시는 새 버스 노선을 발표했다. 요금은 1,500원이다."
    assert chunks[1].page_content.startswith("노선은 3월부터 운행된다.")
    assert "# 주석일 뿐" in chunks[1].page_content  # a comment in a code block is no heading
    for c in chunks:
        assert "# 버스" not in c.page_content and "## 운행" not in c.page_content
        assert text[c.metadata["start"] : c.metadata["end"]] == c.page_content
    plain = KoreanSentenceSplitter().split_documents([Document(page_content=NEWS)])
    assert plain[0].metadata["heading"] == "" and plain[0].metadata["title"] == "document"


def test_bad_sizes_are_one_line() -> None:
    with pytest.raises(DataError, match="chunk_overlap < chunk_size"):
        KoreanSentenceSplitter(chunk_size=100, chunk_overlap=100)


def _write(root: Path, files: dict[str, bytes | str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def test_a_folder_of_documents_becomes_cited_passages(tmp_path: Path, caplog) -> None:
    root = _write(
        tmp_path / "docs",
        {
            "guide.md": "# 버스 노선\n\n서울시는 새 버스 노선을 발표했다. 요금은 1,500원이다.\n\n"
            "## 운행\n\n노선은 3월부터 운행된다.\n",
            "sub/wind.txt": "부산시는 해상 풍력 단지를 조성한다. 총 사업비는 1조 2천억 원이다.",
            "rows.jsonl": json.dumps(
                {"text": "대구시는 신천에 공원을 만든다.", "title": "대구 공원"}
            )
            + "\n",
            "empty.txt": "  \n",
            "logo.png": b"\x89PNG\r\n\x1a\n\x00\x00",
            ".hidden.txt": "숨은 파일",
        },
    )
    assert is_document_source(root)
    with caplog.at_level(logging.WARNING):
        passages = document_passages(root, chunk_size=200, chunk_overlap=0)
    assert "empty file, skipped" in caplog.text and "logo.png" in caplog.text
    sources = {p.metadata["source"] for p in passages}
    assert sources == {"guide.md", "sub/wind.txt", "rows.jsonl:1"}
    texts = {p.metadata["source"]: d.page_content for d in read_documents(root) for p in [d]}
    for p in passages:
        m = p.metadata
        assert texts[m["source"]][m["start"] : m["end"]] == p.page_content  # exact offsets
        assert m["context_id"] == f"{m['source']}:{m['start']}-{m['end']}"
    titles = {p.metadata["title"] for p in passages}
    assert "대구 공원" in titles and "sub/wind.txt" in titles
    assert any(t.startswith("guide.md › ") for t in titles)  # the heading it falls under


def test_empty_and_non_text_inputs_are_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    _write(tmp_path / "empty", {"a.txt": "", "b.md": "\n\n"})
    with pytest.raises(DataError, match="no text to index"):
        read_documents(tmp_path / "empty")
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    with pytest.raises(DataError, match=r"photo\.txt: not a text file \(binary content\)"):
        read_documents(binary)
    latin = tmp_path / "old.txt"
    latin.write_bytes("caf\xe9 au lait".encode("latin-1"))
    with pytest.raises(DataError, match=r"old\.txt: not a text file \(not UTF-8"):
        read_documents(latin)
    with pytest.raises(DataError, match=r"unsupported document type \.pdf"):
        read_documents(_write(tmp_path, {"paper.pdf": "x"}) / "paper.pdf")
    bad = _write(tmp_path, {"bad.jsonl": '{"text": "좋은 줄"}\n{"body": 1}\n'}) / "bad.jsonl"
    with pytest.raises(DataError, match=r"bad\.jsonl:2: a row needs a string 'text' field"):
        read_documents(bad)
    with pytest.raises(DataError, match="file or folder not found"):
        read_documents(tmp_path / "nowhere")


def test_a_non_utf8_file_in_a_folder_is_skipped_with_one_warning(tmp_path: Path, caplog) -> None:
    euc = "부산시는 해상 풍력 단지를 조성한다.".encode("euc-kr")
    root = _write(
        tmp_path / "docs",
        {"old.txt": euc, "rows.jsonl": euc, "new.txt": "서울시는 새 버스 노선을 발표했다."},
    )
    with caplog.at_level(logging.WARNING):
        docs = read_documents(root)
    assert [d.metadata["source"] for d in docs] == ["new.txt"]
    skipped = [r.getMessage() for r in caplog.records if "not UTF-8" in r.getMessage()]
    assert len(skipped) == 2 and all("\n" not in m for m in skipped)
    assert any(str(root / "old.txt") in m for m in skipped)
    (root / "new.txt").unlink()  # nothing readable left: still an error
    with pytest.raises(DataError, match="no text to index"):
        read_documents(root)
    with pytest.raises(DataError, match=r"old\.txt: not a text file \(not UTF-8"):
        read_documents(root / "old.txt")  # a file given alone stops with one line


def test_mrc_files_are_not_documents(tmp_path: Path) -> None:
    from lc_klue.resources import NEWS_QA

    assert not is_document_source(NEWS_QA)  # JSONL with context: MRC
    rows = _write(tmp_path, {"t.jsonl": json.dumps({"text": "본문"}) + "\n"}) / "t.jsonl"
    assert is_document_source(rows)
