"""Saved pipelines: the shipped default, the file format, refitting and adding models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lc_klue.data import load_mrc, mrc_documents, split_by_title
from lc_klue.data.gold import gold_ids
from lc_klue.errors import RetrievalError
from lc_klue.resources import DEFAULT_PIPELINE, NEWS_QA
from lc_klue.retrieval import FusionRetriever, FusionStage, PipelineParts, build_pipeline
from lc_klue.retrieval.model_check import ModelCheck
from lc_klue.retrieval.saved_pipeline import (
    SavedPipeline,
    add_models,
    base_spec,
    default_pipeline,
    fit_pipeline,
    question_hash,
)


def test_the_default_pipeline_is_bm25_then_fitted_lexical_fusion() -> None:
    saved = default_pipeline()
    spec = saved.spec
    assert spec.first_stage.kind == "bm25" and (spec.first_stage.k1, spec.first_stage.b) == (
        0.9,
        0.4,
    )
    (stage,) = spec.stages
    assert isinstance(stage, FusionStage) and stage.lexical and spec.k == 30
    assert stage.weights and "first_stage" not in stage.weights  # fitted, not BM25's order
    fitted = saved.fitted
    assert fitted["data"] == "KorQuAD_v1.0_dev.json" and fitted["split"]["side"] == "train"
    assert fitted["mrr@10_fused"] > fitted["mrr@10_first_stage"]
    assert "lc-klue tune" in fitted["command"]
    # numbers only: no text of the data set in the shipped file
    raw = json.loads(DEFAULT_PIPELINE.read_text(encoding="utf-8"))
    assert len(raw["question_hashes"]) == fitted["questions"] == 1000
    assert all(len(h) == 12 and int(h, 16) >= 0 for h in raw["question_hashes"])


def test_a_pipeline_file_round_trips_and_bad_files_are_one_line(tmp_path: Path) -> None:
    saved = SavedPipeline(spec=base_spec(top_n=5), fitted={"data": "x"}, question_hashes=["ab"])
    saved.save(tmp_path / "p.json")
    back = SavedPipeline.load(tmp_path / "p.json")
    assert back.spec == saved.spec and back.fitted == {"data": "x"}
    assert back.spec.sized(k=50, top_n=3).model_dump()["k"] == 50
    assert back.spec.sized(k=2, top_n=3).k == 3  # never fewer candidates than results
    (tmp_path / "bad.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(RetrievalError, match="not an lc-klue pipeline file"):
        SavedPipeline.load(tmp_path / "bad.json")
    broken = saved.to_json()
    broken["spec"]["k"] = 0
    (tmp_path / "k.json").write_text(json.dumps(broken))
    with pytest.raises(RetrievalError, match="k: Input should be greater than 0"):
        SavedPipeline.load(tmp_path / "k.json")
    with pytest.raises(RetrievalError, match="pipeline file not found"):
        SavedPipeline.load(tmp_path / "none.json")


def test_refitting_on_train_titles_never_lowers_their_mrr(news_qa) -> None:
    train = split_by_title(load_mrc(NEWS_QA), 0.3, seed=42)["train"]
    docs = mrc_documents(NEWS_QA)
    parts = PipelineParts(docs)
    corpus_ids = gold_ids(list(train["context"]))
    fitted = fit_pipeline(
        SavedPipeline(spec=base_spec()), parts, list(train["question"]), corpus_ids, {"data": "n"}
    )
    record = fitted.fitted
    assert record["data"] == "n" and record["questions"] == len(train)
    assert record["mrr@10_fused"] >= record["mrr@10_first_stage"]
    assert fitted.tuned_on(list(train["question"])) == len(set(train["question"]))
    assert fitted.tuned_on(["다른 질문"]) == 0
    assert question_hash(" 같은  질문 ") == question_hash("같은 질문")
    retriever = build_pipeline(fitted.spec, parts)
    assert isinstance(retriever, FusionRetriever)
    assert retriever.weights == fitted.spec.stages[0].weights


def _check(name: str, near: bool) -> ModelCheck:
    return ModelCheck(name, "x", 32, 10.0, 0.5 if not near else 0.1, 0.1, 0.2, 0.1, near)


def test_models_join_only_when_they_pass_their_check() -> None:
    base = default_pipeline()
    both = add_models(
        base,
        embedding_model="bi",
        cross_encoder="ce",
        checks=[_check("bi", False), _check("ce", False)],
    )
    fusion, rerank = both.spec.stages
    assert fusion.embedding_model == "bi" and fusion.weights["dense"] == 1.0
    assert rerank.kind == "rerank" and rerank.cross_encoder == "ce" and rerank.fusion == "rrf"
    assert [c["model"] for c in both.checks] == ["bi", "ce"]
    none = add_models(
        base,
        embedding_model="bi",
        cross_encoder="ce",
        checks=[_check("bi", True), _check("ce", True)],
    )
    assert none.spec == base.spec  # near chance: the stages that work, unchanged
    assert all(c["near_chance"] for c in none.checks)
