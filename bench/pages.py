"""Every GET route of the web app at county scale and at demo size, on SQLite and PostgreSQL: p50, p95, status and size.

Fills each database twice in this one process. Demo size: the demo county driven through the
engine (`engine.demo`), with a few 交办单, fund and land rows, notes and notifications, three
years of meetings, rankings and notices (bench/county.py). Full size: the same, plus
bench/filler.py's 100,000 projects and 1,000,000 task rows, and county.py's 交办单 (2 % of the
projects), 50,000 enterprises, fund disbursements and land records, progress notes, late
updates, notifications, attachments (one per five projects) and 会商意见 (one per two), more
than a page lists of each on the project the project pages show, and event rows: 10 per lifecycle instance on SQLite, 100 (10 million)
on PostgreSQL. `--scale` shrinks everything but the years; the sizes filled are printed. When
the database's disk cannot hold the requested scale, the largest scale that fits is filled.

Every rule of `app.url_map` that answers GET (static files aside) is requested with real ids
read from the filled database — a real project with its workflow state (one of the demo
projects, so the instance, move and diagram pages restore a real workflow), a ready task and a
user who may act on it, both kinds of definition (a process and the decision-only scoring
table), an enterprise entry, a 交办单 and its issue task, the last notice, a finalised period,
a meeting; the lists again at page 2, the ledger also filtered by light as the cockpit links it —
signed in as the user of USERS (the office by default, the admin for /admin,
`anwen` for the inbox, the county head for the cockpit). If that user is refused at demo size,
the first of CANDIDATES who is not is used instead, and the row says so. A rule whose
arguments cannot be filled is listed as skipped with the reason.

Per route it prints p50 and p95 of whole requests through the Flask test client (wall time;
fewer samples than --runs when a route would exceed --budget seconds), the status, the size,
the demo-size p50 and the ratio, and the 1-minute load average when it was measured. Flags:
5xx; an HTML page whose p95 exceeds 100 ms or whose p50 exceeds 5 × its demo-size p50; a
response over 500 KB; /metrics over 20 ms. The .xlsx exports are timed apart, a few runs each
in a fresh process (`--export`, signed in and warmed by one page), with the growth of that
process's resident memory (sampled from /proc every 5 ms) and their row count: targets ≤ 15 s
and ≤ 100 MB.

The bulk event rows have no hash-chain columns (see bench/county.py): `zhikong audit verify`
names the first of them as written outside the system.

`--keep DIR` keeps the fills (the SQLite files in DIR; on PostgreSQL the databases --pg names
with `_demo` and `_full` appended, marked complete in DIR) and reuses them on the next run; `--only TEXT`
measures only the routes whose label contains TEXT (a fix checked at volume in seconds).

Run: `python bench/pages.py --scale 0.01` (SQLite only, a minute), and at full size
`python bench/pages.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/bench_pages`.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask, got_request_exception  # noqa: E402
from openpyxl import load_workbook  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine import demo, scheduler, wiring  # noqa: E402
from engine.enterprises.models import EnterpriseEntry  # noqa: E402
from engine.platform import heap, schema  # noqa: E402
from engine.platform.attachments import Attachment, FileStore  # noqa: E402
from engine.platform.db import Database  # noqa: E402
from engine.platform.models import Definition, Instance, Project, Task, User  # noqa: E402
from engine.platform.org import can_act  # noqa: E402
from engine.projects import lifecycle, meetings  # noqa: E402
from engine.supervision import assessment  # noqa: E402
from engine.supervision.models import CoordinationCase, MonthlyNotice, PublishedRanking  # noqa: E402
from engine.workflow import definitions, health, state  # noqa: E402
import county  # noqa: E402
from filler import OFFICIAL, fill, pg_database, prepare, signed_in  # noqa: E402

PAGE_TARGET_MS = 100
METRICS_TARGET_MS = 20
RATIO_TARGET = 5
SIZE_TARGET_KB = 500
EXPORT_TARGET_S = 15
EXPORT_RSS_TARGET_MB = 100
# bytes a database holds per filled project at full size (tasks, events and the rest), measured at scale 0.01
BYTES_PER_PROJECT = {"sqlite": 12_000, "postgresql": 60_000}
ANONYMOUS = ""
USERS = {
    "tasks.inbox": OFFICIAL, "tasks.done": OFFICIAL, "projects.register": OFFICIAL, "supervision.new_case": OFFICIAL,
    "dashboard.cockpit": "xianzhang", "health.healthz": ANONYMOUS, "health.readyz": ANONYMOUS, "health.metrics": ANONYMOUS, "auth.login": ANONYMOUS,
}
PAGINATED = ("tasks.inbox", "tasks.done", "enterprises.listing", "notifications.index", "admin.console")
CANDIDATES = ("bangongshi", "admin", "xianzhang", "dukao", OFFICIAL, "fx_gongye", "ziranziyuan", "jingshang", "yanpan")


@dataclass(frozen=True)
class Ids:
    """Real ids of one filled database for the routes' arguments."""

    project: int
    instance: int
    move_target: str
    task: int
    task_user: str
    lifecycle_definition: int
    decision_definition: int
    versions: tuple[int, int]
    entry: int
    case: int
    issue_task: int
    issue_user: str
    notice: tuple[int, int]
    period: tuple[int, int]
    unit: int
    meeting: int
    dashboard_ids: str
    attachment: int

    @classmethod
    def read(cls, db: Database) -> Ids:
        """Pick each id as described in the module docstring."""
        with db.session() as s:
            users = list(s.scalars(select(User).order_by(User.id)))
            me = next(u for u in users if u.username == OFFICIAL)
            real = select(Instance.id).where(Instance.process_id == lifecycle.LIFECYCLE, Instance.state != "{}", Instance.status == "running")
            instance = s.scalars(select(Instance).where(Instance.id == s.scalars(real.order_by(Instance.id.desc()).limit(1)).one())).one()
            done = s.scalars(select(Task.bpmn_id).where(Task.instance_id == instance.id, Task.status == "completed").order_by(Task.id)).first()
            task, task_user = cls._ready_task(s, users, me)
            issue = s.scalars(select(Task).where(Task.bpmn_id == "issue_list").order_by(Task.status.desc(), Task.id.desc()).limit(1)).one()
            issue_user = next((u.username for u in users if issue.status == "ready" and can_act(u, issue)), "bangongshi")
            versions = list(s.scalars(select(Definition.version).where(Definition.process_id == lifecycle.LIFECYCLE).order_by(Definition.version)))
            notice = s.execute(select(MonthlyNotice.year, MonthlyNotice.month).order_by(MonthlyNotice.year.desc(), MonthlyNotice.month.desc()).limit(1)).one()
            period = s.execute(select(PublishedRanking.year, PublishedRanking.quarter).order_by(PublishedRanking.id.desc()).limit(1)).one()
            visible = s.scalars(select(Project.id).where(Project.status == "started").order_by(Project.id.desc()).limit(500))
            return cls(
                project=instance.project_id, instance=instance.id, move_target=done or "confirm_intent", task=task.id, task_user=task_user,
                lifecycle_definition=definitions.latest(s, lifecycle.LIFECYCLE).id,
                decision_definition=definitions.latest(s, assessment.SCORING).id, versions=(versions[0], versions[-1]),
                entry=s.scalars(select(EnterpriseEntry.id).where(EnterpriseEntry.status == "pending").order_by(EnterpriseEntry.id.desc()).limit(1)).one(),
                case=s.scalars(select(CoordinationCase.id).where(CoordinationCase.status == "in_progress").order_by(CoordinationCase.id.desc()).limit(1)).one(),
                issue_task=issue.id, issue_user=issue_user, notice=(notice.year, notice.month), period=(period.year, period.quarter),
                unit=me.unit_id, meeting=s.scalar(select(func.max(meetings.Meeting.id))) or 0,
                dashboard_ids=",".join(map(str, visible)),
                attachment=s.scalar(select(func.min(Attachment.id)).where(Attachment.project_id == instance.project_id)) or 0,
            )

    @staticmethod
    def _ready_task(s: Any, users: list[User], me: User) -> tuple[Task, str]:
        """A ready lifecycle task of `anwen`'s unit, else any ready lifecycle task, with a user who may act on it."""
        mine = select(Task).where(Task.status == "ready", Task.unit_id == me.unit_id, Task.role == "landing_unit")
        task = s.scalars(mine.order_by(Task.id.desc()).limit(1)).first()
        if task is not None:
            return task, me.username
        for task in s.scalars(select(Task).where(Task.status == "ready").order_by(Task.id.desc()).limit(50)):
            holder = next((u for u in users if can_act(u, task)), None)
            if holder is not None:
                return task, holder.username
        raise LookupError("no ready task anybody may act on")


@dataclass(frozen=True)
class Request:
    """One timed request: the label shown, the path, who asks, and whether that user came with the ids (a task's holder)."""

    label: str
    endpoint: str
    path: str
    user: str
    fixed: bool = False
    fallback: bool = False


def variants(endpoint: str, ids: Ids) -> list[tuple[str, dict[str, Any], str]]:
    """(label suffix, url_for arguments, user) for every request of a route; user "" means the route's own."""
    year, quarter = ids.period
    process, decision = lifecycle.LIFECYCLE, assessment.SCORING
    special: dict[str, list[tuple[str, dict[str, Any], str]]] = {
        "admin.heat": [("", {"definition_id": ids.lifecycle_definition}, ""),
                       (" (decision table)", {"definition_id": ids.decision_definition}, "")],
        "admin.move": [("", {"instance_id": ids.instance, "target": ids.move_target}, "")],
        "definitions.diff": [("", {"process_id": process, "from": ids.versions[0], "to": ids.versions[1]}, "")],
        "meetings.open_meeting": [("", {"kind": "assessment"}, "")],
        "dashboard.projects": [("", {"ids": ids.dashboard_ids}, "")],
        "assessment.ranking": [("", {}, ""), (" (finalised)", {"year": year, "quarter": quarter}, "")],
        "assessment.unit_score": [("", {"unit_id": ids.unit}, ""), (" (finalised)", {"unit_id": ids.unit, "year": year, "quarter": quarter}, "")],
        "tasks.task_page": [("", {"task_id": ids.task}, ids.task_user)],
        "supervision.issue": [("", {"task_id": ids.issue_task}, ids.issue_user)],
    }
    if endpoint in special:
        return special[endpoint]
    if endpoint in PAGINATED:
        return [("", {}, ""), (" (page 2)", {"page": 2}, "")]
    if endpoint == "projects.ledger":
        return [("", {}, ""), (" (page 2)", {"page": 2}, ""), (" (red)", {"light": "red"}, ""), (" (green)", {"light": "green"}, "")]
    if endpoint.startswith("definitions.") and endpoint != "definitions.index":
        return [("", {"process_id": process}, ""), (" (decision table)", {"process_id": decision}, "")]
    return [("", {}, "")]


ARGUMENTS: dict[str, Callable[[Ids], Any]] = {
    "project_id": lambda ids: ids.project, "instance_id": lambda ids: ids.instance, "task_id": lambda ids: ids.task,
    "definition_id": lambda ids: ids.lifecycle_definition, "process_id": lambda ids: lifecycle.LIFECYCLE,
    "entry_id": lambda ids: ids.entry, "case_id": lambda ids: ids.case, "unit_id": lambda ids: ids.unit,
    "meeting_id": lambda ids: ids.meeting, "year": lambda ids: ids.notice[0], "month": lambda ids: ids.notice[1],
    "attachment_id": lambda ids: ids.attachment,
}


def route_requests(app: Flask, ids: Ids) -> tuple[list[Request], list[tuple[str, str]]]:
    """Every GET rule as requests with filled arguments, and the rules skipped with the reason."""
    found, skipped = [], []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
                continue
            for suffix, given, user in variants(rule.endpoint, ids):
                missing = [a for a in rule.arguments if a not in given and a not in ARGUMENTS]
                if missing:
                    skipped.append((rule.rule, f"no value for {', '.join(sorted(missing))}"))
                    continue
                values = {**{a: ARGUMENTS[a](ids) for a in rule.arguments if a not in given}, **given}
                path = url_for(rule.endpoint, **values)
                usual = USERS.get(rule.endpoint, "admin" if rule.endpoint.startswith("admin.") else "bangongshi")
                found.append(Request(rule.rule + suffix, rule.endpoint, path, user or usual, bool(user)))
    return found, skipped


@dataclass
class Figure:
    """What one route measured."""

    p50: float
    p95: float
    status: int
    size: int
    html: bool
    runs: int
    load: float
    error: str = ""


@dataclass
class Clients:
    """Signed-in test clients per user, and the last exception the app raised."""

    app: Flask
    by_user: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    def of(self, username: str) -> Any:
        """The client of `username` ("" for nobody signed in)."""
        if username not in self.by_user:
            self.by_user[username] = signed_in(self.app, username) if username else self.app.test_client()
        return self.by_user[username]


def app_for(db: Database) -> tuple[Flask, Clients]:
    """The web app on `db` (CSRF off for the bench), with its exceptions recorded for the report."""
    from webui import create_app

    folder = Path(tempfile.mkdtemp(prefix="zhikong-bench-attachments-"))
    FileStore(folder).put(county.BENCH_FILE)  # the file every bench attachment row names
    app = create_app({"SECRET_KEY": "bench", "ZHIKONG_DB": db, "DATABASE_URL": db.url, "WTF_CSRF_ENABLED": False,
                      "ATTACHMENTS_DIR": str(folder)})
    clients = Clients(app)

    def record(_sender: Any, exception: BaseException, **_extra: Any) -> None:
        clients.error = f"{type(exception).__name__}: {exception}"[:200]

    got_request_exception.connect(record, app, weak=False)
    return app, clients


def heartbeat(db: Database) -> None:
    """A scheduler heartbeat now, as the scheduler running beside the app would leave it (/readyz reads its age)."""
    with db.session() as s:
        health.beat(s, "scheduler.bench")


def timed(db: Database, clients: Clients, request: Request, runs: int, budget: float, warmup: int = 2) -> Figure:
    """Time whole requests of one route: `warmup` untimed, then up to `runs` or until `budget` seconds are spent."""
    heartbeat(db)
    client = clients.of(request.user)
    clients.error = ""
    samples: list[float] = []
    status, size, html = 0, 0, False
    started = time.perf_counter()
    for i in range(warmup + runs):
        begun = time.perf_counter()
        response = client.get(request.path)
        elapsed = (time.perf_counter() - begun) * 1000
        status, size = max(status, response.status_code), len(response.get_data())
        html = response.mimetype == "text/html"
        if i >= warmup:
            samples.append(elapsed)
        elif elapsed > budget / 4:  # a slow route: one warm-up is enough
            warmup = i + 1
        if time.perf_counter() - started > budget and len(samples) >= 3:
            break
    samples.sort()
    p95 = samples[max(int(round(len(samples) * 0.95)) - 1, 0)]
    return Figure(statistics.median(samples), p95, status, size, html, len(samples), os.getloadavg()[0], clients.error)


def choose_users(db: Database, clients: Clients, found: list[Request]) -> list[Request]:
    """Keep each route's user unless refused (403) at demo size; then the first candidate who is not refused."""
    chosen = []
    for request in found:
        if request.user and not request.fixed and clients.of(request.user).get(request.path).status_code == 403:
            other = next((u for u in CANDIDATES if clients.of(u).get(request.path).status_code != 403), request.user)
            request = Request(request.label, request.endpoint, request.path, other, fallback=True)
        chosen.append(request)
    return chosen


class RssWatch:
    """The highest resident set size of this process while a block runs, sampled from /proc every 5 ms."""

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = self.baseline = self.rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def rss(self) -> int:
        """Resident bytes now (the peak ever reported by getrusage where /proc is missing)."""
        try:
            with open("/proc/self/statm") as statm:
                return int(statm.read().split()[1]) * self.page
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> RssWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def growth_mb(self) -> float:
        """Peak minus the size when the block began, in MB."""
        return (self.peak - self.baseline) / 2**20


@dataclass
class ExportFigure:
    """What one export measured."""

    seconds: float
    rss_mb: float
    size: int
    rows: int
    status: int
    error: str = ""


def rows_in(content: bytes) -> int:
    """Rows of every sheet of an .xlsx (0 when it is not one)."""
    try:
        book = load_workbook(io.BytesIO(content), read_only=True)
    except Exception:  # an error page instead of a workbook: reported by its status
        return 0
    return sum(sum(1 for _ in sheet.iter_rows(values_only=True)) for sheet in book.worksheets)


def timed_export(db: Database, request: Request, runs: int) -> ExportFigure:
    """Seconds (median) and the largest resident-memory growth of `runs` downloads of one export, in a fresh process.

    A fresh process, because this one's heap has already grown on the pages before: an export
    could reuse that memory and show no growth at all.
    """
    heartbeat(db)
    command = [sys.executable, str(Path(__file__).resolve()), "--export", db.url, request.path, request.user, "--export-runs", str(runs)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return ExportFigure(0.0, 0.0, 0, 0, 0, (done.stderr.strip().splitlines() or ["no output"])[-1][:200])
    return ExportFigure(**json.loads(done.stdout.strip().splitlines()[-1]))


def export_child(url: str, path: str, username: str, runs: int) -> None:
    """The --export mode: sign in, open one page, then download `path` `runs` times and print the figures as JSON."""
    db = Database(url)
    app, clients = app_for(db)
    client = clients.of(username)
    client.get("/")
    seconds, growth, content, status = [], 0.0, b"", 0
    for _ in range(runs):
        with RssWatch() as watch:
            begun = time.perf_counter()
            response = client.get(path)
            content = response.get_data()
            seconds.append(time.perf_counter() - begun)
        growth, status = max(growth, watch.growth_mb), max(status, response.status_code)
        del response
    figure = ExportFigure(statistics.median(seconds), growth, len(content), rows_in(content), status, clients.error)
    print(json.dumps(vars(figure)))


def is_export(request: Request) -> bool:
    """Downloads are timed apart."""
    return request.path.split("?")[0].endswith((".xlsx", ".csv"))


@dataclass
class Measured:
    """One backend at one size: the figures per request label."""

    pages: dict[str, Figure]
    exports: dict[str, ExportFigure]
    requests: list[Request]
    skipped: list[tuple[str, str]]


def measure(db: Database, runs: int, budget: float, export_runs: int, users: Optional[dict[str, Request]] = None,
            only: Optional[str] = None) -> Measured:
    """Every route on a filled database (or those whose label contains `only`); `users` fixes each label's user (from the demo-size run), else they are chosen."""
    app, clients = app_for(db)
    found, skipped = route_requests(app, Ids.read(db))
    if only:
        found = [r for r in found if only in r.label]
    if users is None:
        found = choose_users(db, clients, found)
    else:
        found = [r if r.fixed or r.label not in users else Request(r.label, r.endpoint, r.path, users[r.label].user, fallback=users[r.label].fallback)
                 for r in found]
    heap.settle()  # as a served worker does once its app is built (zhikong/server.py): start-up objects leave the collector's walks
    pages, exports = {}, {}
    for number, request in enumerate(found, start=1):
        print(f"  {number}/{len(found)} {request.label}" + " " * 30, end="\r", flush=True)
        if is_export(request):
            exports[request.label] = timed_export(db, request, export_runs)
        else:
            pages[request.label] = timed(db, clients, request, runs, budget)
    print(" " * 80, end="\r")
    return Measured(pages, exports, found, skipped)


def flags(request: Request, figure: Figure, base: Optional[Figure]) -> list[str]:
    """The targets this route misses (a demo-size 5xx too)."""
    missed = []
    demo_p50 = base.p50 if base else None
    if base and base.status >= 500:
        missed.append(f"demo {base.status}")
    if figure.status >= 500:
        missed.append(f"{figure.status}")
    if figure.html and figure.p95 > PAGE_TARGET_MS:
        missed.append(f"p95>{PAGE_TARGET_MS}")
    if figure.html and demo_p50 and figure.p50 > RATIO_TARGET * demo_p50:
        missed.append(f">{RATIO_TARGET}×demo")
    if figure.size > SIZE_TARGET_KB * 1024:
        missed.append(f">{SIZE_TARGET_KB}KB")
    if request.endpoint == "health.metrics" and figure.p95 > METRICS_TARGET_MS:
        missed.append(f"metrics>{METRICS_TARGET_MS}ms")
    return missed


def report(label: str, full: Measured, small: Measured) -> int:
    """Print the page and export tables of one backend; returns how many rows miss a target."""
    misses = 0
    print(f"{'route':<52} {'user':<11} {'st':>3} {'p50 ms':>8} {'p95 ms':>8} {'n':>3} {'KB':>7} {'demo p50':>8} {'ratio':>6} {'load':>5}  flags")
    for request in full.requests:
        figure = full.pages.get(request.label)
        if figure is None:
            continue
        base = small.pages.get(request.label)
        demo_p50 = base.p50 if base else None
        missed = flags(request, figure, base)
        misses += bool(missed)
        ratio = f"{figure.p50 / demo_p50:6.1f}" if demo_p50 else f"{'—':>6}"
        shown = f"{demo_p50:8.1f}" if demo_p50 is not None else f"{'—':>8}"
        print(f"{request.label[:52]:<52} {(request.user or '(none)') + '*' * request.fallback:<11} {figure.status:>3} {figure.p50:>8.1f} {figure.p95:>8.1f} "
              f"{figure.runs:>3} {figure.size / 1024:>7.1f} {shown} {ratio} {figure.load:>5.1f}  {' '.join(missed)}"
              + (f"  [{figure.error}]" if figure.error else ""))
    print(f"\n{'export':<40} {'user':<11} {'st':>3} {'rows':>8} {'MB':>6} {'p50 s':>7} {'RSS +MB':>8} {'demo s':>7}  flags")
    for request in full.requests:
        export = full.exports.get(request.label)
        if export is None:
            continue
        base_export = small.exports.get(request.label)
        missed = [f"{export.status}"] if export.status >= 500 else []
        missed += [f">{EXPORT_TARGET_S}s"] if export.seconds > EXPORT_TARGET_S else []
        missed += [f">{EXPORT_RSS_TARGET_MB}MB"] if export.rss_mb > EXPORT_RSS_TARGET_MB else []
        misses += bool(missed)
        shown = f"{base_export.seconds:7.2f}" if base_export else f"{'—':>7}"
        print(f"{request.label[:40]:<40} {request.user:<11} {export.status:>3} {export.rows:>8,} {export.size / 2**20:>6.2f} "
              f"{export.seconds:>7.2f} {export.rss_mb:>8.1f} {shown}  {' '.join(missed)}" + (f"  [{export.error}]" if export.error else ""))
    if any(r.fallback for r in full.requests):
        print("* the route's usual user was refused at demo size; the first candidate allowed was used")
    for rule, reason in full.skipped:
        print(f"skipped {rule}: {reason}")
    print(f"{label}: {misses} rows miss a target; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end\n")
    return misses


def database_bytes(db: Database) -> int:
    """The size of the database as stored."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            return int(conn.scalar(text("SELECT pg_database_size(current_database())")) or 0)
    return Path(db.engine.url.database or "").stat().st_size


def free_bytes(db: Database) -> Optional[int]:
    """Free space where the database lives (None when the server's disk is not visible from here)."""
    if db.engine.dialect.name == "postgresql":
        try:
            with db.engine.connect() as conn:
                directory = conn.scalar(text("SELECT setting FROM pg_settings WHERE name = 'data_directory'"))
            return shutil.disk_usage(directory).free if directory and Path(directory).exists() else None
        except Exception:  # no right to read the setting, or a remote server
            return None
    return shutil.disk_usage(Path(db.engine.url.database or ".").parent).free


def fitting_scale(db: Database, scale: float) -> float:
    """`scale`, or the largest that leaves a fifth of the free space when the disk cannot hold it."""
    free = free_bytes(db)
    need = county.Sizes.county(scale, 1).projects * BYTES_PER_PROJECT[db.engine.dialect.name]
    if free is None or need <= free * 0.8:
        return scale
    fitted = scale * free * 0.8 / need
    print(f"  {need / 2**30:.1f} GB needed at scale {scale}, {free / 2**30:.1f} GB free: filling scale {fitted:.3f}")
    return fitted


def build(db: Database, sizes: Optional[county.Sizes]) -> None:
    """The demo county with its history; with `sizes`, the full county on top of it."""
    state.WORKFLOWS.clear()
    definitions.forget_parsed()
    prepare(db)
    county.deploy_processes(db)
    with db.session() as s:
        demo.load_projects(s, FileStore(Path(tempfile.mkdtemp(prefix="zhikong-bench-demo-"))))
    county.redeploy_lifecycle(db)
    first_bulk = 0
    if sizes is not None:
        with db.session() as s:
            first_bulk = (s.scalar(select(func.max(Project.id))) or 0) + 1
        fill(db, sizes.projects)
    county.extend(db, sizes or county.DEMO, first_bulk or 10**9)


def served(db: Database) -> None:
    """What `zhikong init-db` and the scheduler's first runs give a served database: the schema upgraded in place (a kept
    fill of an older version), fresh planner statistics, the step-time sums caught up."""
    schema.upgrade(db)
    db.refresh_statistics()
    scheduler.run_job(db, "step_times")


def run(label: str, make_db: Callable[[str], tuple[Database, bool, Callable[[], None]]], scale: float, events_per_project: int, args: argparse.Namespace) -> int:
    """Demo size, then full size, on one backend; prints the sizes and the tables, returns the rows missing a target."""
    small, reused, filled_up = make_db("demo")
    if not reused:
        build(small, None)
        filled_up()
    served(small)
    demo_figures = measure(small, args.runs, args.budget, args.export_runs, only=args.only)
    small.dispose()
    users = {r.label: r for r in demo_figures.requests}
    big, reused, filled_up = make_db("full")
    started = time.perf_counter()
    if not reused:
        scale = fitting_scale(big, scale)
        build(big, county.Sizes.county(scale, events_per_project))
        filled_up()
    served(big)
    filled = county.counts(big)
    print(f"{label}: {'reused' if reused else f'filled scale {scale:g} in {time.perf_counter() - started:.0f} s'}, "
          f"{database_bytes(big) / 2**30:.2f} GB: " + ", ".join(f"{name} {count:,}" for name, count in filled.items()))
    full_figures = measure(big, args.runs, args.budget, args.export_runs, users, only=args.only)
    big.dispose()
    return report(label, full_figures, demo_figures)


def main() -> None:
    """Parse the options, register the hooks, run each backend and print."""
    wiring.install()
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full county to fill (1 = 100,000 projects)")
    parser.add_argument("--runs", type=int, default=20, help="timed requests per route")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per route after which fewer runs are kept (at least 3)")
    parser.add_argument("--export-runs", type=int, default=3, help="timed downloads per export")
    parser.add_argument("--pg", help="PostgreSQL URL of a database this bench may empty (e.g. …/bench_pages)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument("--keep", type=Path, help="fill into this folder (SQLite files; PostgreSQL databases named after --pg's plus _demo and _full) "
                                                   "and keep them; reuse a complete fill when there")
    parser.add_argument("--only", help="measure only the routes whose label contains this text")
    parser.add_argument("--export", nargs=3, metavar=("URL", "PATH", "USER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export:
        url, path, username = args.export
        export_child(url, path, username, args.export_runs)
        return
    tmp = args.keep or Path(tempfile.mkdtemp(prefix="zhikong-pages-"))
    tmp.mkdir(parents=True, exist_ok=True)

    def sqlite(name: str) -> tuple[Database, bool, Callable[[], None]]:
        """The backend's database; whether a complete earlier fill is reused; what marks this fill complete."""
        path, mark = tmp / f"{name}.db", tmp / f"{name}.filled"
        reused = args.keep is not None and mark.exists() and path.exists()
        if not reused:
            mark.unlink(missing_ok=True)
            for leftover in tmp.glob(f"{name}.db*"):
                leftover.unlink()
        return Database(f"sqlite:///{path}"), reused, mark.touch

    def postgresql(name: str) -> tuple[Database, bool, Callable[[], None]]:
        """As `sqlite`, on PostgreSQL: one database per size under --keep (its mark a file in the folder), else --pg's emptied."""
        if args.keep is None:
            return pg_database(args.pg), False, lambda: None
        url = make_url(args.pg)
        url = url.set(database=f"{url.database}_{name}")
        mark = tmp / f"pg-{url.database}.filled"
        if mark.exists():
            return Database(url.render_as_string(hide_password=False)), True, mark.touch
        return pg_database(url.render_as_string(hide_password=False)), False, mark.touch

    misses = 0
    try:
        if not args.no_sqlite:
            misses += run("SQLite", sqlite, args.scale, 10, args)
        if args.pg:
            misses += run("PostgreSQL", postgresql, args.scale, 100, args)
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{misses} rows miss a target in all")


if __name__ == "__main__":
    main()
