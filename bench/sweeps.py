"""Every scheduler job at county scale: the first run (catching up on a fresh fill) and the next runs (steady state).

A job that costs O(changed) finishes its next run in about the time of its queries, whatever
the size of the tables; one that walks every project or task costs the same each run. Each job
runs on a copy of a kept county fill (`bench/pages.py --keep DIR`), so the fill stays as it was;
the outbox is left out (it sends mail). Prints each job's seconds and result per run, with the
load next to them. Target: each steady-state run ≤ 1 s.

Run: `python bench/sweeps.py DIR/full.db`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import scheduler, wiring  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.platform.models import utcnow  # noqa: E402


def main() -> None:
    """Copy the fill, then run every job but the outbox `--runs` times and print the seconds of each run."""
    wiring.install()
    parser = argparse.ArgumentParser()
    parser.add_argument("fill", type=Path, help="a SQLite file filled by bench/pages.py --keep")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "sweeps.db"
        shutil.copyfile(args.fill, copy)
        db = Database(f"sqlite:///{copy}")
        print(f"{'job':<14} " + " ".join(f"{'run ' + str(n + 1) + ' s':>10}" for n in range(args.runs)) + "  result of the last run")
        for name, (work, _interval) in scheduler.JOBS.items():
            if name == "outbox":
                continue
            seconds, result = [], None
            for _ in range(args.runs):
                started = time.perf_counter()
                result = work(db, utcnow())
                seconds.append(time.perf_counter() - started)
            print(f"{name:<14} " + " ".join(f"{s:>10.3f}" for s in seconds) + f"  {result!r:.60}")
        db.dispose()
    print(f"load average (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
