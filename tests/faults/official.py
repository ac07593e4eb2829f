"""An official's browser over real HTTP for the fault tests and bench/load.py: signs in through the login form with its
CSRF token, opens task forms, completes tasks and views the inbox, reconnecting and retrying when the server drops it."""
from __future__ import annotations

import http.client
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from engine.demo import DEMO_PASSWORD

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RETRIED_STATUSES = {500, 502, 503, 504}  # the database away (a restart) or a worker gone: the official tries again
ACKNOWLEDGED = 303  # a completion is acknowledged by the redirect to the inbox
INTENT = {"has_intent": "true", "opinion": "有意向"}  # the form of the confirm_intent tasks the tests and the bench complete


class Unanswered(Exception):
    """The server gave no usable answer within the official's attempts."""


@dataclass
class Tally:
    """What one official's task cycles came to: acknowledged completions, inbox views, latencies, failures."""

    acknowledged: list[int] = field(default_factory=list)
    inbox_views: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Official:
    """One signed-in session on its own keep-alive connection; each request is retried after a dropped connection or a 5xx."""

    def __init__(self, port: int, username: str, tally: Tally, attempts: int = 1, pause: float = 0.2, address: str = "") -> None:
        self.username = username
        self.address = address
        self.tally = tally
        self.attempts = attempts
        self.pause = pause
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def _once(self, method: str, path: str, form: dict[str, str] | None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if self.address:  # where a reverse proxy says the official is (read only by a server told to trust one)
            headers["X-Forwarded-For"] = self.address
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, text

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        """Send one request, timing it; after a dropped connection or a 5xx, reconnect and send it again."""
        for attempt in range(self.attempts):
            started = time.perf_counter()
            try:
                status, text = self._once(method, path, form)
            except (OSError, http.client.HTTPException) as exc:
                self.connection.close()
                problem = f"{method} {path}: {type(exc).__name__}"
            else:
                self.tally.latencies.append(time.perf_counter() - started)
                if status not in RETRIED_STATUSES:
                    return status, text
                problem = f"{method} {path}: {status}"
            if attempt + 1 < self.attempts:
                time.sleep(self.pause)
        self.tally.errors.append(problem)
        raise Unanswered(problem)

    def token(self, path: str) -> str:
        """The CSRF token of the form at `path`."""
        status, page = self.request("GET", path)
        match = CSRF.search(page)
        if status != 200 or not match:
            self.tally.errors.append(f"GET {path}: {status} without a form")
            raise Unanswered(f"GET {path}: {status}")
        return match.group(1)

    def sign_in(self) -> None:
        status, _page = self.request("POST", "/login", {"username": self.username, "password": DEMO_PASSWORD,
                                                        "csrf_token": self.token("/login")})
        if status != 302:
            self.tally.errors.append(f"sign-in of {self.username}: {status}")
            raise Unanswered(f"sign-in of {self.username}: {status}")

    def cycle(self, task_id: int) -> None:
        """GET the task's form, POST its completion, GET the inbox; an acknowledged completion is remembered."""
        path = f"/tasks/{task_id}"
        status, _page = self.request("POST", path, {**INTENT, "csrf_token": self.token(path)})
        if status == ACKNOWLEDGED:
            self.tally.acknowledged.append(task_id)
        elif status != 409:  # 409: a retried POST whose first attempt had committed, so not acknowledged
            self.tally.errors.append(f"POST {path}: {status}")
        status, _page = self.request("GET", "/")
        if status == 200:
            self.tally.inbox_views += 1
        else:
            self.tally.errors.append(f"GET /: {status}")

    def close(self) -> None:
        self.connection.close()


def work_through(port: int, username: str, task_ids: list[int], attempts: int, stop: threading.Event | None = None,
                 address: str = "") -> Tally:
    """One official signs in and runs a task cycle on each task in turn, until they are done or `stop` is set."""
    tally = Tally()
    official = Official(port, username, tally, attempts, address=address)
    try:
        official.sign_in()
        for task_id in task_ids:
            if stop is not None and stop.is_set():
                break
            try:
                official.cycle(task_id)
            except Unanswered:
                continue
    except Unanswered:
        pass
    finally:
        official.close()
    return tally


def crowd(port: int, work: list[tuple[str, list[int]]], attempts: int, stop: threading.Event | None = None) -> list[Tally]:
    """Every (official, tasks) pair on a thread of its own, all at once, each from an address of its own; their tallies once all are done."""
    with ThreadPoolExecutor(len(work)) as pool:
        return list(pool.map(lambda n: work_through(port, work[n][0], work[n][1], attempts, stop, f"10.0.{n // 250}.{n % 250 + 1}"),
                             range(len(work))))
