"""The measuring harness behind ``results/``: ``lc-klue benchmark`` (the pipeline grid, fusion
tuning, the reranking speed test and their report) and ``lc-klue benchmark-scale`` (how the
stores grow), plus the Qdrant/FAISS agreement check. Built on the library's public API
(:mod:`lc_klue.evaluation`, :mod:`lc_klue.retrieval`); nothing in the library imports it.

Modules: :mod:`~lc_klue.bench.configs` (configuration ids), :mod:`~lc_klue.bench.settings`,
:mod:`~lc_klue.bench.data`, :mod:`~lc_klue.bench.grid`, :mod:`~lc_klue.bench.tuning`,
:mod:`~lc_klue.bench.speed` and :mod:`~lc_klue.bench.speed_test`, :mod:`~lc_klue.bench.run`
(:func:`~lc_klue.bench.run.run_benchmark`), :mod:`~lc_klue.bench.report`,
:mod:`~lc_klue.bench.scale` and :mod:`~lc_klue.bench.agreement`.
"""
