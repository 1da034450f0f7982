"""A small transformer whose vocabulary is Kiwi morphemes, started from the CoNg vectors.

:class:`KiwiTransformer` is the sentence-transformers input module of ``--base-model
kiwi:SIZE[:ARCH]``. Text is analysed by Kiwi; every morpheme (function words included) is a
row of :class:`~lc_klue.models.kiwi_vocab.KiwiVocab`, so names and terms Kiwi does not know
still get a row of their own (hash buckets) instead of breaking into pieces. The input
embeddings of the table's morphemes start from Kiwi's CoNg vectors (projected when the hidden
size is not 256).

One module serves both model types:

- ``task="embedding"`` (bi-encoder, followed by pooling): ``[CLS] text [SEP]``, all segment 0;
- ``task="score"`` (cross-encoder): ``[CLS] question [SEP] passage [SEP]`` and a linear head on
  ``[CLS]``. Segments mark the question (0) and the passage (1), and a morpheme that also occurs
  on the other side gets segment 3 (question) or 2 (passage): an exact-match signal, as
  DrQA-style readers use, that lets a small model learn from a few thousand questions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from sentence_transformers.base.modules import InputModule
from torch import nn
from transformers import AutoModel, BertConfig, PretrainedConfig, RobertaConfig

from lc_klue.errors import ModelError
from lc_klue.models.kiwi_vocab import KiwiVocab
from lc_klue.models.module_io import read_module, save_weights
from lc_klue.models.reranker import config_position_limit
from lc_klue.text import kiwi_model_version

CONFIG_FILE = "kiwi_transformer_config.json"
TASKS = ("embedding", "score")
#: Segment ids: question (or single text), passage, passage morpheme found in the question,
#: question morpheme found in the passage.
QUESTION, PASSAGE, PASSAGE_MATCH, QUESTION_MATCH = 0, 1, 2, 3
SEGMENTS = 4


class KiwiTransformer(InputModule):
    """Kiwi morphemes → a BERT/RoBERTa encoder (token embeddings, or a pair score)."""

    config_file_name = CONFIG_FILE
    save_in_root = True
    #: Learning rate the training stages use unless one is given.
    default_learning_rate = 3e-4

    def __init__(
        self,
        config: dict[str, Any],
        task: str = "embedding",
        max_seq_length: int = 256,
        max_query_length: int = 64,
        oov_buckets: int = 16_384,
        kiwi_model: str | None = None,
    ) -> None:
        """``config`` is the encoder's transformers configuration (``model_type`` ``bert`` or
        ``roberta``), with the vocabulary size of ``KiwiVocab(oov_buckets)``."""
        super().__init__()
        if task not in TASKS:
            raise ModelError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
        installed = kiwi_model_version()
        if kiwi_model is not None and kiwi_model != installed:
            raise ModelError(
                f"this model was built with kiwipiepy-model {kiwi_model}, but {installed} is "
                f"installed (token ids differ): pip install kiwipiepy-model=={kiwi_model}"
            )
        self.kiwi_model, self.task, self.oov_buckets = installed, task, oov_buckets
        self.vocab = KiwiVocab(oov_buckets, content_only=False)
        hf = encoder_config(config)
        if hf.vocab_size != self.vocab.size:
            raise ModelError(f"encoder vocabulary {hf.vocab_size} ≠ Kiwi rows {self.vocab.size}")
        self.auto_model = AutoModel.from_config(hf)
        self.max_seq_length = min(max_seq_length, config_position_limit(hf) or max_seq_length)
        self.max_query_length = max_query_length
        self.classifier = nn.Linear(hf.hidden_size, 1) if task == "score" else None

    # ------------------------------------------------------------------ inputs

    def preprocess(
        self, inputs: Sequence[Any], prompt: str | None = None, **kwargs: Any
    ) -> dict[str, torch.Tensor]:
        """Token rows, attention mask and segment ids of single texts or (question, passage)
        pairs (see the module docstring)."""
        if inputs and all(isinstance(x, str) for x in inputs):
            texts = [str(x) for x in inputs]
            if prompt:
                texts = self._prepend_prompt(texts, prompt)
            encoded = self.vocab.encode_keys(texts)
            body = self.max_seq_length - 2
            seqs = [
                ([self._cls, *r[:body], self._sep], [QUESTION] * (min(len(r), body) + 2))
                for r, _, _ in encoded
            ]
            return self._batch(seqs)
        if any(isinstance(x, str) or len(x) != 2 for x in inputs):
            raise ModelError("KiwiTransformer takes texts, or (question, passage) pairs")
        questions = [str(q) for q, _ in inputs]
        if prompt:
            questions = self._prepend_prompt(questions, prompt)
        q_enc = self.vocab.encode_keys(questions)
        p_enc = self.vocab.encode_keys([str(p) for _, p in inputs])
        seqs = []
        for (q_rows, q_hash, _), (p_rows, p_hash, _) in zip(q_enc, p_enc, strict=True):
            q_rows, q_hash = q_rows[: self.max_query_length], q_hash[: self.max_query_length]
            room = max(self.max_seq_length - len(q_rows) - 3, 0)
            p_rows, p_hash = p_rows[:room], p_hash[:room]
            q_set, p_set = set(q_hash), set(p_hash)
            q_seg = [QUESTION_MATCH if h in p_set else QUESTION for h in q_hash]
            p_seg = [PASSAGE_MATCH if h in q_set else PASSAGE for h in p_hash]
            ids = [self._cls, *q_rows, self._sep, *p_rows, self._sep]
            segments = [QUESTION, *q_seg, QUESTION, *p_seg, PASSAGE]
            seqs.append((ids, segments))
        return self._batch(seqs)

    @property
    def _cls(self) -> int:
        return self.vocab.special("[CLS]")

    @property
    def _sep(self) -> int:
        return self.vocab.special("[SEP]")

    def _batch(self, seqs: list[tuple[list[int], list[int]]]) -> dict[str, torch.Tensor]:
        length = max(len(ids) for ids, _ in seqs) if seqs else 1
        pad = self.vocab.special("[PAD]")
        input_ids = torch.full((len(seqs), length), pad, dtype=torch.long)
        segments = torch.zeros((len(seqs), length), dtype=torch.long)
        mask = torch.zeros((len(seqs), length), dtype=torch.long)
        for i, (ids, seg) in enumerate(seqs):
            input_ids[i, : len(ids)] = torch.as_tensor(ids)
            segments[i, : len(seg)] = torch.as_tensor(seg)
            mask[i, : len(ids)] = 1
        return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": segments}

    # ------------------------------------------------------------------ forward

    def forward(self, features: dict[str, torch.Tensor], **kwargs: Any) -> dict[str, torch.Tensor]:
        """``token_embeddings`` (embedding task) or ``scores`` (score task)."""
        out = self.auto_model(
            input_ids=features["input_ids"],
            attention_mask=features["attention_mask"],
            token_type_ids=features["token_type_ids"],
        )
        hidden = out.last_hidden_state
        features["token_embeddings"] = hidden
        if self.classifier is not None:
            features["scores"] = self.classifier(hidden[:, 0])
        return features

    def get_embedding_dimension(self) -> int:
        """Hidden size of the encoder."""
        return int(self.auto_model.config.hidden_size)

    # ------------------------------------------------------------------ save / load

    def save(
        self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any
    ) -> None:
        """Write the configuration (encoder configuration included) and the weights."""
        config = {
            "config": self.auto_model.config.to_dict(),
            "task": self.task,
            "max_seq_length": self.max_seq_length,
            "max_query_length": self.max_query_length,
            "oov_buckets": self.oov_buckets,
            "kiwi_model": self.kiwi_model,
        }
        Path(output_path, CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
        save_weights(self, output_path)

    @classmethod
    def load(  # type: ignore[override]
        cls, model_name_or_path: str, subfolder: str = "", task: str | None = None, **kwargs: Any
    ) -> KiwiTransformer:
        """Load a module saved by :meth:`save` (a base or a trained model), as ``task`` when
        given (a cross-encoder can start from a bi-encoder; its head starts fresh)."""
        root = Path(model_name_or_path) / subfolder
        config, state = read_module(root, CONFIG_FILE)
        if task is not None:
            config["task"] = task
        module = cls(**config)
        if module.classifier is None:
            state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
        missing, unexpected = module.load_state_dict(state, strict=False)
        bad = [k for k in missing if not k.startswith("classifier.")] + list(unexpected)
        if bad:
            raise ModelError(f"{root}: weights do not fit the model ({', '.join(bad[:3])} …)")
        return module


def encoder_config(config: dict[str, Any]) -> PretrainedConfig:
    """The transformers configuration of a Kiwi encoder (``bert`` or ``roberta``)."""
    kind = config.get("model_type", "bert")
    values = {k: v for k, v in config.items() if k != "model_type"}
    if kind == "bert":
        return BertConfig(**values)
    if kind == "roberta":
        return RobertaConfig(**values)
    raise ModelError(f"unknown encoder type {kind!r}; choose bert or roberta")
