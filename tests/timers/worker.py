"""A real scheduler process for the concurrency tests: waits for the start file, runs one job once, prints its result."""
from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from engine import scheduler
from engine.platform.db import Database


def main() -> None:
    url, job, start_file = sys.argv[1:4]
    db = Database(url)
    while not Path(start_file).exists():
        time.sleep(0.01)
    result = scheduler.run_job(db, job)
    print(json.dumps(dataclasses.asdict(result)), flush=True)


if __name__ == "__main__":
    main()
