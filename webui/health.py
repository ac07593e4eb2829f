"""/healthz and /metrics: the only pages without sign-in, for load balancers and Prometheus.

/healthz answers 200 when the database is reachable and a scheduler heartbeat is younger
than HEARTBEAT_MAX_AGE seconds, else 503 with the reasons. /metrics serves Prometheus text:
instances by status, ready, overdue and orphaned tasks, timer sweep lag, heartbeat ages and a
request-latency histogram. Both carry only counts, never names. When METRICS_TOKEN (or
ZHIKONG_METRICS_TOKEN) is set, /metrics requires `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import hmac
import os
import threading
import time
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from engine.workflow import health

from .guard import public
from .services import db

bp = Blueprint("health", __name__)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNTIMED = {"static", "health.metrics", "health.healthz"}


class LatencyHistogram:
    """Request durations per endpoint, cumulative buckets as Prometheus expects; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[str, list[float]] = {}

    def observe(self, endpoint: str, seconds: float) -> None:
        """Count one request of `endpoint` that took `seconds`."""
        with self._lock:
            series = self._series.setdefault(endpoint, [0.0] * (len(BUCKETS) + 2))
            for index, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    series[index] += 1
            series[-2] += 1
            series[-1] += seconds

    def family(self) -> health.Family:
        """The histogram as a metric family (buckets, +Inf, count and sum per endpoint)."""
        name = "zhikong_http_request_duration_seconds"
        family = health.Family(name, "Server time per request, by Flask endpoint.", "histogram")
        with self._lock:
            snapshot = {k: list(v) for k, v in self._series.items()}
        for endpoint, series in sorted(snapshot.items()):
            for bound, count in zip(BUCKETS, series):
                family.samples.append(health.Sample(f"{name}_bucket", (("endpoint", endpoint), ("le", str(bound))), count))
            family.samples.append(health.Sample(f"{name}_bucket", (("endpoint", endpoint), ("le", "+Inf")), series[-2]))
            family.samples.append(health.Sample(f"{name}_count", (("endpoint", endpoint),), series[-2]))
            family.samples.append(health.Sample(f"{name}_sum", (("endpoint", endpoint),), series[-1]))
        return family


def _histogram() -> LatencyHistogram:
    histogram: LatencyHistogram = current_app.extensions.setdefault("zhikong_latency", LatencyHistogram())
    return histogram


@bp.before_app_request
def _start_clock() -> None:
    g.zhikong_started = time.perf_counter()


@bp.after_app_request
def _stop_clock(response: Response) -> Response:
    started = g.pop("zhikong_started", None)
    if started is not None and request.endpoint and request.endpoint not in UNTIMED:
        _histogram().observe(request.endpoint, time.perf_counter() - started)
    return response


@bp.route("/healthz")
@public
def healthz() -> ResponseReturnValue:
    """200 {"status": "ok"} or 503 with the reasons (database unreachable, scheduler silent)."""
    max_age = int(current_app.config.get("HEARTBEAT_MAX_AGE") or health.heartbeat_max_age())
    try:
        with db().session() as s:
            report = health.check(s, max_age)
    except SQLAlchemyError as exc:
        reason = f"数据库不可用（database unreachable）：{type(exc).__name__}"
        return jsonify(status="fail", problems=[reason]), 503
    body: dict[str, Any] = {"status": "ok" if report.ok else "fail", "problems": report.problems,
                            "heartbeats": {k: round(v, 1) for k, v in report.heartbeats.items()}, "max_age": max_age}
    return jsonify(body), 200 if report.ok else 503


def _token() -> str:
    return str(current_app.config.get("METRICS_TOKEN") or os.environ.get("ZHIKONG_METRICS_TOKEN", ""))


@bp.route("/metrics")
@public
def metrics() -> ResponseReturnValue:
    """Prometheus text format; bearer token required when one is configured."""
    token = _token()
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return Response("需要有效的访问令牌（Authorization: Bearer …）\n", 401, {"WWW-Authenticate": "Bearer"},
                            mimetype="text/plain")
    try:
        with db().session() as s:
            families = health.gauges(s)
        up = 1.0
    except SQLAlchemyError:
        families, up = [], 0.0
    families.append(health.Family("zhikong_database_up", "1 when the database answered this scrape.", "gauge",
                                  [health.Sample("zhikong_database_up", (), up)]))
    families.append(_histogram().family())
    return Response(health.render(families), content_type="text/plain; version=0.0.4; charset=utf-8")
