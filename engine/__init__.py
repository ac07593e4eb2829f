"""Zhikong runtime: BPMN/DMN execution, persistence and domain services (no web imports)."""
from engine.platform import audit as _audit  # noqa: F401 - registers the event log's hash chain on every Session
from engine.workflow import orphans as _orphans  # noqa: F401 - flags ready tasks nobody may act on, the moment it happens
