"""Instructions a T3 lifecycle executes, the engine against the floor: a figure the machine's load does not move.

`bench/engine.py`'s wall-clock ratio moves with whatever else the two shared cores run, by
±0.2 from run to run. This bench counts instructions instead, with valgrind's callgrind: the
interpreter's running Python, SQLAlchemy and SpiffWorkflow, and the SQLite library's work (not
the kernel's file writes). Each path runs in a child under callgrind twice, with N and 2N
lifecycles after the same set-up and warm-up; the difference of the two totals, divided by N,
is one lifecycle's count. Paths: the engine, the floor with state ("+ bare rows and state")
and the floor with the checks' statements (`bench/floor.py`), on SQLite. Two children run at
a time; the whole bench takes several minutes. Run: `python bench/instructions.py [-n N]`.

`--child PATH N` is what each child runs: set-up, three warm-up lifecycles, N counted ones.
`--opcodes` counts instead, in this process and in seconds, the Python bytecode instructions each
path executes, by the package whose code executes them (SQLAlchemy, SpiffWorkflow, the engine…):
where the engine's Python goes that the floor's does not.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import wiring  # noqa: E402
from engine.platform import heap  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.platform.models import User  # noqa: E402
from floor import BareStore  # noqa: E402
from lifecycle import prepared, run_lifecycle, run_raw  # noqa: E402

PATHS = {
    "engine": "engine + SQLite persistence",
    "floor": "+ bare rows and state",
    "checked": "+ the checks' statements",
}
WARM_UP = 3
PACKAGES = (("SQLAlchemy", f"{os.sep}sqlalchemy{os.sep}"), ("SpiffWorkflow", f"{os.sep}SpiffWorkflow{os.sep}"),
            ("jsonschema", f"{os.sep}jsonschema{os.sep}"), ("the engine (engine/)", str(ROOT / "engine")),
            ("the benches (bench/)", str(ROOT / "bench")))
TOTAL = re.compile(r"Collected\s*:\s*([\d,]+)")


def lifecycle_of(path: str, db: Database, registration: dict[str, Any], actors: list[User], driver: Any) -> Callable[[], None]:
    """One lifecycle of a path on this prepared database, warmed up; the floors write through `driver`, a driver connection."""
    once: Callable[[], None] = partial(run_lifecycle, db, registration, actors)
    if path != "engine":
        store = BareStore(driver, db, registration, actors, checked=path == "checked")
        once = partial(run_raw, store.loaded, store)
    for _ in range(WARM_UP):
        once()
    return once


def child(path: str, lifecycles: int) -> None:
    """Set up a database, warm up and run `lifecycles` lifecycles of one path (the counted run)."""
    wiring.install()
    with tempfile.TemporaryDirectory() as tmp:
        db, registration, actors = prepared(tmp, "bench_instructions")
        raw = db.engine.raw_connection()
        once = lifecycle_of(path, db, registration, actors, raw.driver_connection)
        heap.settle()
        for _ in range(lifecycles):
            once()
        raw.close()
        db.dispose()


def package(filename: str) -> str:
    """Whose Python a code object is: one of PACKAGES, else Python's own library and the rest."""
    return next((name for name, marker in PACKAGES if marker in filename), "Python's library, the rest")


def opcodes(once: Callable[[], None], lifecycles: int) -> Counter[str]:
    """Python bytecode instructions executed over `lifecycles` lifecycles, by the package whose code executed them."""
    counts: Counter[str] = Counter()
    owners: dict[CodeType, str] = {}

    def on_opcode(frame: FrameType, event: str, _arg: Any) -> Any:
        if event == "opcode":
            code = frame.f_code
            owner = owners.get(code)
            if owner is None:
                owner = owners[code] = package(code.co_filename)
            counts[owner] += 1
        return on_opcode

    def on_call(frame: FrameType, _event: str, _arg: Any) -> Any:
        frame.f_trace_opcodes = True
        return on_opcode

    sys.settrace(on_call)
    try:
        for _ in range(lifecycles):
            once()
    finally:
        sys.settrace(None)
    return counts


def opcode_table(lifecycles: int) -> None:
    """Each path's Python opcodes per lifecycle by package, in this process (seconds, not minutes: no callgrind)."""
    wiring.install()
    with tempfile.TemporaryDirectory() as tmp:
        db, registration, actors = prepared(tmp, "bench_instructions")
        raw = db.engine.raw_connection()
        counts = {path: opcodes(lifecycle_of(path, db, registration, actors, raw.driver_connection), lifecycles) for path in PATHS}
        raw.close()
        db.dispose()
    names = sorted({name for found in counts.values() for name in found}, key=lambda name: -counts["engine"][name])
    print(f"T3 lifecycle, Python opcodes executed, by whose code, SQLite, n={lifecycles} (thousands per lifecycle)")
    print(f"{'':<29}  {'engine':>8}  {'floor':>8}  {'checks':>8}")
    for name in [*names, "all"]:
        row = [sum(found.values()) if name == "all" else found[name] for found in counts.values()]
        print(f"{name:<29}: " + "  ".join(f"{value / lifecycles / 1000:8.1f}" for value in row))


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
    parser.add_argument("--opcodes", action="store_true", help="count Python opcodes by package instead, in this process")
    parser.add_argument("--child", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    if args.opcodes:
        opcode_table(args.n)
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
