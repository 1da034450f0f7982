"""Random-weight cross-encoders for speed measurements (no download, no training).

``mini``: the from-scratch BERT of the README's results (2 layers, hidden 128, 0.4 M
non-embedding parameters), tokenizer trained on the texts of an MRC file, every linear layer
redrawn at std 0.2 so that its scores depend on the text (at the init scale of 0.02 all pairs
score within 1e-5 and any rounding reorders them). ``roberta-small``: klue/roberta-small's shape
(6 layers, hidden 768, 12 heads, intermediate 3,072, vocabulary 32,000; about 68 M
parameters), random weights, with the tokenizer of ``mini``'s recipe at 32,000 entries.

    python examples/timing_models.py DATA.json models/timing-mini --size mini
    python examples/timing_models.py DATA.json models/timing-roberta-small --size roberta-small
    python examples/timing_models.py DATA.json models/timing-mini-bi --size mini --bi-encoder
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def build(data: str, output: Path, size: str, seed: int = 0, bi_encoder: bool = False) -> Path:
    """Write a random-weight cross-encoder (or, with ``bi_encoder``, a mean-pooling
    bi-encoder) directory of ``size`` to ``output``."""
    from sentence_transformers import CrossEncoder
    from transformers import AutoModelForSequenceClassification, RobertaConfig

    from lc_klue.data import load_mrc
    from training.models import make_bi_encoder, make_cross_encoder
    from training.scratch import build_scratch_base, train_tokenizer

    mrc = load_mrc(data)
    texts = sorted(set(mrc["context"])) + list(mrc["question"])
    if size == "mini":
        base = build_scratch_base(texts, output.with_name(output.name + "-base"), "mini", "bert")
        if bi_encoder:
            make_bi_encoder(base, max_seq_length=256, device="cpu").save(str(output))
            return output
        model = make_cross_encoder(base, max_length=512, device="cpu")
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for module in model.model.modules():
                if isinstance(module, torch.nn.Linear):
                    weight = torch.randn(module.weight.shape, generator=generator) * 0.2
                    module.weight.copy_(weight)
        model.save_pretrained(str(output))
        return output
    tokenizer = train_tokenizer(texts, 32_000, "roberta", 512)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=768,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=514,
        type_vocab_size=1,
        num_labels=1,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(seed)
    hf = AutoModelForSequenceClassification.from_config(config)
    if bi_encoder:
        hf_dir = output.with_name(output.name + "-base")
        hf.save_pretrained(str(hf_dir))
        tokenizer.save_pretrained(str(hf_dir))
        make_bi_encoder(hf_dir, max_seq_length=256, device="cpu").save(str(output))
        return output
    hf.save_pretrained(str(output))
    tokenizer.save_pretrained(str(output))
    CrossEncoder(str(output), device="cpu", max_length=512).save_pretrained(str(output))
    return output


def main() -> None:
    """Command line: ``DATA OUTPUT --size mini|roberta-small``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="MRC-format file whose texts train the tokenizer")
    p.add_argument("output", type=Path)
    p.add_argument("--size", choices=["mini", "roberta-small"], default="mini")
    p.add_argument("--bi-encoder", action="store_true", help="a bi-encoder instead")
    args = p.parse_args()
    print(build(args.data, args.output, args.size, bi_encoder=args.bi_encoder))


if __name__ == "__main__":
    main()
