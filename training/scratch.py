"""Base language models built from scratch: a tokenizer trained on your texts + a small encoder.

No pretrained Korean LM can be downloaded on some machines, and some languages have none. A
base model named ``scratch:SIZE`` or ``scratch:SIZE:ARCH`` (e.g. ``scratch:small:roberta``) is
built here and then trained by the same stages as a hub model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import (
    AutoModel,
    BertConfig,
    PretrainedConfig,
    PreTrainedTokenizerFast,
    RobertaConfig,
)

from lc_klue.errors import ModelError
from lc_klue.runtime import SCRATCH_KEY
from lc_klue.storage import atomic_directory

ARCHS = ("bert", "roberta")
#: Position embeddings of a from-scratch base: enough for every stage's default length, so
#: the defaults chain (STS 128 → MRC 256 → cross-encoder 512).
SCRATCH_POSITIONS = 512


@dataclass(frozen=True)
class ModelSize:
    """Transformer dimensions of a from-scratch base model."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int


SIZES: dict[str, ModelSize] = {
    "tiny": ModelSize(hidden=32, layers=2, heads=2, intermediate=64, vocab=2000),
    "mini": ModelSize(hidden=128, layers=2, heads=2, intermediate=512, vocab=8000),
    "small": ModelSize(hidden=256, layers=4, heads=4, intermediate=1024, vocab=16000),
    "medium": ModelSize(hidden=512, layers=4, heads=8, intermediate=2048, vocab=24000),
    "base": ModelSize(hidden=768, layers=12, heads=12, intermediate=3072, vocab=32000),
}

_SPECIALS = {
    "bert": {"cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "unk": "[UNK]", "mask": "[MASK]"},
    "roberta": {"cls": "<s>", "sep": "</s>", "pad": "<pad>", "unk": "<unk>", "mask": "<mask>"},
}


def parse_scratch_spec(name: str) -> tuple[str, str] | None:
    """``"scratch:small:roberta"`` → ``("small", "roberta")``; anything else → ``None``."""
    if not str(name).startswith("scratch"):
        return None
    parts = str(name).split(":")
    size = parts[1] if len(parts) > 1 and parts[1] else "small"
    arch = parts[2] if len(parts) > 2 and parts[2] else "bert"
    if size not in SIZES or arch not in ARCHS or len(parts) > 3:
        raise ModelError(
            f"unknown from-scratch base model {name!r}: use scratch:SIZE[:ARCH] with SIZE in "
            f"{', '.join(SIZES)} and ARCH in {', '.join(ARCHS)}"
        )
    return size, arch


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 8000,
    arch: str = "bert",
    max_length: int = SCRATCH_POSITIONS,
) -> PreTrainedTokenizerFast:
    """Train a subword tokenizer (Hangul kept whole, no lower-casing) on ``texts``.

    BPE over ``▁``-marked words (SentencePiece style). Not WordPiece: the tokenizers library's
    WordPiece trainer numbers its ``##`` pieces in hash-map order, so the same texts gave a
    different vocabulary on every run (huggingface/tokenizers#1794); this one is repeatable.
    """
    sp = _SPECIALS[arch]
    tok = Tokenizer(models.BPE(unk_token=sp["unk"]))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    specials = [sp["pad"], sp["unk"], sp["cls"], sp["sep"], sp["mask"]]
    if arch == "roberta":  # RoBERTa expects <s>=0, <pad>=1, </s>=2, <unk>=3
        specials = [sp["cls"], sp["pad"], sp["sep"], sp["unk"], sp["mask"]]
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=2, special_tokens=specials, show_progress=False
    )
    tok.train_from_iterator((t for t in texts if t), trainer=trainer)
    cls_id, sep_id = tok.token_to_id(sp["cls"]), tok.token_to_id(sp["sep"])
    if arch == "bert":
        pair = f"{sp['cls']} $A {sp['sep']} $B:1 {sp['sep']}:1"
    else:
        pair = f"{sp['cls']} $A {sp['sep']} {sp['sep']} $B {sp['sep']}"
    tok.post_processor = processors.TemplateProcessing(
        single=f"{sp['cls']} $A {sp['sep']}",
        pair=pair,
        special_tokens=[(sp["cls"], cls_id), (sp["sep"], sep_id)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        cls_token=sp["cls"],
        sep_token=sp["sep"],
        pad_token=sp["pad"],
        unk_token=sp["unk"],
        mask_token=sp["mask"],
        bos_token=sp["cls"] if arch == "roberta" else None,
        eos_token=sp["sep"] if arch == "roberta" else None,
        model_max_length=max_length,
        # BERT takes segment ids (question 0, passage 1) for a pair; RoBERTa has none. Saved
        # with the tokenizer, so a reloaded BERT cross-encoder still sees which side is which.
        model_input_names=(
            ["input_ids", "attention_mask"]
            if arch == "roberta"
            else ["input_ids", "token_type_ids", "attention_mask"]
        ),
    )
    return fast


def build_scratch_base(
    texts: Iterable[str],
    output_dir: str | Path,
    size: str = "small",
    arch: str = "bert",
    *,
    vocab_size: int | None = None,
    max_length: int = SCRATCH_POSITIONS,
    seed: int = 42,
) -> Path:
    """Train a tokenizer on ``texts`` and save a randomly initialised encoder to ``output_dir``.

    The directory loads with ``AutoModel``/``AutoTokenizer``, so sentence-transformers can add
    pooling (bi-encoder) or a one-label head (cross-encoder) exactly as for a hub model.
    """
    if size not in SIZES:
        raise ModelError(f"unknown size {size!r}; choose from {', '.join(SIZES)}")
    if arch not in ARCHS:
        raise ModelError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")
    dims = SIZES[size]
    tokenizer = train_tokenizer(texts, vocab_size or dims.vocab, arch, max_length)
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=dims.hidden,
        num_hidden_layers=dims.layers,
        num_attention_heads=dims.heads,
        intermediate_size=dims.intermediate,
        pad_token_id=tokenizer.pad_token_id,
        **{SCRATCH_KEY: f"scratch:{size}:{arch}"},  # provenance, kept by trained models
    )
    config: PretrainedConfig
    if arch == "bert":
        config = BertConfig(max_position_embeddings=max_length, **common)
    else:
        config = RobertaConfig(
            max_position_embeddings=max_length + 2,
            type_vocab_size=1,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            **common,
        )
    torch.manual_seed(seed)
    model = AutoModel.from_config(config)
    with atomic_directory(output_dir) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return Path(output_dir)


def base_texts(
    sts: Iterable[str | Path] = (),
    mrc: Iterable[str | Path] = (),
    *,
    test_size: float = 0.3,
    seed: int = 42,
) -> list[str]:
    """Tokenizer training material for a base shared by all stages: every sentence of the STS
    files and the questions and distinct passages of the *training titles* of the MRC files
    (split by title with ``test_size``/``seed``, so test passages are never seen)."""
    from lc_klue.data import load_mrc, load_sts, split_by_title

    texts: list[str] = []
    for source in sts:
        ds = load_sts(source)
        texts += list(ds["sentence1"]) + list(ds["sentence2"])
    for source in mrc:
        train = split_by_title(load_mrc(source), test_size=test_size, seed=seed)["train"]
        texts += list(train["question"]) + sorted(set(train["context"]))
    if not texts:
        raise ModelError("a from-scratch base needs texts: give STS and/or MRC training data")
    return texts
