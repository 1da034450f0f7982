"""The scale benchmark's synthetic corpus: bags of a real MRC file's Kiwi morphemes (never its
text), their dense vectors and the exact dense top 10 of the queries."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lc_klue.bench.scale.embedding import MorphemeHashEmbeddings

#: Passages each query retrieves (recall@K against exact search).
K = 10


@dataclass
class Source:
    """The morphemes of a real MRC file: vocabulary, passages as ids, and its questions."""

    vocab: list[str]
    token_ids: np.ndarray
    offsets: np.ndarray
    question_tokens: list[list[str]]
    kiwi_passages_per_s: float
    tune_tokens: list[list[str]]
    """Held-out questions (as many as possible up to as many again) that the approximate
    stores' search settings are tuned on, never measured."""
    sentences: list[list[str]]
    """Each real passage's sentences (Kiwi): what the text stores' passages are made of."""
    questions: list[str]
    """The measured questions' texts (the text stores analyse them)."""

    @classmethod
    def from_mrc(cls, path: str | Path, n_questions: int = 200, seed: int = 42) -> Source:
        """Analyse the distinct passages and a sample of questions of an MRC file with Kiwi,
        and as many held-out questions again for tuning the approximate stores."""
        from lc_klue.data import load_mrc, sample_questions, unique_contexts
        from lc_klue.text import kiwi_tokenize, split_sentences

        data = load_mrc(path)
        passages = list(unique_contexts(data)["context"])
        start = time.perf_counter()
        tokens = kiwi_tokenize(passages)
        rate = len(passages) / (time.perf_counter() - start)
        vocab = sorted({t for ts in tokens for t in ts})
        index = {t: i for i, t in enumerate(vocab)}
        sample = sample_questions(data, min(2 * n_questions, len(data)), seed=seed)
        questions = list(sample["question"])  # the first n as with a sample of n
        return cls(
            vocab=vocab,
            token_ids=np.asarray([index[t] for ts in tokens for t in ts], dtype=np.int32),
            offsets=np.cumsum([0, *(len(ts) for ts in tokens)]).astype(np.int64),
            question_tokens=kiwi_tokenize(questions[:n_questions]),
            kiwi_passages_per_s=rate,
            tune_tokens=kiwi_tokenize(questions[n_questions:]),
            sentences=[
                ss or [p] for ss, p in zip(split_sentences(passages), passages, strict=True)
            ],
            questions=questions[:n_questions],
        )


def synthetic_corpus(
    source: Source, n: int, *, seed: int = 0, length_scale: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic passages as morpheme ids and offsets: 45 % of each passage's morphemes
    drawn from one real passage, 25 % from a second one, 30 % from the whole file's morpheme
    frequencies; length ``length_scale`` × the first passage's (±25 %)."""
    rng = np.random.default_rng([seed, n])
    lengths_src = np.diff(source.offsets)
    a = rng.integers(0, len(lengths_src), n)
    b = rng.integers(0, len(lengths_src), n)
    lengths = np.maximum(
        8, np.round(lengths_src[a] * length_scale * rng.uniform(0.75, 1.25, n))
    ).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    total = int(offsets[-1])
    owner = np.repeat(np.arange(n), lengths)
    pick = rng.random(total)
    unigram = np.bincount(source.token_ids, minlength=len(source.vocab)).astype(np.float64)
    cdf = np.cumsum(unigram / unigram.sum())
    out = np.searchsorted(cdf, rng.random(total), side="right").astype(np.int32)
    for src, mask in ((a, pick < 0.45), (b, (pick >= 0.45) & (pick < 0.70))):
        docs = src[owner[mask]]
        pos = source.offsets[docs] + (rng.random(int(mask.sum())) * lengths_src[docs]).astype(
            np.int64
        )
        out[mask] = source.token_ids[pos]
    return np.minimum(out, len(source.vocab) - 1), offsets


def synthetic_texts(
    sentences: list[list[str]], n: int, *, seed: int = 0, length_scale: float = 0.5
) -> list[str]:
    """``n`` synthetic passages of real sentences (for the stores that analyse text): running
    sentences of one real passage from a random one on, to 60 % of the length, then of a
    second, to ``length_scale`` × the first passage's length (±25 %)."""
    rng = np.random.default_rng([seed, n, 1])
    lengths = np.asarray([sum(map(len, ss)) for ss in sentences], dtype=np.float64)
    a, b = rng.integers(0, len(sentences), (2, n))
    target = lengths[a] * length_scale * rng.uniform(0.75, 1.25, n)
    starts = rng.random((2, n))
    out = []
    for i in range(n):
        parts: list[str] = []
        size = 0.0
        for src, start, share in ((a[i], starts[0, i], 0.6), (b[i], starts[1, i], 1.0)):
            ss = sentences[src]
            j = int(start * len(ss))
            for sentence in ss[j:] + ss[:j]:
                if size >= share * target[i]:
                    break
                parts.append(sentence)
                size += len(sentence) + 1
        out.append(" ".join(parts))
    return out


def prepare_size(work: Path, source: Source, n: int, args: dict[str, Any]) -> None:
    """Write the corpus of size ``n`` (morpheme ids, dense vectors, exact dense top-10)."""
    out = work / f"corpus-{n}"
    out.mkdir(parents=True, exist_ok=True)
    token_ids, offsets = synthetic_corpus(
        source, n, seed=args["seed"], length_scale=args["length_scale"]
    )
    np.save(out / "token_ids.npy", token_ids)
    np.save(out / "offsets.npy", offsets)
    emb = MorphemeHashEmbeddings(args["dimension"], args["seed"])
    vectors = emb.embed_token_ids(token_ids, offsets, source.vocab)
    np.save(out / "vectors.npy", vectors)
    queries = np.load(work / "query_vectors.npy")
    scores = np.empty((n, len(queries)), dtype=np.float32)
    for s in range(0, n, 100_000):
        scores[s : s + 100_000] = vectors[s : s + 100_000] @ queries.T
    top = np.argpartition(-scores, K, axis=0)[:K]  # (K, queries), unordered
    best = np.argsort(-np.take_along_axis(scores, top, axis=0), axis=0, kind="stable")
    exact = np.take_along_axis(top, best, axis=0).T
    (out / "exact-dense.json").write_text(json.dumps(exact.tolist()))
    (out / "exact-bm25.json").write_text(json.dumps([]))
