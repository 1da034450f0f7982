"""Indexing throughput: passages per second and peak memory of ``lc-klue index`` per model.

Writes N synthetic Korean passages (the growth benchmark's: Kiwi content morphemes drawn from
two real KorQuAD passages and the file's morpheme frequencies, joined by spaces; no text
copied) to a JSONL passage file, then runs ``lc-klue index FILE OUT --kinds dense
--embedding-model MODEL`` once per model, each in its own process under ``/usr/bin/time -v``
(peak RSS), and prints one JSON line per model (passages, seconds, passages/s, peak MiB).

    python examples/index_throughput.py KorQuAD_v1.0_dev.json work/ \\
        --model kiwi:static=models/kiwi-static --model mini=models/timing-mini-bi -n 100000 \
        "--option=--no-progress --workers 2" --analysis-bound
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path


def write_passages(data: str, path: Path, n: int, seed: int = 0) -> Path:
    """``n`` synthetic passages as a JSONL passage file (``id``, ``context``)."""
    from lc_klue.bench.scale.corpus import Source, synthetic_corpus

    source = Source.from_mrc(data)
    ids, offsets = synthetic_corpus(source, n, seed=seed)
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            words = [source.vocab[t] for t in ids[offsets[i] : offsets[i + 1]]]
            f.write(json.dumps({"id": f"s{i}", "context": " ".join(words)}, ensure_ascii=False))
            f.write("\n")
    return path


def index_once(passages: Path, model: str, out: Path, n: int, extra: list[str]) -> dict:
    """One ``lc-klue index`` run in its own process: seconds and peak RSS."""
    command = [sys.executable, "-m", "lc_klue.cli", "index", str(passages), str(out)]
    command += ["--kinds", "dense", "--embedding-model", model, "--overwrite", *extra]
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if done.returncode:
        tail = done.stderr.strip().splitlines()[-3:]
        return {"model": model, "error": " | ".join(tail)}
    return {
        "model": model,
        "passages": n,
        "seconds": round(seconds, 2),
        "passages_per_s": round(n / seconds, 1),
        "peak_mib": round(int(peak.group(1)) / 1024, 1) if peak else None,
        "options": extra,
    }


def analysis_bound(passages: Path, n: int) -> dict:
    """Kiwi's morphological analysis alone over the same passages (Kiwi's own threads, no
    model, no index): the ceiling of any Kiwi-based model's indexing rate here."""
    from lc_klue.text import get_kiwi

    texts = [json.loads(line)["context"] for line in passages.open(encoding="utf-8")][:n]
    kiwi = get_kiwi()
    kiwi.tokenize(texts[:100])  # warm up
    start, cpu = time.perf_counter(), time.process_time()
    for _ in kiwi.tokenize(texts):
        pass
    seconds = time.perf_counter() - start
    return {
        "model": "Kiwi analysis only",
        "passages": n,
        "seconds": round(seconds, 2),
        "passages_per_s": round(n / seconds, 1),
        "cpu_per_wall": round((time.process_time() - cpu) / seconds, 2),
        "kiwi_threads": kiwi.num_workers,
    }


def main() -> None:
    """Command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="MRC file the synthetic passages are drawn from")
    p.add_argument("work", type=Path, help="folder for the passage file and the indexes")
    p.add_argument("--model", action="append", default=[], help="NAME=MODEL_DIR")
    p.add_argument("-n", type=int, default=100_000, help="passages (default 100,000)")
    p.add_argument(
        "--option", action="append", default=[], help="extra `lc-klue index` flags (--option=…)"
    )
    p.add_argument(
        "--analysis-bound",
        action="store_true",
        help="also time Kiwi's analysis alone over the same passages (the ceiling of kiwi:*)",
    )
    args = p.parse_args()
    if not args.model and not args.analysis_bound:
        p.error("give --model NAME=MODEL_DIR (or --analysis-bound)")
    args.work.mkdir(parents=True, exist_ok=True)
    passages = args.work / f"synthetic-{args.n}.jsonl"
    if not passages.is_file():
        write_passages(args.data, passages, args.n)
    for spec in args.model:
        name, _, model = spec.partition("=")
        extra = [o for opt in args.option for o in opt.split()]
        row = index_once(passages, model, args.work / f"index-{name}", args.n, extra)
        print(json.dumps({"name": name, **row}, ensure_ascii=False), flush=True)
    if args.analysis_bound:
        row = analysis_bound(passages, args.n)
        print(json.dumps({"name": "kiwi-analysis", **row}, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
