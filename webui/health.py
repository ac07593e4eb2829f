"""/healthz, /readyz and /metrics: the only pages without sign-in, for load balancers, orchestration and Prometheus.

/healthz is liveness: the process answers, 200, without touching the database. /readyz answers
200 when the database answers, its schema is at this code's migration head and a scheduler
heartbeat is younger than HEARTBEAT_MAX_AGE seconds, else 503 with the reasons. /metrics serves
Prometheus text from webui.metrics. All three carry only counts, never names. When METRICS_TOKEN
(ZHIKONG_METRICS_TOKEN) is set, /metrics requires `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import hmac
import time
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from engine.workflow import health

from . import metrics as instruments
from .guard import public
from .services import db

bp = Blueprint("health", __name__)
UNTIMED = {"health.metrics", "health.healthz", "health.readyz"}


@bp.before_app_request
def _start_clock() -> None:
    g.zhikong_started = time.perf_counter()


@bp.after_app_request
def _stop_clock(response: Response) -> Response:
    started = g.pop("zhikong_started", None)
    if started is None or request.endpoint == "static":
        return response
    instruments.count_status(response.status_code)
    if request.endpoint and request.endpoint not in UNTIMED:
        instruments.REQUEST_SECONDS.labels(request.endpoint).observe(time.perf_counter() - started)
    return response


@bp.route("/healthz")
@public
def healthz() -> ResponseReturnValue:
    """Liveness: 200 {"status": "ok"} whenever this process answers."""
    return jsonify(status="ok")


@bp.route("/readyz")
@public
def readyz() -> ResponseReturnValue:
    """200 {"status": "ok"} or 503 with the reasons (database unreachable, schema behind, scheduler silent)."""
    max_age = int(current_app.config["HEARTBEAT_MAX_AGE"])
    try:
        with db().session() as s:
            report = health.readiness(s, max_age)
    except SQLAlchemyError as exc:
        reason = f"数据库不可用（database unreachable）：{type(exc).__name__}"
        return jsonify(status="fail", problems=[reason]), 503
    body: dict[str, Any] = {"status": "ok" if report.ok else "fail", "problems": report.problems,
                            "heartbeats": {k: round(v, 1) for k, v in report.heartbeats.items()}, "max_age": max_age}
    return jsonify(body), 200 if report.ok else 503


@bp.route("/metrics")
@public
def metrics() -> ResponseReturnValue:
    """Prometheus text format; bearer token required when one is configured."""
    token = str(current_app.config.get("METRICS_TOKEN") or "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return Response("需要有效的访问令牌（Authorization: Bearer …）\n", 401, {"WWW-Authenticate": "Bearer"},
                            mimetype="text/plain")
    try:
        with db().session() as s:
            readings: health.Readings | None = health.readings(s)
    except SQLAlchemyError:
        readings = None
    return Response(instruments.exposition(readings), content_type="text/plain; version=0.0.4; charset=utf-8")
