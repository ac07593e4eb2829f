"""Bounds on what one evaluation and one engine advance may do, read once from the settings."""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from engine.platform.config import SettingInvalid, Settings


@dataclass(frozen=True)
class Limits:
    """Every ceiling the sandbox and the engine enforce; each can be set as ZHIKONG_<NAME>."""

    expression_seconds: float = 0.1
    script_seconds: float = 1.0
    max_string: int = 1_000_000
    max_items: int = 100_000
    max_int_digits: int = 4_000
    max_nodes: int = 200_000
    max_depth: int = 50
    max_iterations: int = 1_000_000
    max_allocated_bytes: int = 64_000_000
    max_source: int = 100_000
    max_ast_depth: int = 100
    max_engine_steps: int = 10_000
    max_path_depth: int = 300
    advance_seconds: float = 5.0
    max_new_tasks: int = 5_000
    max_cardinality: int = 1_000
    max_loop_iterations: int = 1_000
    max_task_data_bytes: int = 1_000_000
    max_state_bytes: int = 20_000_000

    @property
    def max_int_bits(self) -> int:
        """Integer ceiling in bits (digits × log2 10)."""
        return self.max_int_digits * 3322 // 1000

    @classmethod
    def from_settings(cls, settings: Settings) -> "Limits":
        """Defaults overridden by ZHIKONG_MAX_CARDINALITY, ZHIKONG_SCRIPT_SECONDS and so on (Settings.sandbox)."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            name = f"ZHIKONG_{item.name.upper()}"
            value = settings.sandbox.get(name)
            if value is None:
                continue
            if item.type != "float" and not value.is_integer():
                raise SettingInvalid(f"设置 {name} 应为整数，当前为 {value}")
            values[item.name] = value if item.type == "float" else int(value)
        return cls(**values)


class _Active:
    """Holder of the limits in force: read from the settings on first use, replaceable in tests."""

    limits: Limits | None = None


def active() -> Limits:
    """The limits in force."""
    if _Active.limits is None:
        _Active.limits = Limits.from_settings(Settings.load())
    return _Active.limits


def use(limits: Limits | None) -> None:
    """Put `limits` in force (None: read the settings again on next use)."""
    _Active.limits = limits
