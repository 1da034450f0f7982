"""Training the three models of the method: STS bi-encoder, MRC fine-tuning, cross-encoder."""

from training.scratch import SIZES, build_scratch_base, parse_scratch_spec, train_tokenizer

__all__ = ["SIZES", "build_scratch_base", "parse_scratch_spec", "train_tokenizer"]
