from langchain_core.documents import Document

from lc_klue.chain import RAG_PROMPT, SYSTEM_PROMPT
from lc_klue.chain.prompts import cited_numbers, format_contexts


def test_contexts_are_numbered_in_order_with_titles():
    docs = [
        Document("첫째 문단이다.", metadata={"title": "가"}),
        Document("둘째 문단이다.", metadata={}),
    ]
    text = format_contexts(docs)
    assert text == "[1] (제목: 가)\n첫째 문단이다.\n\n[2]\n둘째 문단이다."


def test_prompt_puts_numbered_contexts_and_question_after_the_instruction():
    messages = RAG_PROMPT.format_messages(question="무엇인가?", context="[1]\n본문")
    assert [m.type for m in messages] == ["system", "human"]
    assert messages[0].content == SYSTEM_PROMPT
    assert "[1]" in SYSTEM_PROMPT and "문맥" in SYSTEM_PROMPT
    assert messages[1].content.index("[1]\n본문") < messages[1].content.index("질문: 무엇인가?")


def test_cited_numbers_keeps_first_order_and_drops_out_of_range():
    assert cited_numbers("A [2] B [1][2] C [7] [0]", n_sources=3) == [2, 1]
    assert cited_numbers("인용 없음", n_sources=3) == []


def test_a_document_chunk_names_its_source_file_for_the_model():
    from langchain_core.documents import Document

    from lc_klue.chain.prompts import format_contexts

    chunk = Document(
        page_content="총 사업비는 1조 2천억 원이다.",
        metadata={"title": "guide.md › 예산", "source": "guide.md", "start": 40, "end": 58},
    )
    assert format_contexts([chunk]) == (
        "[1] (제목: guide.md › 예산) (출처: guide.md)\n총 사업비는 1조 2천억 원이다."
    )
