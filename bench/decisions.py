"""Cost of evaluating each shipped decision, against how SpiffWorkflow's DMN engine evaluated the tier table before.

The earlier path is rebuilt exactly: SpiffWorkflow's DMNEngine over the same cells translated
to sandboxed Python, each cell evaluated through the script engine with its input expression
evaluated again per cell. Prints the median microseconds per evaluation over the cases of each
decision and the ratio to that baseline (the target is at most 2×).
Run: `.venv/bin/python bench/decisions.py [-n 200]`.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.workflow import definitions  # noqa: E402
from engine.workflow.decide import spiff_table  # noqa: E402
from engine.workflow.decision_cases import DecisionRunner  # noqa: E402
from engine.workflow.sandbox import SCRIPT_ENGINE  # noqa: E402

BUNDLE = definitions.read_bundle(Path(__file__).resolve().parent.parent / "bpmn")
SCORING_INPUTS = [{"event": e, "project_class": c} for e in ("signed", "landed", "started", "late_update") for c in ("mfg_7yi", "major_3yi", "yi", "other")]


def timed(run: Callable[[], Any], rounds: int, per: int) -> float:
    """Median microseconds of one call of `run` (which evaluates `per` inputs)."""
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) / per * 1e6)
    return statistics.median(samples)


def main() -> None:
    """Print the cost per evaluation of each shipped decision and of the earlier tier table path."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=200, help="rounds over the inputs")
    args = parser.parse_args()
    runner = DecisionRunner({k: v for k, v in BUNDLE.items() if k.endswith(".dmn")})
    tier_inputs = [case["inputs"] for case in json.loads(BUNDLE["approval_tier.cases.json"])["cases"]]
    before = DMNEngine(spiff_table(runner.graph.decisions["approval_tier"]))
    tasks = [SimpleNamespace(data=dict(i), workflow=SimpleNamespace(script_engine=SCRIPT_ENGINE)) for i in tier_inputs]
    baseline = timed(lambda: [before.result(t) for t in tasks], args.n, len(tasks))
    print(f"{'决策':<28}{'每次求值 µs':>14}{'对比原引擎层级表':>18}")
    print(f"{'approval_tier（原 SpiffWorkflow 引擎）':<28}{baseline:>14.1f}{1.0:>17.2f}×")
    for decision, inputs in (("approval_tier", tier_inputs), ("assessment_scoring", SCORING_INPUTS)):
        cost = timed(lambda d=decision, i=inputs: [runner.run(d, x) for x in i], args.n, len(inputs))
        print(f"{decision:<28}{cost:>14.1f}{cost / baseline:>17.2f}×")


if __name__ == "__main__":
    main()
