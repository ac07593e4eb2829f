"""Instructions a T3 lifecycle executes, the engine against the floor: a figure the machine's load does not move.

`bench/engine.py`'s wall-clock ratio moves with whatever else the two shared cores run, by
±0.2 from run to run. This bench counts instructions instead, with valgrind's callgrind, in
this process's own code (Python, SQLAlchemy, SpiffWorkflow, the SQLite library; not the
kernel's file writes). Each path runs in a child under callgrind twice, with N and 2N
lifecycles after the same set-up and warm-up; the difference of the two totals, divided by N,
is one lifecycle's count. Paths: the engine, the floor with state ("+ bare rows and state")
and the floor with the checks' statements (`bench/floor.py`), on SQLite. Two children run at
a time; the whole bench takes several minutes. Run: `python bench/instructions.py [-n N]`.

`--child PATH N` is what each child runs: set-up, three warm-up lifecycles, N timed ones.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import wiring  # noqa: E402
from engine.platform import heap  # noqa: E402
from floor import BareStore  # noqa: E402
from lifecycle import deployed, prepared, run_lifecycle, run_raw  # noqa: E402

PATHS = {
    "engine": "engine + SQLite persistence",
    "floor": "+ bare rows and state",
    "checked": "+ the checks' statements",
}
WARM_UP = 3
TOTAL = re.compile(r"Collected\s*:\s*([\d,]+)")


def child(path: str, lifecycles: int) -> None:
    """Set up a database, warm up and run `lifecycles` lifecycles of one path (the counted run)."""
    wiring.install()
    with tempfile.TemporaryDirectory() as tmp:
        db, registration, actors = prepared(tmp, "bench_instructions")
        once: Callable[[], None] = partial(run_lifecycle, db, registration, actors)
        if path != "engine":
            definition_id, loaded = deployed(db)
            raw = db.engine.raw_connection()
            once = partial(run_raw, loaded, BareStore(raw.driver_connection, loaded, registration, actors[0].id, definition_id,
                                                      with_state=True, sqlite=True, checked=path == "checked"))
        for _ in range(WARM_UP):
            once()
        heap.settle()
        for _ in range(lifecycles):
            once()
        db.dispose()


def counted(path: str, lifecycles: int) -> int:
    """The instructions callgrind counted over one child's whole run."""
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable, __file__, "--child", path, str(lifecycles)],
            capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"}, check=False,
        )
    found = TOTAL.search(result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"callgrind run of {path} failed:\n{result.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    """Count each path at N and 2N lifecycles, two children at a time, and print the counts per lifecycle and their ratios."""
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=4, help="lifecycles in the shorter run of each path")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    runs = [(path, count) for path in PATHS for count in (args.n, 2 * args.n)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = dict(zip(runs, pool.map(lambda run: counted(*run), runs)))
    per = {path: (totals[(path, 2 * args.n)] - totals[(path, args.n)]) / args.n for path in PATHS}
    print(f"T3 lifecycle, instructions counted by callgrind, SQLite, n={args.n} and {2 * args.n}")
    for path, label in PATHS.items():
        print(f"{label:<29}: {per[path] / 1e6:8.1f} M instructions")
    print(f"{'ratio engine/floor':<29}: {per['engine'] / per['floor']:8.2f}  (the wall-clock target: <= 2.5)")
    print(f"{'ratio engine/that':<29}: {per['engine'] / per['checked']:8.2f}  (against the floor with the checks' statements)")
    print(f"load average (1, 5, 15 min)  : {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores (does not move the counts)")


if __name__ == "__main__":
    main()
