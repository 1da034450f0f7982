"""The ``kiwi:static`` cross-encoder: kernel-pooled morpheme interactions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sentence_transformers import CrossEncoder

from lc_klue.errors import ModelError
from lc_klue.models import load_cross_encoder, score_pairs_batched
from lc_klue.models.kiwi_interaction import KiwiInteraction
from training.models import make_cross_encoder

QUESTION = "손흥민은 어느 축구 클럽에서 뛰나?"
GOOD = "손흥민은 토트넘 홋스퍼 축구 클럽에서 뛰는 공격수다."
BAD = "부산시는 새 버스 노선을 3월부터 운행한다고 발표했다."


@pytest.fixture(scope="module")
def model(tiny_models) -> CrossEncoder:
    return make_cross_encoder(tiny_models.kiwi_static(), device="cpu")


def test_it_is_built_on_the_static_models_vectors(model: CrossEncoder) -> None:
    assert isinstance(model[0], KiwiInteraction)
    assert model.num_labels == 1
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable < 1000  # the vectors are frozen buffers; only the scorer learns


def test_exact_matches_count_for_unknown_forms_too(model: CrossEncoder) -> None:
    features = model[0].preprocess([(QUESTION, GOOD), (QUESTION, BAD)])
    exact = features["q_hash"].unsqueeze(2) == features["p_hash"].unsqueeze(1)
    valid = (features["q_rows"] >= 0).unsqueeze(2) & (features["p_rows"] >= 0).unsqueeze(1)
    matches = (exact & valid).sum(dim=(1, 2))
    assert matches[0] >= 3 and matches[1] == 0  # 손흥민, 축구, 클럽…


def test_a_few_steps_of_training_prefer_the_matching_passage(model: CrossEncoder) -> None:
    pairs = [(QUESTION, GOOD), (QUESTION, BAD)]
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=0.05)
    for _ in range(30):
        scores = model(model[0].preprocess(pairs))["scores"].view(1, 2)
        loss = torch.nn.functional.cross_entropy(scores, torch.tensor([0]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    good, bad = model.predict(pairs)
    assert good > bad


def test_save_reload_and_batched_scoring(model: CrossEncoder, tmp_path) -> None:
    model.save_pretrained(str(tmp_path / "ce"))
    again = load_cross_encoder(tmp_path / "ce", device="cpu")
    pairs = [(QUESTION, GOOD), (QUESTION, BAD)]
    np.testing.assert_allclose(model.predict(pairs), again.predict(pairs), atol=1e-6)
    batched = score_pairs_batched(again, [QUESTION, QUESTION], [[GOOD, BAD], [BAD]])
    np.testing.assert_allclose(batched[0], again.predict(pairs), atol=1e-6)


def test_single_texts_are_not_pairs(model: CrossEncoder) -> None:
    assert model[0].preprocess([QUESTION]) == {}  # what the model card's statistics ask
    with pytest.raises(ModelError, match="pairs"):
        model[0].preprocess([(QUESTION, GOOD, BAD)])
