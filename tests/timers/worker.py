"""A real scheduler process for the concurrency tests: waits for the start file, runs one job once (or, given a stop file, until it appears), prints its result."""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

from engine import scheduler
from engine.platform.db import Database


def main() -> None:
    url, job, start_file, *stop_file = sys.argv[1:]
    db = Database(url)
    while not Path(start_file).exists():
        time.sleep(0.01)
    if not stop_file:
        print(json.dumps(dataclasses.asdict(scheduler.run_job(db, job))), flush=True)
        return
    total: dict[str, Any] = {}
    while not Path(stop_file[0]).exists():
        for name, value in dataclasses.asdict(scheduler.run_job(db, job)).items():
            total[name] = total.get(name, 0) + value
        time.sleep(0.1)
    print(json.dumps(total), flush=True)


if __name__ == "__main__":
    main()
