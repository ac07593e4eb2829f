"""`zhikong serve`: the web app under gunicorn (prefork workers, threads, access log, graceful restart on HUP), metrics shared by every worker, the scheduler beside it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Optional

from gunicorn.app.base import BaseApplication

from engine.platform.config import Settings

METRICS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# gunicorn's default line plus the worker's pid and the time taken in microseconds
ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" pid=%(p)s us=%(D)s'


class Server(BaseApplication):
    """gunicorn run from code through its documented custom-application API, so one command starts everything."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        """Hand gunicorn our options (read again on HUP)."""
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        """Build the Flask app in each worker after the fork, so no database connection crosses a fork, then settle its heap."""
        from engine.platform import heap
        from webui import create_app

        app = create_app()
        heap.settle()
        return app


class Scheduler:
    """`zhikong scheduler` as a child process of the gunicorn master: started once it listens, stopped when it exits."""

    def __init__(self) -> None:
        self.process: Optional[subprocess.Popen[bytes]] = None

    def start(self, _arbiter: Any) -> None:
        """gunicorn's when_ready hook."""
        self.process = subprocess.Popen([sys.executable, "-m", "zhikong.cli", "scheduler"])

    def stop(self, _arbiter: Any) -> None:
        """gunicorn's on_exit hook: SIGTERM, and wait for the running job to end."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


def worker_exited(_arbiter: Any, worker: Any) -> None:
    """gunicorn's child_exit hook: a dead worker's live gauges leave the shared metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def options(settings: Settings, scheduler: Optional[Scheduler]) -> dict[str, Any]:
    """gunicorn's settings from ours: bind, workers × threads, timeouts, logs, hooks."""
    chosen: dict[str, Any] = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": "gthread",
        "timeout": settings.timeout,
        "graceful_timeout": 30,
        "accesslog": settings.access_log,
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "proc_name": "zhikong",
        "preload_app": False,
        "control_socket_disable": True,
        "secure_scheme_headers": {},  # the scheme comes from ProxyFix and ZHIKONG_PROXY_COUNT alone
        "child_exit": worker_exited,
    }
    if scheduler is not None:
        chosen.update(when_ready=scheduler.start, on_exit=scheduler.stop)
    return chosen


def serve(settings: Settings, with_scheduler: bool) -> None:
    """Run gunicorn until SIGTERM (graceful stop) or SIGINT; SIGHUP restarts the workers gracefully with fresh code."""
    master = os.getpid()
    metrics_dir = tempfile.mkdtemp(prefix="zhikong-metrics-")
    os.environ[METRICS_DIR_VARIABLE] = metrics_dir  # before any worker imports prometheus_client
    try:
        Server(options(settings, Scheduler() if with_scheduler else None)).run()
    finally:
        if os.getpid() == master:  # a worker leaves through here too when it exits
            shutil.rmtree(metrics_dir, ignore_errors=True)
