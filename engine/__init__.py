"""Zhikong runtime: BPMN/DMN execution, persistence and domain services (no web imports)."""
from . import audit as _audit  # noqa: F401 - registers the event log's hash chain on every Session
