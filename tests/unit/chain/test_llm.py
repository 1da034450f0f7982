import importlib.util
import json
import warnings

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from lc_klue.chain import TransformersChatModel, build_rag_chain, load_chat_model
from lc_klue.errors import ModelError

MESSAGES = [SystemMessage("문맥만 근거로 답하세요."), HumanMessage("서울시는 무엇을 발표했나?")]


def test_spec_none_and_model_instances_pass_through():
    model = FakeListChatModel(responses=["x"])
    assert load_chat_model(None) is None
    assert load_chat_model(model) is model


def test_local_directory_runs_with_transformers_and_streams(tiny_causal_lm):
    llm = load_chat_model(str(tiny_causal_lm), max_new_tokens=8)
    assert isinstance(llm, TransformersChatModel)
    message = llm.invoke(MESSAGES)
    assert isinstance(message, AIMessage)
    assert message.content.strip()
    pieces = [chunk.content for chunk in llm.stream(MESSAGES)]
    assert len([p for p in pieces if p]) >= 2
    assert "".join(pieces) == message.content  # greedy decoding is deterministic
    assert load_chat_model(f"hf:{tiny_causal_lm}").max_new_tokens == 256


def test_plain_prompt_without_chat_template_and_stop_strings(tiny_causal_lm):
    llm = TransformersChatModel(model_name_or_path=str(tiny_causal_lm), max_new_tokens=12)
    prompt = llm.render(MESSAGES)
    assert prompt == "지시: 문맥만 근거로 답하세요.\n\n사용자: 서울시는 무엇을 발표했나?\n\n도우미:"
    full = llm.invoke(MESSAGES).content
    cut = full.strip()[2:4]
    stopped = llm.invoke(MESSAGES, stop=[cut]).content
    assert cut not in stopped and full.startswith(stopped)
    first = full[0]  # a stop string at the very start: an empty answer, not an error
    assert llm.invoke(MESSAGES, stop=[first]).content == ""
    assert "".join(c.content for c in llm.stream(MESSAGES, stop=[first])) == ""


def test_chat_template_is_used_when_the_tokenizer_has_one(tiny_causal_lm, tmp_path):
    import shutil

    target = tmp_path / "lm"
    shutil.copytree(tiny_causal_lm, target)
    config_file = target / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config["chat_template"] = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    config_file.write_text(json.dumps(config, ensure_ascii=False))
    llm = TransformersChatModel(model_name_or_path=str(target), max_new_tokens=4)
    assert llm.render(MESSAGES) == (
        "<system>문맥만 근거로 답하세요.<user>서울시는 무엇을 발표했나?<assistant>"
    )


def test_rag_chain_with_a_local_model_directory(dense_retriever, tiny_causal_lm):
    chain = build_rag_chain(dense_retriever, str(tiny_causal_lm))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        result = chain.invoke("부산시는 무엇을 발표했나?")
    assert result["answer"].strip()
    assert len(result["sources"]) == 3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("./no/such/model", "no such model directory"),
        ("no-provider-model", "provider"),
        ("nosuchprovider:model", "provider"),
    ],
)
def test_bad_specs_are_clear_errors(spec, message):
    with pytest.raises(ModelError, match=message):
        load_chat_model(spec)


def test_directory_that_is_not_a_model_is_rejected(tmp_path):
    with pytest.raises(ModelError, match=r"config\.json"):
        load_chat_model(tmp_path)


@pytest.mark.skipif(
    importlib.util.find_spec("langchain_openai") is not None, reason="langchain-openai is installed"
)
def test_missing_provider_package_names_it():
    with pytest.raises(ModelError, match="langchain-openai"):
        load_chat_model("openai:gpt-4o-mini")


def test_a_missing_provider_package_is_found_without_importing_it(monkeypatch):
    import sys

    from lc_klue.chain.llm import check_chat_model

    real = importlib.util.find_spec
    looked_up = []

    def find_spec(name, *args):
        looked_up.append(name)
        return None if name == "langchain_anthropic" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ModelError, match="provider package missing: pip install langchain-anth"):
        check_chat_model("anthropic:claude-x")
    assert "langchain_anthropic" in looked_up and "langchain_anthropic" not in sys.modules
    with pytest.raises(ModelError, match="provider package missing"):
        load_chat_model("anthropic:claude-x")  # the same check comes first
    check_chat_model("hf:some/model")  # a local transformers model: nothing to look up
    check_chat_model(None)


def test_long_prompts_are_cut_to_fit_the_context(tiny_causal_lm):
    llm = TransformersChatModel(model_name_or_path=str(tiny_causal_lm), max_new_tokens=100)
    long_question = [HumanMessage("서울시는 새 버스 노선을 발표했다. " * 80 + "질문: 언제인가?")]
    assert isinstance(llm.invoke(long_question).content, str)  # 128 positions, no crash
    ids, budget = llm._encode(llm.render(long_question))
    assert budget == 32 and ids["input_ids"].shape[1] == 128 - 32
    ids, budget = llm._encode("짧은 질문")
    assert budget == 100
