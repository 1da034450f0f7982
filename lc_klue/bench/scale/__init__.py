"""How the stores grow: build time, peak memory, size on disk, query latency and recall@10 of
FAISS (flat, HNSW, IVF), Kiwi BM25 (bm25s) and embedded Qdrant (dense, BM25) as the corpus
grows from thousands to millions of passages.

The corpus is synthetic Korean: each passage is a bag of Kiwi content morphemes drawn from two
real passages of a source MRC file (its topics) and from the file's morpheme frequencies, with
the length of half a real passage. No text of the source is copied: only its morphemes, shuffled.
Queries are the source's real questions, analysed by Kiwi. Dense vectors come from
:class:`MorphemeHashEmbeddings` (a deterministic random projection of the morphemes: cheap, no
model needed), since the point is the stores' cost, not a model's quality; the same vectors go
into every dense store.

Each (store, size) is built in its own process (clean peak memory). A store whose next size is
projected, from its last two measurements, to take longer than ``budget_s`` to build or more
than ``memory_gb`` to hold is not run and is reported as stopped, with the reason.

Modules: :mod:`~lc_klue.bench.scale.embedding` (the hash embedding),
:mod:`~lc_klue.bench.scale.corpus` (the synthetic corpus), :mod:`~lc_klue.bench.scale.stores`
(each store's build and search), :mod:`~lc_klue.bench.scale.measure` (one measurement, in its
own process), :mod:`~lc_klue.bench.scale.run` (every store at every size) and
:mod:`~lc_klue.bench.scale.report`.
"""
