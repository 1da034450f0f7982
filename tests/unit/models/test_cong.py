"""CoNg vectors rebuilt through Kiwi's public API, checked against Kiwi itself."""

from __future__ import annotations

import numpy as np
import pytest

from lc_klue.errors import ModelError
from lc_klue.models import cong
from lc_klue.text import get_kiwi

# a small slice: nouns, verbs, names and function words of the table
WORDS = ["축구", "야구", "농구", "선수", "서울", "부산", "대통령", "먹", "달리", "은", "를"]


def _ids() -> list[int]:
    kiwi = get_kiwi()
    return [kiwi.tokenize(w)[0].id for w in WORDS]


def test_a_slice_reproduces_morpheme_similarity() -> None:
    ids = _ids()
    vectors = cong.cong_vectors(ids)
    assert vectors.shape == (len(ids), 256)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    kiwi = get_kiwi()
    got = vectors @ vectors.T
    want = np.array([[kiwi.morpheme_similarity(a, b) for b in ids] for a in ids])
    assert np.max(np.abs(got - want)) < 0.01
    # 축구 is closer to 야구 than to 먹 (eat), as in Kiwi
    assert got[0, 1] > got[0, 7]


def test_the_basis_does_not_depend_on_the_slice() -> None:
    ids = _ids()
    both = cong.cong_vectors(ids)
    part = cong.cong_vectors(ids[3:6])
    np.testing.assert_allclose(part, both[3:6], atol=1e-5)


def test_bad_rows_and_anchor_counts_are_refused() -> None:
    with pytest.raises(ModelError, match="morpheme ids must be in"):
        cong.cong_vectors([cong.cong_table().vocab])
    with pytest.raises(ModelError, match="anchors must be at least"):
        cong.cong_vectors([100], anchors=100)


def test_an_unverified_kiwipiepy_model_is_refused_in_one_line(monkeypatch) -> None:
    monkeypatch.setattr(cong, "kiwi_model_version", lambda: "9.9.9")
    with pytest.raises(ModelError, match=r"kiwipiepy-model 9\.9\.9 is not supported") as e:
        cong.cong_vectors([100])
    assert "\n" not in str(e.value) and "pip install kiwipiepy-model==0.24.0" in str(e.value)


def test_the_full_table_is_cached(lc_klue_home) -> None:
    table = cong.cong_vectors()
    assert table.shape == (cong.cong_table().vocab, 256)
    cached = list((lc_klue_home / "cong").glob("cong-*.npy"))
    assert len(cached) == 1
    np.testing.assert_array_equal(cong.cong_vectors(), table)
