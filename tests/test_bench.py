"""The completion benchmarks still run and print every row the target is read from (one lifecycle per path, SQLite); the instruction
bench's engine child and its opcode table run (its callgrind runs take minutes and are not run here)."""
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


def test_the_instruction_count_child_runs() -> None:
    """The engine's child, as `bench/instructions.py` runs it under callgrind, run here without it."""
    result = subprocess.run([sys.executable, "bench/instructions.py", "--child", "engine", "1"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_the_opcode_count_shows_each_path_by_package() -> None:
    """`bench/instructions.py --opcodes` runs every path (the children's lifecycles) and counts whose Python runs in each."""
    result = subprocess.run([sys.executable, "bench/instructions.py", "--opcodes", "-n", "1"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {line.split(":")[0].strip(): [float(x) for x in line.split(":", 1)[1].split()] for line in result.stdout.splitlines()[2:]}
    engine, floor, _checks = zip(*rows.values())
    assert rows["SQLAlchemy"][0] > 0 and rows["SQLAlchemy"][1:] == [0.0, 0.0], result.stdout  # the floors run no ORM
    assert rows["SpiffWorkflow"][1] > 0 and rows["all"][0] > rows["all"][1] > 0, result.stdout
    assert sum(engine[:-1]) == pytest.approx(engine[-1], abs=1) and sum(floor[:-1]) == pytest.approx(floor[-1], abs=1), result.stdout
