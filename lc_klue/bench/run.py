"""The benchmark: the book's three configurations beside lexical, hybrid and fused pipelines.

One process, the same questions for every configuration:

- the book's: STS bi-encoder; MRC fine-tuned bi-encoder; fine-tuned + cross-encoder (30 → 10);
- BM25 over Kiwi morphemes (default and ``k1=0.9, b=0.4``), hybrid (RRF of BM25 and the MRC
  bi-encoder), hybrid + cross-encoder (plain, and RRF-fused with the first stage);
- score fusion over BM25's top 30 (:class:`~lc_klue.retrieval.fusion.FusionRetriever`): lexical
  features, + dense cosine, + cross-encoder score; weights tuned on questions of the TRAINING
  titles only (never on the evaluated questions).

Questions come from the test titles of :func:`lc_klue.data.split_by_title`. The ``full``
protocol searches every distinct passage of the data file (or ``corpus``); ``book`` searches
the sampled questions' own passages. With ``paraphrase`` (an STS file) every configuration
also runs on its paraphrase retrieval set (:func:`lc_klue.data.paraphrase_retrieval`): the same
models, and the fusion weights tuned on the data's train titles, not refitted (a held-out test).
The benchmark also times cross-encoder reranking of the same candidates with
:func:`~lc_klue.models.reranker.score_pairs_batched` against the book's
one-``predict``-per-query loop and checks that both give the same rankings. It never trains a
model.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any

from lc_klue.bench.configs import CONFIGS
from lc_klue.bench.data import BenchData, data_record, load_data
from lc_klue.bench.grid import check_settings, run_paraphrase, run_protocol
from lc_klue.bench.models import model_infos
from lc_klue.bench.settings import BenchmarkSettings, settings_record
from lc_klue.bench.stages import stage_check
from lc_klue.bench.tuning import tune_fusion
from lc_klue.data import load_mrc
from lc_klue.evaluation import build_eval_set
from lc_klue.retrieval.parts import PipelineParts


def hardware() -> dict[str, Any]:
    """Where the numbers were measured."""
    import torch

    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def _full_parts(s: BenchmarkSettings, data: BenchData) -> PipelineParts:
    """The models and indexes over the ``full`` protocol's passages (built for it when the run
    has no ``full`` protocol: fusion is tuned on them)."""
    d, m = s.data, s.models
    full = data.eval_sets.get("full") or build_eval_set(
        load_mrc(d.data), "full", d.n_questions, d.seed
    )
    return PipelineParts(
        full.documents(),
        device=m.device,
        batch_size=m.batch_size,
        max_length=m.max_length,
        show_progress=s.show_progress,
    )


def _needed_models(s: BenchmarkSettings, configs: list[str]) -> set[str]:
    """The models (``sts``, ``mrc``, ``dense``, ``ce``) that ``configs`` and the speed test use."""
    needed = {m for c in configs for m in CONFIGS[c][1]}
    if s.speed.queries and s.models.cross_encoder:  # the speed test reranks with it
        needed.add("ce")
    return needed


def run_benchmark(s: BenchmarkSettings) -> dict[str, Any]:
    """Run every configuration on the same questions; return a JSON-ready result."""
    start = time.perf_counter()
    if s.models.threads:
        import torch

        torch.set_num_threads(s.models.threads)
    configs, skipped = check_settings(s)
    data = load_data(s.data)
    full_parts = _full_parts(s, data)
    models = model_infos(full_parts, s.models, _needed_models(s, configs))
    tuning = tune_fusion(full_parts, s, configs, data.train_questions, data.train_gold)
    weights = {c: t["weights"] for c, t in tuning.items() if not c.startswith("_")}
    rows: list[dict[str, Any]] = []
    setup: dict[str, float] = {}
    for protocol, es in data.eval_sets.items():
        t0 = time.perf_counter()
        parts = full_parts if protocol == "full" else full_parts.with_documents(es.documents())
        rows += run_protocol(configs, es, parts, s, weights)
        setup[protocol] = time.perf_counter() - t0
    paraphrase = None
    if data.paraphrase is not None:
        paraphrase = run_paraphrase(configs, data.paraphrase, full_parts, s, weights)
    speed = None
    if s.models.cross_encoder and s.speed.queries and "ce" in models:
        from lc_klue.bench.speed_test import speed_test

        speed = speed_test(s, full_parts, data)
    return {
        "settings": settings_record(s, len(data.train_questions)),
        "data": data_record(data),
        "models": models,
        "hardware": hardware(),
        "skipped": skipped,
        "fusion_tuning": tuning,
        "setup_s": setup,
        "rerank_speed": speed,
        "stage_check": stage_check(rows),
        "rows": rows,
        "paraphrase": paraphrase,
        "total_s": time.perf_counter() - start,
    }
