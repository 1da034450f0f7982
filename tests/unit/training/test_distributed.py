"""A training stage under ``torchrun``: two CPU ranks (gloo), data-parallel, one complete model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from lc_klue.resources import STS_PAIRS

pytestmark = pytest.mark.slow


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun is not installed")
def test_sts_stage_under_torchrun_with_two_cpu_ranks(tmp_path: Path) -> None:
    out = tmp_path / "sts-ddp"
    cmd = ["torchrun", "--nproc_per_node", "2", "--no-python", "lc-klue", "train", "sts", str(out)]
    cmd += ["--model", "scratch:tiny", "--data", str(STS_PAIRS), "--device", "cpu"]
    cmd += ["--max-steps", "4", "--batch-size", "8", "--warmup-steps", "0", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "DistributedDataParallel" in done.stderr  # the trainer wrapped the model in DDP
    # each rank reads its own half of the data: 4 steps of 8 pairs cover twice one rank's share
    epochs = [
        float(line.split("'epoch': '")[1].split("'")[0])
        for line in done.stdout.splitlines() + done.stderr.splitlines()
        if "'train_runtime'" in line
    ]
    assert epochs and all(e > 0 for e in epochs)
    n_pairs = sum(1 for _ in STS_PAIRS.open(encoding="utf-8")) - 1
    validation = round(n_pairs * 0.1)
    assert epochs[0] == pytest.approx(4 * 8 * 2 / (n_pairs - validation), rel=0.1)
    # rank 0 alone saved the model: the directory is complete
    files = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "metrics.json", "modules.json"} <= files
    assert json.loads((out / "metrics.json").read_text())["hyperparameters"]["steps"] == 4
    assert not out.with_name(out.name + ".ckpt").exists()
