"""Bounds on one engine advance: automatic steps, time, path depth gained, tasks created and data written.

SpiffWorkflow's own task iterator silently stops looking 1,000 levels down, so a cycle of
automatic steps must be stopped well before that, with the reason on the instance.
"""
from __future__ import annotations

from typing import Any

from engine.platform.errors import LimitExceeded
from engine.workflow.sandbox.guards import measure, now
from engine.workflow.sandbox.limits import Limits


class StepGuard:
    """Callbacks for `do_engine_steps` that raise LimitExceeded when one advance goes past a ceiling."""

    def __init__(self, workflow: Any, finished: list[Any], limits: Limits) -> None:
        self.workflow = workflow
        self.finished = finished
        self.limits = limits
        self.current: Any = None
        self.depths: dict[Any, int] = {}
        self.base_depth: int | None = None
        self.data_bytes = 0
        self.deadline = now() + limits.advance_seconds  # CPU time of this thread, as the sandbox counts
        self.tasks_before = self.task_count()

    def before(self, task: Any) -> None:
        """Remember which element is about to run (for the error when a limit is hit inside it)."""
        self.current = task

    def after(self, task: Any) -> None:
        """Count the step and check every ceiling of the advance."""
        self.finished.append(task)
        limits = self.limits
        if len(self.finished) >= limits.max_engine_steps:
            raise LimitExceeded(f"一次推进执行了 {limits.max_engine_steps} 个自动步骤仍未停下，已停止")
        if now() > self.deadline:
            raise LimitExceeded(f"一次推进的自动步骤运行超过 {limits.advance_seconds:g} 秒，已停止")
        depth = self._depth(task)
        if self.base_depth is None:
            self.base_depth = depth
        if depth - self.base_depth > limits.max_path_depth:
            raise LimitExceeded(f"一次推进沿流程走的步数超过上限 {limits.max_path_depth}（脚本与网关构成了循环），已停止")
        if self.task_count() - self.tasks_before > limits.max_new_tasks:
            self.current = self.most_repeated()
            raise LimitExceeded(f"一次推进新建的任务超过上限 {limits.max_new_tasks} 个（多实例或循环过多），已停止")
        self.data_bytes += measure(task.data, limits)
        if self.data_bytes > limits.max_state_bytes:
            raise LimitExceeded(f"一次推进写入的任务数据超过上限 {limits.max_state_bytes // 1_000_000} MB，已停止")

    def task_count(self) -> int:
        """Tasks of the workflow and of its subprocesses."""
        return len(self.workflow.tasks) + sum(len(sub.tasks) for sub in self.workflow.subprocesses.values())

    def most_repeated(self) -> Any:
        """The task with the most children: the multi-instance or loop that grew the workflow."""
        tasks = [*self.workflow.tasks.values(), *(t for sub in self.workflow.subprocesses.values() for t in sub.tasks.values())]
        return max(tasks, key=lambda t: len(t.children))

    def _depth(self, task: Any) -> int:
        parent = task.parent
        if parent is not None and parent.id in self.depths:
            depth = self.depths[parent.id] + 1
        else:
            depth = task.depth
        self.depths[task.id] = depth
        return depth
