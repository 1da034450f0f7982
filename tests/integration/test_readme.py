"""The README's data script runs as written on the real data."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def test_readme_data_script(shared_data) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    script = re.search(r"```python\n(from lc_klue\.data import .*?)```", readme, re.S).group(1)
    assert len(script.strip().splitlines()) == 6
    script = script.replace('"../shared/data"', repr(str(shared_data)))
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert "klue-sts/klue_sts_train.csv 11668 pairs" in out.stdout
    assert "KorQuAD dev 5774 questions" in out.stdout
