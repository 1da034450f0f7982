"""Chat models for the RAG chain: a provider string or a local Hugging Face causal LM.

``load_chat_model("openai:gpt-4o-mini")`` goes through LangChain's ``init_chat_model`` (the
provider's package, e.g. ``langchain-openai``, must be installed); ``load_chat_model(path)``
with a local model directory, or ``"hf:<name or path>"``, runs the model with transformers
through :class:`TransformersChatModel`. No langchain-community import is needed.

Why not langchain-huggingface's ``ChatHuggingFace`` over ``HuggingFacePipeline`` (1.2.3, which
fits our langchain-core pin; tried on the test kit's tiny GPT-2): with a local pipeline it has
no async (``ainvoke`` raises ``NotImplementedError``, ``astream`` needs an endpoint), its stop
strings must each be one token (``convert_tokens_to_ids``), it fails without a chat template
(``apply_chat_template`` unconditionally) and wants a human message last, ``invoke`` returns
the prompt before the answer, it never cuts a prompt to the model's context, and
its ``TextIteratorStreamer`` holds text back until a space or a CJK ideograph, so Korean
streams in large pieces. :class:`TransformersChatModel` keeps all of these, in one small class
on ``generate``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from lc_klue.errors import ModelError
from lc_klue.runtime import looks_local

HF_PREFIX = "hf:"
"""Prefix of a spec that names a transformers model (hub id or path) to run locally."""

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_PLAIN_ROLES = {"system": "지시", "user": "사용자", "assistant": "도우미"}


class TransformersChatModel(BaseChatModel):
    """A LangChain chat model over a local transformers causal LM (``generate``), streaming.

    The messages are rendered with the tokenizer's chat template when it has one, otherwise as
    plain ``역할: 내용`` lines ending with the assistant's turn. Decoding is greedy unless
    ``temperature > 0``. Long prompts are cut from the left to fit the model's context (so
    use a model whose context holds the numbered passages; the question stays at the end).
    """

    model_config = ConfigDict(use_attribute_docstrings=True)

    model_name_or_path: str
    """Local model directory (or hub id; the hub needs network access)."""
    device: str | None = None
    """Torch device; None → the best available (CUDA, MPS, CPU); bfloat16 on CUDA."""
    max_new_tokens: int = Field(default=256, ge=1)
    """Most tokens generated per answer."""
    temperature: float = Field(default=0.0, ge=0.0)
    """Sampling temperature; 0 → greedy decoding."""
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Nucleus sampling mass (only when sampling)."""
    repetition_penalty: float = Field(default=1.0, gt=0.0)
    """Penalty on repeated tokens (1.0 = none)."""

    _model: Any = PrivateAttr(default=None)
    _tokenizer: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _load_transformers_model(self) -> TransformersChatModel:
        """Load the tokenizer and model (clear :class:`ModelError` when that fails)."""
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from lc_klue.runtime import pick_device

        device = pick_device(self.device)
        dtype = (
            torch.bfloat16
            if device.startswith("cuda") and torch.cuda.is_bf16_supported()
            else torch.float32
        )
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model_name_or_path)
            model: Any = AutoModelForCausalLM.from_pretrained(self.model_name_or_path, dtype=dtype)
        except (OSError, ValueError) as e:
            raise ModelError(
                f"llm {self.model_name_or_path!r}: not a loadable causal language model ({e})"
            ) from e
        self._tokenizer = tokenizer
        self._model = model.to(device).eval()
        return self

    @property
    def _llm_type(self) -> str:
        return "lc-klue-transformers"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_name_or_path": self.model_name_or_path,
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
        }

    def render(self, messages: Sequence[BaseMessage]) -> str:
        """The prompt text the model sees for these messages."""
        turns = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
        if getattr(self._tokenizer, "chat_template", None):
            return self._tokenizer.apply_chat_template(
                turns, add_generation_prompt=True, tokenize=False
            )
        lines = [f"{_PLAIN_ROLES[t['role']]}: {t['content']}" for t in turns]
        return "\n\n".join([*lines, f"{_PLAIN_ROLES['assistant']}:"])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        from transformers import StoppingCriteria, StoppingCriteriaList

        inputs, max_new = self._encode(self.render(messages))
        streamer = TokenTextStream(self._tokenizer)
        done = threading.Event()  # set when the caller stops reading (stop string, break)

        class _Done(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> bool:
                return done.is_set()

        gen_kwargs = self._generation_kwargs(max_new) | kwargs
        gen_kwargs["stopping_criteria"] = StoppingCriteriaList([_Done()])
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self._model.generate(**inputs, streamer=streamer, **gen_kwargs)
            except BaseException as e:  # re-raised in the caller's thread
                failure.append(e)
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        try:
            empty = True
            for piece in _until_stop(streamer, stop or []):
                empty = False
                chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                if run_manager:
                    run_manager.on_llm_new_token(piece, chunk=chunk)
                yield chunk
            if empty:  # the model ended at once (or a stop string came first): an empty answer
                yield ChatGenerationChunk(message=AIMessageChunk(content=""))
        finally:
            done.set()
            thread.join()
        if failure:
            raise ModelError(f"llm {self.model_name_or_path!r}: generation failed") from failure[0]

    def _encode(self, prompt: str) -> tuple[dict[str, Any], int]:
        """Token ids of the prompt and the new-token budget, both within the model's context.

        A prompt too long for ``max_new_tokens`` more tokens keeps its end (the question and
        the answer cue); the budget then shrinks to no less than a quarter of the context.
        """
        tok = self._tokenizer
        templated = bool(getattr(tok, "chat_template", None))
        enc = tok(prompt, return_tensors="pt", add_special_tokens=not templated, verbose=False)
        n = enc["input_ids"].shape[1]
        limit = _context_length(self._model.config)
        max_new = self.max_new_tokens
        if limit is not None and n + max_new > limit:
            max_new = max(min(max_new, limit - n), min(max_new, max(1, limit // 4)))
            keep = limit - max_new
            if n > keep:
                enc = {k: v[:, -keep:] for k, v in enc.items()}
        return {k: v.to(self._model.device) for k, v in enc.items()}, max_new

    def _generation_kwargs(self, max_new: int) -> dict[str, Any]:
        tok = self._tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        kwargs: dict[str, Any] = {"max_new_tokens": max_new, "pad_token_id": pad}
        if self.repetition_penalty != 1.0:
            kwargs["repetition_penalty"] = self.repetition_penalty
        if self.temperature > 0:
            kwargs |= {"do_sample": True, "temperature": self.temperature, "top_p": self.top_p}
        else:
            kwargs["do_sample"] = False
        return kwargs


class TokenTextStream:
    """A ``generate`` streamer yielding the new text after every token.

    transformers' ``TextIteratorStreamer`` waits for a space or a CJK ideograph before it
    emits text, so Korean without spaces would arrive in one piece; this one decodes the
    generated ids after each step and emits what is new (holding back an incomplete
    multi-byte character).
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.queue: queue.Queue[str | None] = queue.Queue()
        self.ids: list[int] = []
        self.sent = 0
        self.prompt_done = False

    def put(self, value: Any) -> None:
        """Receive the prompt ids (skipped), then each step's new token ids."""
        if not self.prompt_done:
            self.prompt_done = True
            return
        self.ids.extend(value.reshape(-1).tolist())
        self._emit(final=False)

    def end(self) -> None:
        """Flush what is left and close the stream."""
        self._emit(final=True)
        self.queue.put(None)

    def _emit(self, final: bool) -> None:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        if text.endswith("\ufffd") and not final:
            return
        if len(text) > self.sent:
            self.queue.put(text[self.sent :])
            self.sent = len(text)

    def __iter__(self) -> Iterator[str]:
        while (piece := self.queue.get()) is not None:
            yield piece


def _context_length(config: Any) -> int | None:
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def _until_stop(pieces: Iterable[str], stop: Sequence[str]) -> Iterator[str]:
    """Pass text pieces through, ending just before the first stop string."""
    if not stop:
        yield from pieces
        return
    hold = max(len(s) for s in stop) - 1  # text that could still start a stop string
    buffer = ""
    for piece in pieces:
        buffer += piece
        hits = [buffer.find(s) for s in stop if s in buffer]
        if hits:
            if head := buffer[: min(hits)]:
                yield head
            return
        if len(buffer) > hold:
            yield buffer[: len(buffer) - hold]
            buffer = buffer[len(buffer) - hold :]
    if buffer:
        yield buffer


def load_chat_model(spec: str | Path | BaseChatModel | None, **kwargs: Any) -> BaseChatModel | None:
    """A chat model from a spec; None → None (the chain then answers extractively).

    - a :class:`BaseChatModel` is returned as is;
    - an existing local directory, or ``"hf:<name or path>"``, → :class:`TransformersChatModel`;
    - anything else is a LangChain provider string for ``init_chat_model``, e.g.
      ``"openai:gpt-4o-mini"`` or ``"ollama:qwen2.5"`` (the provider package must be installed).

    ``kwargs`` go to the model's constructor. Raises :class:`ModelError` with the reason
    (:func:`check_chat_model` first, so a bad spec fails before anything is loaded).
    """
    check_chat_model(spec)
    if spec is None or isinstance(spec, BaseChatModel):
        return spec
    text = str(spec).strip()
    if text.startswith(HF_PREFIX):
        return TransformersChatModel(model_name_or_path=text[len(HF_PREFIX) :], **kwargs)
    if looks_local(spec):
        path = Path(text).expanduser()
        return TransformersChatModel(model_name_or_path=str(path), **kwargs)
    return _init_chat_model(text, **kwargs)


def check_chat_model(spec: str | Path | BaseChatModel | None) -> None:
    """Raise :class:`ModelError` when :func:`load_chat_model` would fail on ``spec`` for a
    reason known without loading anything: an empty spec, a local path that is not a Hugging
    Face model directory, a provider LangChain does not know, or one whose package is not
    installed (looked up with :func:`importlib.util.find_spec`, not imported)."""
    if spec is None or isinstance(spec, BaseChatModel):
        return
    text = str(spec).strip()
    if not text:
        raise ModelError("llm: empty model spec")
    if text.startswith(HF_PREFIX):
        return
    if looks_local(spec):
        path = Path(text).expanduser()
        if not path.is_dir():
            raise ModelError(f"llm {text!r}: no such model directory")
        if not (path / "config.json").is_file():
            raise ModelError(f"llm {text!r}: directory has no config.json (not a HF model)")
        return
    _check_provider(text)


def _check_provider(spec: str) -> None:
    """The provider of a ``provider:model`` spec, as LangChain's ``init_chat_model`` parses
    it, must be one it knows, with its package installed. Skipped when this LangChain does not
    expose its provider table (``init_chat_model`` then says it, later)."""
    import importlib.util

    try:
        from langchain.chat_models.base import _BUILTIN_PROVIDERS, _parse_model
    except ImportError:
        return
    try:
        _, provider = _parse_model(spec, None)
    except ValueError as e:
        raise _spec_error(spec, e) from e
    entry = _BUILTIN_PROVIDERS.get(provider)
    if entry is None:
        return
    package = entry[0].split(".")[0]
    fallbacks = ("langchain_community",) if provider == "ollama" else ()  # as LangChain does
    if all(importlib.util.find_spec(m) is None for m in (package, *fallbacks)):
        name = package.replace("_", "-")
        raise ModelError(f"llm {spec!r}: provider package missing: pip install {name}")


def _spec_error(spec: str, error: ValueError) -> ModelError:
    """LangChain's complaint about a spec it cannot parse, as one line with the accepted forms."""
    reason = str(error).strip().splitlines()[0]
    return ModelError(
        f"llm {spec!r}: {reason} Use 'provider:model' (e.g. 'openai:gpt-4o-mini') "
        "or a local model directory."
    )


def _init_chat_model(spec: str, **kwargs: Any) -> BaseChatModel:
    """LangChain's ``init_chat_model`` with its errors turned into one-line ``ModelError``s."""
    from langchain.chat_models import init_chat_model

    try:
        return init_chat_model(spec, **kwargs)
    except ImportError as e:
        raise ModelError(f"llm {spec!r}: provider package missing: {e}") from e
    except ValueError as e:
        raise _spec_error(spec, e) from e
    except Exception as e:  # provider-side setup errors (e.g. a missing API key)
        raise ModelError(f"llm {spec!r}: could not create the chat model: {e}") from e
