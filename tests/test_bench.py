"""The completion benchmark still runs and prints every row its target is read from (one lifecycle per path, SQLite)."""
from __future__ import annotations

import re
import subprocess
import sys

from engine.platform.config import PROJECT_ROOT

ROWS = ("raw SpiffWorkflow in memory", "engine + SQLite persistence", "+ bare rows and state", "ratio engine/floor",
        "+ the checks' statements", "ratio engine/that", "sandbox cost checked/off", "load average (1, 5, 15 min)")


def test_engine_bench_prints_its_rows() -> None:
    result = subprocess.run([sys.executable, "bench/engine.py", "-n", "1"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    figures = {line.split(":")[0].strip(): line.split(":", 1)[1] for line in result.stdout.splitlines() if ":" in line}
    for row in ROWS:
        assert row in figures, result.stdout
    for row in ROWS[:-1]:
        value = re.match(r"\s*([0-9.]+)", figures[row])
        assert value is not None and float(value.group(1)) > 0, f"{row}: {figures[row]}"
