"""The stage check: along each chain of configurations that adds a stage (a fine-tuned model, a
reranker, a fusion feature), did the added stage keep hit@1?"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from lc_klue.bench.configs import STAGE_CHAINS


def stage_check(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per protocol, whether each added stage (along :data:`STAGE_CHAINS`: the fine-tuned
    bi-encoder, the reranker, each fusion feature) kept hit@1 at least at the stage before."""
    out = []
    for protocol in dict.fromkeys(r["group"] for r in rows):
        by_id = {r.get("config", r["id"]): r for r in rows if r["group"] == protocol}
        pairs = (
            pair
            for chain in STAGE_CHAINS
            for pair in itertools.pairwise([c for c in chain if c in by_id])
        )
        for prev, cur in pairs:
            out.append(
                {
                    "protocol": protocol,
                    "stage": cur,
                    "after": prev,
                    "hit@1_before": by_id[prev]["hit@1"],
                    "hit@1_after": by_id[cur]["hit@1"],
                    "ok": by_id[cur]["hit@1"] >= by_id[prev]["hit@1"],
                }
            )
    return out


def stage_check_line(checks: Sequence[dict[str, Any]], drops_expected: str | None = None) -> str:
    """The :func:`stage_check` as one line: passed, or FAILED with each stage that lowered
    hit@1; with ``drops_expected`` (why a drop is expected on this run, e.g. tiny models) the
    drops are told as information with that reason, not as a failure."""
    several = len({c["protocol"] for c in checks}) > 1
    bad = [
        f"{c['stage']} {c['hit@1_after']:.3f} < {c['after']} {c['hit@1_before']:.3f}"
        + (f" ({c['protocol']})" if several else "")
        for c in checks
        if not c["ok"]
    ]
    ids = {c["stage"] for c in checks} | {c["after"] for c in checks}
    chains = [" → ".join(c for c in chain if c in ids) for chain in STAGE_CHAINS]
    said = (
        "Stage check (hit@1 of each configuration at least that of the one it adds a stage "
        f"to, along {'; '.join(c for c in chains if '→' in c)}): "
    )
    if not bad:
        return said + "passed."
    if drops_expected:
        return said + f"not raised by {'; '.join(bad)}, as expected here: {drops_expected}."
    return said + "FAILED: " + "; ".join(bad) + "."
