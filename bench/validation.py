"""Cost of validating the shipped bundle before deploy, against parsing it (what loading a version does).

Prints the median time of each step over n runs and its ratio to the plain parse, all measured
in this process. Run: `.venv/bin/python bench/validation.py [-n 20]`.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import wiring  # noqa: E402
from engine.projects import lifecycle  # noqa: E402
from engine.workflow import definitions  # noqa: E402
from engine.platform.config import PROJECT_ROOT  # noqa: E402
from engine.workflow.decision_cases import DecisionRunner  # noqa: E402
from engine.workflow.validation import check_bundle, check_cases, require_valid  # noqa: E402


def median_ms(step: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def full(files: dict[str, str]) -> None:
    """What a deploy of a bundle not yet seen in this process runs (deploy remembers bundles that passed)."""
    require_valid(files, lifecycle.LIFECYCLE, definitions.SCOPES)
    definitions.build(files, lifecycle.LIFECYCLE)


def main() -> None:
    """Parse the options, register the hooks, run and print."""
    wiring.install()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20, help="runs per step")
    runs = parser.parse_args().n
    files = definitions.read_bundle(PROJECT_ROOT / "bpmn")
    dmn = {name: text for name, text in files.items() if name.endswith(".dmn")}
    checked = check_bundle(files, lifecycle.LIFECYCLE, definitions.SCOPES)
    steps = {
        "parse only (loading a deployed version)": lambda: definitions.build(files, lifecycle.LIFECYCLE),
        "static checks (XML, lanes, forms, expressions, DMN types and overlaps)": lambda: check_bundle(files, lifecycle.LIFECYCLE, definitions.SCOPES),
        "decision engine harness for the DMN files": lambda: DecisionRunner(dmn),
        "13 approval_tier cases through the DMN engine": lambda: check_cases(files, checked),
        "full pre-deploy validation (all checks, cases, parse)": lambda: full(files),
    }
    results = {label: median_ms(step, runs) for label, step in steps.items()}
    baseline = results["parse only (loading a deployed version)"]
    print(f"bundle: {len(files)} files, {sum(len(t) for t in files.values()) // 1024} KB; median of {runs} runs")
    for label, ms in results.items():
        print(f"{ms:8.1f} ms  ×{ms / baseline:4.2f}  {label}")


if __name__ == "__main__":
    main()
