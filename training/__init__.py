"""Training the three models of the method: STS bi-encoder, MRC fine-tuning, cross-encoder.

Every stage runs the same flow (:mod:`training.runner`) with the same arguments object
(:class:`training.args.TrainingArgs`: data, hyper-parameters, run settings) and its own small
settings (``StsSettings``, ``MrcSettings``, ``CrossEncoderSettings``): ``train_X(output_dir,
model, settings, args)``; a stage module holds only its data, loss and evaluation.
Layout: ``args`` → ``data`` → ``models`` (base models: hub, local, ``scratch:``,
``kiwi:static``) → ``evaluation`` (sentence-transformers evaluators) and ``negatives`` →
``runner`` → the stages ``sts``, ``mrc``, ``cross_encoder`` → ``outputs`` (model directory,
card, hub upload).

The modules are imported lazily, so ``import training`` stays light; the names below are
re-exported on first access.
"""

from __future__ import annotations

from lc_klue._lazy import lazy_exports

_LAZY = {
    "TrainingArgs": "training.args",
    "StsSettings": "training.args",
    "MrcSettings": "training.args",
    "CrossEncoderSettings": "training.args",
    "StageResult": "training.outputs",
    "push_to_hub": "training.outputs",
    "train_sts": "training.sts",
    "train_mrc": "training.mrc",
    "train_cross_encoder": "training.cross_encoder",
    "SIZES": "training.scratch",
    "base_texts": "training.scratch",
    "build_scratch_base": "training.scratch",
    "parse_scratch_spec": "training.scratch",
    "train_tokenizer": "training.scratch",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
