"""The expression sandbox: an allow-list checked before anything runs, guards on every operation, and limits on time and size."""
from __future__ import annotations

from engine.workflow.sandbox.engine import SCRIPT_ENGINE, check_task_data, compile_checked, compile_feel, decision_budget, run_feel
from engine.workflow.sandbox.limits import Limits, active, use

__all__ = ["SCRIPT_ENGINE", "Limits", "active", "check_task_data", "compile_checked", "compile_feel", "decision_budget", "run_feel", "use"]
