"""Zhikong runtime: BPMN/DMN execution, persistence and domain services (no web imports)."""
