"""Prometheus instruments of the web edge (latency per endpoint, completions, refusals, errors) and their exposition, summed over every gunicorn worker.

Under `zhikong serve` PROMETHEUS_MULTIPROC_DIR is set before any worker imports this module, so
prometheus_client keeps each worker's values in files there and a scrape adds them up; under the
development server and in tests the values live in this process. The database's gauges are read
at scrape time by whichever worker answers.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from http import HTTPStatus

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from engine.workflow.health import Readings

INSTRUMENTS = CollectorRegistry()
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram("zhikong_http_request_duration_seconds", "Server time per request, by Flask endpoint.",
                            ["endpoint"], buckets=BUCKETS, registry=INSTRUMENTS)
COMPLETIONS = Counter("zhikong_task_completions", "User tasks completed through the web pages (task page and meeting decisions).",
                      registry=INSTRUMENTS)
REFUSALS = Counter("zhikong_http_refusals", "Requests refused with a 4xx status, by kind (the status's name).",
                   ["kind"], registry=INSTRUMENTS)
ERRORS = Counter("zhikong_http_errors", "Requests that ended in a 5xx status.", registry=INSTRUMENTS)


def refusal_kind(status: int) -> str:
    """The status's name in lower case (forbidden, conflict, too_many_requests …), or its number when it has none."""
    try:
        return HTTPStatus(status).name.lower()
    except ValueError:
        return str(status)


def count_status(status: int) -> None:
    """Count a finished request's refusal (4xx, by kind) or error (5xx)."""
    if 400 <= status < 500:
        REFUSALS.labels(refusal_kind(status)).inc()
    elif status >= 500:
        ERRORS.inc()


def completed(count: int = 1) -> None:
    """Count user tasks completed by a request that committed."""
    COMPLETIONS.inc(count)


class DatabaseGauges:
    """The gauges read from the database for this scrape (or zhikong_database_up 0 when it did not answer)."""

    def __init__(self, readings: Readings | None) -> None:
        self.readings = readings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The families in Prometheus's own types."""
        yield GaugeMetricFamily("zhikong_database_up", "1 when the database answered this scrape.", value=0 if self.readings is None else 1)
        found = self.readings
        if found is None:
            return
        instances = GaugeMetricFamily("zhikong_instances", "Process instances by status (waiting_timer: running, no ready task, a timer pending).",
                                      labels=["status"])
        for status, count in sorted(found.instances.items()):
            instances.add_metric([status], count)
        yield instances
        yield GaugeMetricFamily("zhikong_ready_tasks", "User tasks waiting in someone's inbox.", value=found.ready_tasks)
        yield GaugeMetricFamily("zhikong_overdue_tasks", "Ready user tasks past their due time.", value=found.overdue_tasks)
        yield GaugeMetricFamily("zhikong_orphaned_tasks", "Ready user tasks that no active official may act on.", value=found.orphaned_tasks)
        yield GaugeMetricFamily("zhikong_timer_sweep_lag_seconds", "Age of the oldest due timer not yet fired (0 when none is due).",
                                value=found.timer_lag_seconds)
        yield GaugeMetricFamily("zhikong_outbox_backlog", "E-mail and messenger notifications not yet sent (pending or being sent).",
                                value=found.outbox_backlog)
        beats = GaugeMetricFamily("zhikong_scheduler_heartbeat_age_seconds", "Seconds since each scheduler job's last heartbeat.",
                                  labels=["scheduler"])
        for name, age in sorted(found.heartbeat_ages.items()):
            beats.add_metric([name], age)
        yield beats


def exposition(readings: Readings | None) -> bytes:
    """Prometheus text: every worker's instruments (or this process's) and the database's gauges."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(INSTRUMENTS)
    registry.register(DatabaseGauges(readings))
    return generate_latest(registry)
