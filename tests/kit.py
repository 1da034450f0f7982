"""Test kit: tiny models built offline in seconds from the bundled fixture text."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import torch
from datasets import Dataset
from sentence_transformers import CrossEncoder, SentenceTransformer

from training.kiwi import build_kiwi_static
from training.models import make_bi_encoder, make_cross_encoder
from training.scratch import build_scratch_base

#: The text the kit's tiny causal LM is fitted to continue.
LM_TEXT = "서울시는 새 버스 노선을 발표했다. 노선은 3월부터 운행된다."


class TinyModelFactory:
    """Builds (once per session) tiny BERT/RoBERTa base models and wraps them on demand.

    ``base(arch)`` is a from-scratch encoder directory with a tokenizer trained on the fixture
    texts; ``bi_encoder``/``cross_encoder`` return fresh, untrained model objects;
    ``bi_encoder_dir``/``cross_encoder_dir`` save them once and return the directory.
    """

    def __init__(self, root: Path, texts: list[str]) -> None:
        self.root = root
        self.texts = texts
        self.base = cache(self._base)
        self.bi_encoder_dir = cache(self._bi_encoder_dir)
        self.cross_encoder_dir = cache(self._cross_encoder_dir)
        self.kiwi_static = cache(self._kiwi_static)

    def _base(self, arch: str = "bert") -> Path:
        return build_scratch_base(
            self.texts, self.root / f"base-{arch}", "tiny", arch, max_length=128
        )

    def bi_encoder(self, arch: str = "bert", pooling: str = "mean") -> SentenceTransformer:
        return make_bi_encoder(self.base(arch), pooling=pooling, max_seq_length=128, device="cpu")

    def cross_encoder(self, arch: str = "bert") -> CrossEncoder:
        return make_cross_encoder(self.base(arch), max_length=128, device="cpu")

    def _bi_encoder_dir(self, arch: str = "bert") -> Path:
        out = self.root / f"bi-encoder-{arch}"
        self.bi_encoder(arch).save(str(out))
        return out

    def _cross_encoder_dir(self, arch: str = "bert") -> Path:
        out = self.root / f"cross-encoder-{arch}"
        self.cross_encoder(arch).save_pretrained(str(out))
        return out

    def _kiwi_static(self) -> Path:
        """A ``kiwi:static`` model (CoNg vectors, IDF over the fixture texts)."""
        return build_kiwi_static(self.texts, self.root / "kiwi-static")


def fixture_texts(news_qa: Dataset, sts_pairs: Dataset) -> list[str]:
    """Every text of the fixture corpora (tokenizer training material)."""
    return (
        sorted(set(news_qa["context"]))
        + list(news_qa["question"])
        + list(sts_pairs["sentence1"])
        + list(sts_pairs["sentence2"])
    )


def tiny_causal_lm_dir(tiny_models: TinyModelFactory, out: Path) -> Path:
    """Save a 2-layer GPT-2 with the tiny Korean tokenizer, fitted to continue :data:`LM_TEXT`."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(tiny_models.base("bert"))
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=128,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = GPT2LMHeadModel(config)
    ids = tok(LM_TEXT, return_tensors="pt")["input_ids"][:, 1:-1]  # no [CLS]/[SEP]
    optim = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(15):
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optim.step()
        optim.zero_grad()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


#: Libraries a command must not import before it fails on a bad path or argument.
HEAVY_MODULES = ("torch", "sentence_transformers", "transformers", "datasets")


def run_cli_fresh(argv: list[str], cwd: Path | None = None) -> tuple[int, str, list[str]]:
    """Run ``lc-klue ARGV`` in a new Python process (offline): its exit status, its stderr and
    the heavy libraries (:data:`HEAVY_MODULES`) it had imported when it returned."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, sys; from lc_klue.cli import main; rc = main(json.loads(sys.argv[1]));"
        f"print(json.dumps([rc, [m for m in {list(HEAVY_MODULES)!r} if m in sys.modules]]))"
    )
    env = os.environ | {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(argv)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )
    rc, heavy = json.loads(done.stdout.strip().splitlines()[-1])
    return rc, done.stderr, heavy


def write_korsts(path: Path, pairs: list[tuple[float, str, str]]) -> Path:
    """A KorSTS-style TSV (``genre, filename, year, id, score, sentence1, sentence2``) of
    ``(score, sentence1, sentence2)`` pairs, scores on the 0–5 scale."""
    header = "genre\tfilename\tyear\tid\tscore\tsentence1\tsentence2\n"
    rows = [
        f"main-captions\tMSRvid\t2012test\t{i:04d}\t{score:.3f}\t{s1}\t{s2}\n"
        for i, (score, s1, s2) in enumerate(pairs)
    ]
    path.write_text(header + "".join(rows), encoding="utf-8")
    return path


def news_documents(folder: Path) -> Path:
    """The bundled news passages written as raw documents under ``folder``, one .txt each
    (questions of the news corpus then have whole documents as their gold passages)."""
    from lc_klue.data import load_mrc
    from lc_klue.resources import NEWS_QA

    folder.mkdir()
    for n, text in enumerate(dict.fromkeys(load_mrc(NEWS_QA)["context"])):
        (folder / f"news{n:02d}.txt").write_text(text, encoding="utf-8")
    return folder
