"""Questions from documents alone: inverse-cloze pairs (Lee et al., 2019).

A user with passages and no questions can still fit a retrieval model to their data: a
sentence of a passage plays the question and its passage the answer. The pair's ``context``
is the whole passage (what retrieval must find); ``positive`` is the passage without that
sentence most of the time (``keep`` of the time with it), so a model cannot win by copying
words of the sentence alone.
"""

from __future__ import annotations

import numpy as np
from datasets import Dataset

from lc_klue.errors import DataError
from lc_klue.text import sentence_spans

#: Shortest sentence (characters) used as a question.
MIN_SENTENCE_CHARS = 10


def inverse_cloze_pairs(
    passages: Dataset, per_passage: int = 1, keep: float = 0.1, seed: int = 42
) -> Dataset:
    """MRC-shaped pairs ``id, title, context, question, positive, answers`` from the
    passages of ``passages`` (``title``, ``context``): ``per_passage`` sentences of each
    passage with at least two sentences, drawn with ``seed``."""
    if per_passage < 1 or not 0.0 <= keep <= 1.0:
        raise DataError("per_passage must be ≥ 1 and keep in [0, 1]")
    rng = np.random.default_rng(seed)
    texts, titles = list(passages["context"]), list(passages["title"])
    rows: dict[str, list[str]] = {k: [] for k in ("id", "title", "context", "question", "positive")}
    for i, spans in enumerate(sentence_spans(texts)):
        usable = [s for s in spans if len(s[0]) >= MIN_SENTENCE_CHARS]
        if len(spans) < 2 or not usable:
            continue
        picks = rng.choice(len(usable), size=min(per_passage, len(usable)), replace=False)
        for j in picks:
            sentence, start, end = usable[int(j)]
            text = texts[i]
            rest = text if rng.random() < keep else (text[:start] + text[end:]).strip()
            rows["id"].append(f"ict-{i}-{int(j)}")
            rows["title"].append(titles[i])
            rows["context"].append(text)
            rows["question"].append(sentence)
            rows["positive"].append(" ".join(rest.split()))
    if not rows["id"]:
        raise DataError("no passage has two or more sentences: no inverse-cloze pairs to make")
    empty_answers: list[dict[str, list]] = [{"text": [], "answer_start": []} for _ in rows["id"]]
    return Dataset.from_dict({**rows, "answers": empty_answers})
