"""The README's Python snippet runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_snippet_runs(tmp_path):
    text = README.read_text()
    m = re.search(r"<!-- py-snippet -->\s*```python\n(.*?)```\s*<!-- /py-snippet -->", text, re.S)
    assert m, "the README has no Python snippet"
    out = subprocess.run([sys.executable, "-c", m.group(1)], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"640 360 \d+\n", out.stdout), out.stdout
