"""The completion benchmarks still run and print every row the target is read from (one lifecycle per path, SQLite), and the instruction count's children run."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from engine.platform.config import PROJECT_ROOT

ENGINE_ROWS = ("raw SpiffWorkflow in memory", "engine + SQLite persistence", "+ bare rows and state", "ratio engine/floor",
               "+ the checks' statements", "ratio engine/that", "sandbox cost checked/off")
FLOOR_ROWS = ("raw SpiffWorkflow in memory", "+ bare rows, commit per task", "+ bare rows and state", "+ the checks' statements")


@pytest.mark.parametrize(("script", "rows"), [("bench/engine.py", ENGINE_ROWS), ("bench/floor.py", FLOOR_ROWS)])
def test_bench_prints_its_rows(script: str, rows: tuple[str, ...]) -> None:
    result = subprocess.run([sys.executable, script, "-n", "1"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    figures = {line.split(":")[0].strip(): line.split(":", 1)[1] for line in result.stdout.splitlines() if ":" in line}
    assert "load average (1, 5, 15 min)" in figures, result.stdout
    for row in rows:
        value = re.match(r"\s*([0-9.]+)", figures.get(row, ""))
        assert value is not None and float(value.group(1)) > 0, f"{row}: {result.stdout}"


@pytest.mark.parametrize("path", ["engine", "checked"])
def test_the_instruction_count_child_runs_each_kind_of_path(path: str) -> None:
    """What `bench/instructions.py` runs under callgrind, run here without it (callgrind takes minutes): the engine, and a floor
    (the plain floor differs from the checked one only by BareStore's switch, which bench/floor.py's test runs)."""
    result = subprocess.run([sys.executable, "bench/instructions.py", "--child", path, "1"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
