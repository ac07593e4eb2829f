"""The served app under many concurrent officials over real HTTP: gunicorn (`zhikong serve`, 2 workers) against Werkzeug (`--dev`) and against the floor, on one PostgreSQL database.

Seeds ready 确认投资意向 tasks for the ten landing-unit officials (registrations through the
lifecycle, as the web form makes them), then for each server and each client count starts the
server on a free loopback port (no scheduler), and runs that many client threads, each an
official's session of its own (tests/faults/official.py: sign-in through the login form with its
CSRF token, a keep-alive connection, cookies), each from an address of its own in X-Forwarded-For,
which the server trusts as behind nginx (ZHIKONG_PROXY_COUNT=1), so the sign-in throttle counts each
official apart as it would in a county. Each thread runs task cycles for `--seconds`: GET
the task's form, POST its completion, GET the inbox. Then it prints completions/s, inbox views/s,
p50/p95/p99 of every request, errors, lost completions (acknowledged by the 303 but not
completed in the database), the CPU seconds of the server's processes and of the client threads,
and the 1-minute load average. Targets on a 2-core machine: ≥ 150 completions/s, ≥ 500 inbox
views/s, p95 ≤ 100 ms, 0 errors. When a target is missed it prints by how much, and the top of a
cProfile of the same task cycle run in this process through the Flask test client, which shows
what a request spends its time on.

The floor (bench/load_floor.py) is a bare WSGI app under the same gunicorn that does only the
cycle's unavoidable work on the same database, measured at each client count just before the
product: the product's completions/s are printed as a share of it, and the floor's own figures
against the targets show what this machine allows at all.

Run: `python bench/load.py` (the database `bench_load` on 127.0.0.1:5432, emptied first);
`--pg URL` names another, `--clients 20 100`, `--seconds 20`.
"""
from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import os
import pstats
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select  # noqa: E402

from engine import demo, wiring  # noqa: E402
from engine.platform import schema  # noqa: E402
from engine.platform.config import PROJECT_ROOT  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.platform.models import Task, User  # noqa: E402
from engine.projects import lifecycle  # noqa: E402
from engine.workflow import definitions  # noqa: E402
from filler import pg_database, settle  # noqa: E402
from tests.faults.checks import lost_completions  # noqa: E402
from tests.faults.official import CSRF, INTENT, Tally, crowd  # noqa: E402
from tests.served import free_port  # noqa: E402
from webui import create_app  # noqa: E402

OFFICIALS = ("jinpan", "xincheng", "gyyq", "anwen", "xinwo", "jianshan", "yushan", "renchuan", "dapan", "fangqian")
TARGETS = {"completions/s": 150.0, "inbox views/s": 500.0}
P95_TARGET = 0.100
BATCH = 100
CEILING = {"floor": 500, "gunicorn": 250, "dev": 40}  # completions/s each server is given tasks for: a thread that runs out stops early, and says so


@dataclass
class Run:
    """One server under one client count: what the clients counted, in how long, and the CPU it took."""

    server: str
    clients: int
    seconds: float
    tallies: list[Tally]
    lost: int
    server_cpu: float
    client_cpu: float
    load: tuple[float, float]
    ran_out: int


def prepare(url: str) -> Database:
    """A fresh database: schema, the demo county's units and officials, the lifecycle."""
    db = pg_database(url)
    schema.upgrade(db)
    with db.session() as s:
        demo.load_org(s)
        definitions.deploy(s, definitions.read_bundle(PROJECT_ROOT / "bpmn"), lifecycle.LIFECYCLE)
    return db


def seed(db: Database, per_official: int) -> dict[str, list[int]]:
    """`per_official` registrations landing at each official's unit, a hundred per transaction; the ready task ids by official."""
    with db.session() as s:
        officials = {u.username: u for u in s.scalars(select(User).where(User.username.in_(OFFICIALS)))}
        deputy = s.scalars(select(User.id).where(User.username == "fx_gongye")).one()
    started = time.perf_counter()
    for username in OFFICIALS:
        for first in range(0, per_official, BATCH):
            with db.session() as s:
                actor = s.merge(officials[username])
                for i in range(first, min(first + BATCH, per_official)):
                    data = {"name": f"压测项目{username}{i}", "investor": "压测投资方", "category": "industrial", "total_investment": 50000,
                            "landing_unit_id": actor.unit_id, "deputy_id": deputy}
                    lifecycle.register(s, data, actor)
    tasks: dict[str, list[int]] = {name: [] for name in OFFICIALS}
    with db.session() as s:
        rows = s.execute(select(Task.id, Task.unit_id).where(Task.status == "ready", Task.bpmn_id == "confirm_intent").order_by(Task.id))
        by_unit = {official.unit_id: name for name, official in officials.items()}
        for task_id, unit_id in rows:
            tasks[by_unit[unit_id]].append(task_id)
    print(f"seeded {sum(map(len, tasks.values())):,} ready tasks for {len(OFFICIALS)} officials in {time.perf_counter() - started:.0f} s")
    settle(db, ())  # the statistics and visibility map autovacuum gives a served database after such a bulk of rows
    return tasks


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and its children, living or reaped (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15]) / ticks  # utime, stime, cutime, cstime
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            total += cpu_seconds(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def start_server(kind: str, url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`zhikong serve` with 2 gunicorn workers, `zhikong serve --dev`, or bench/load_floor.py under the same gunicorn; answering /healthz."""
    env = {**os.environ, "DATABASE_URL": url, "ZHIKONG_WORKERS": "2", "ZHIKONG_SECRET_KEY": "bench-load",
           "ZHIKONG_PROXY_COUNT": "1"}  # as behind nginx: each client's own address, so the sign-in throttle counts each official apart
    if kind == "floor":
        env["PYTHONPATH"] = str(PROJECT_ROOT)
        args = [sys.executable, "-m", "gunicorn", "--chdir", str(PROJECT_ROOT), "--workers", "2", "--threads", "4",
                "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}", "bench.load_floor:application"]
    else:
        args = [sys.executable, "-m", "zhikong.cli", "serve", "--no-scheduler", "--port", str(port)] + (["--dev"] if kind == "dev" else [])
    with log.open("wb") as sink:
        process = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                time.sleep(1)  # every gunicorn worker has booted
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{kind} server did not answer:\n{log.read_text()}")


def measure(kind: str, db: Database, tasks: dict[str, list[int]], clients: int, seconds: float, log: Path) -> Run:
    """Start the server, run `clients` officials' task cycles for `seconds`, stop it, count what was lost."""
    port = free_port()
    process = start_server(kind, db.url, port, log)
    try:
        work = []
        for n in range(clients):
            name = OFFICIALS[n % len(OFFICIALS)]
            share = [tasks[name].pop() for _ in range(min(len(tasks[name]), int(seconds * CEILING[kind] / clients) + 5))]
            work.append((name, share))
        stop = threading.Event()
        timer = threading.Timer(seconds, stop.set)
        cpu_before, client_before, load_before = cpu_seconds(process.pid), resource.getrusage(resource.RUSAGE_SELF), os.getloadavg()[0]
        started = time.perf_counter()
        timer.start()
        tallies = crowd(port, work, attempts=1, stop=stop)
        elapsed = time.perf_counter() - started
        timer.cancel()
        load = (load_before, os.getloadavg()[0])
        client_after = resource.getrusage(resource.RUSAGE_SELF)
        server_cpu = cpu_seconds(process.pid) - cpu_before
    finally:
        process.terminate()
        process.wait(60)
    acknowledged = [task_id for tally in tallies for task_id in tally.acknowledged]
    client_cpu = (client_after.ru_utime + client_after.ru_stime) - (client_before.ru_utime + client_before.ru_stime)
    ran_out = sum(1 for (_name, share), tally in zip(work, tallies) if len(tally.acknowledged) + len(tally.errors) >= len(share))
    return Run(kind, clients, elapsed, tallies, len(lost_completions(db, acknowledged)), server_cpu, client_cpu, load, ran_out)


def quantile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else (values[0] if values else 0.0)


def report(run: Run) -> dict[str, float]:
    """Print one run's line; return its figures."""
    latencies = [x for tally in run.tallies for x in tally.latencies]
    errors = [e for tally in run.tallies for e in tally.errors]
    figures = {
        "completions/s": sum(len(t.acknowledged) for t in run.tallies) / run.seconds,
        "inbox views/s": sum(t.inbox_views for t in run.tallies) / run.seconds,
        "p95": quantile(latencies, 95),
        "errors": float(len(errors)),
    }
    print(f"{run.server:<8} {run.clients:>7} {figures['completions/s']:>13.1f} {figures['inbox views/s']:>13.1f} "
          f"{quantile(latencies, 50) * 1000:>7.0f} {figures['p95'] * 1000:>7.0f} {quantile(latencies, 99) * 1000:>7.0f} "
          f"{len(errors):>6} {run.lost:>5} {run.server_cpu:>10.1f} {run.client_cpu:>10.1f} {run.load[0]:>5.2f}→{run.load[1]:.2f}")
    if run.ran_out:
        print(f"         {run.ran_out} clients ran out of tasks before the {run.seconds:.0f} s were up")
    if errors:
        print(f"         first errors: {sorted(set(errors))[:3]}")
    return figures


def shortfalls(figures: dict[str, float]) -> list[str]:
    """The targets one run missed, with by how much."""
    missed = [f"{name} {figures[name]:.1f} of {target:.0f} ({figures[name] / target:.0%})" for name, target in TARGETS.items()
              if figures[name] < target]
    if figures["p95"] > P95_TARGET:
        missed.append(f"p95 {figures['p95'] * 1000:.0f} ms of ≤ {P95_TARGET * 1000:.0f} ms ({figures['p95'] / P95_TARGET:.1f} ×)")
    if figures["errors"]:
        missed.append(f"{figures['errors']:.0f} errors")
    return missed


def profile(db: Database, task_ids: list[int], cycles: int = 60) -> None:
    """The task cycle in this process through the Flask test client under cProfile: per request kind its time and
    statements, the share spent waiting on PostgreSQL, and the application's functions that take the time."""
    os.environ["DATABASE_URL"] = db.url
    app = create_app({"SECRET_KEY": "bench-load"})
    statements = [0]
    event.listen(app.extensions["zhikong_db"].engine, "before_cursor_execute", lambda *_args: statements.__setitem__(0, statements[0] + 1))
    client = app.test_client()
    token = CSRF.search(client.get("/login").get_data(as_text=True))
    assert token
    client.post("/login", data={"username": OFFICIALS[0], "password": demo.DEMO_PASSWORD, "csrf_token": token.group(1)})
    kinds: dict[str, list[tuple[float, int]]] = {"GET form": [], "POST completion": [], "GET inbox": []}

    def timed(kind: str, path: str, form: dict[str, str] | None = None) -> Any:
        before, started = statements[0], time.perf_counter()
        response = client.post(path, data=form) if form is not None else client.get(path)
        kinds[kind].append((time.perf_counter() - started, statements[0] - before))
        return response

    profiler = cProfile.Profile()
    profiler.enable()
    for task_id in task_ids[:cycles]:
        page = timed("GET form", f"/tasks/{task_id}").get_data(as_text=True)
        form = CSRF.search(page)
        assert form, page[:300]
        timed("POST completion", f"/tasks/{task_id}", {**INTENT, "csrf_token": form.group(1)})
        timed("GET inbox", "/")
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = sum(t for samples in kinds.values() for t, _n in samples)
    waiting = sum(cumulative for (path, _line, name), (_cc, _nc, _tt, cumulative, _callers) in stats.stats.items()
                  if path.endswith("psycopg/connection.py") and name == "wait")
    print(f"\nprofile of {cycles} task cycles in one process (Flask test client, same database; no HTTP, no concurrency):")
    for kind, samples in kinds.items():
        print(f"  {kind:<16} {statistics.mean(t for t, _n in samples) * 1000:6.1f} ms, {statistics.mean(n for _t, n in samples):5.1f} SQL statements")
    print(f"  waiting on PostgreSQL (psycopg's wait): {waiting / total:.0%} of the time; the rest is Python in the process")
    out = io.StringIO()
    stats.stream = out
    root = f"{PROJECT_ROOT}/"
    stats.sort_stats("cumulative").print_stats(re.escape(root), 15)
    print("  the application's functions by cumulative time (seconds over all the cycles):")
    print("\n".join(line.replace(root, "") for line in out.getvalue().splitlines() if root in line or "ncalls" in line))


def against_floor(figures: dict[tuple[str, int], dict[str, float]]) -> None:
    """Each server's throughput as a share of the floor's at the same client count, and the floor against the targets."""
    floors = {clients: f for (kind, clients), f in figures.items() if kind == "floor"}
    if not floors:
        return
    print("\nagainst the floor (bench/load_floor.py: the cycle's unavoidable work on the same gunicorn, measured just before):")
    for (kind, clients), f in figures.items():
        floor = floors.get(clients)
        if kind != "floor" and floor and floor["completions/s"]:
            print(f"  {kind:<8} {clients:>4} clients: {f['completions/s'] / floor['completions/s']:.0%} of the floor's completions/s, "
                  f"p95 {f['p95'] / floor['p95']:.1f} × the floor's")
    for clients, floor in floors.items():
        print(f"  the floor itself, {clients} clients: " + ("; ".join(shortfalls(floor)) or "every target met"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/bench_load")
    parser.add_argument("--clients", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--servers", nargs="+", default=["floor", "gunicorn", "dev"], choices=["floor", "gunicorn", "dev"])
    args = parser.parse_args()
    wiring.install()
    db = prepare(args.pg)
    needed = sum(CEILING[kind] * args.seconds + 5 * clients for kind in args.servers for clients in args.clients)
    tasks = seed(db, int(needed / len(OFFICIALS)) + len(args.clients) * len(args.servers) + 60)
    log = Path(f"/tmp/bench-load-{os.getpid()}.log")
    print(f"\n{os.cpu_count()} cores; {args.seconds:.0f} s per run; latencies of every request (sign-in, form, completion, inbox) in ms; "
          f"CPU in seconds; load = 1-minute load average at the start and the end of the run")
    print(f"{'server':<8} {'clients':>7} {'completions/s':>13} {'inbox views/s':>13} {'p50':>7} {'p95':>7} {'p99':>7} "
          f"{'errors':>6} {'lost':>5} {'server CPU':>10} {'client CPU':>10} {'load':>10}")
    missed: list[str] = []
    figures: dict[tuple[str, int], dict[str, float]] = {}
    for clients in args.clients:
        for kind in args.servers:
            figures[kind, clients] = report(measure(kind, db, tasks, clients, args.seconds, log))
            if kind == "gunicorn":
                missed += [f"gunicorn, {clients} clients: {m}" for m in shortfalls(figures[kind, clients])]
    against_floor(figures)
    if missed:
        print("\ntargets missed:\n  " + "\n  ".join(missed))
        profile(db, tasks[OFFICIALS[0]])
    else:
        print("\nevery target met by gunicorn")
    db.dispose()


if __name__ == "__main__":
    main()
