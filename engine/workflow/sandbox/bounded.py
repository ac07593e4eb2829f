"""Multi-instance specs that refuse a collection past the ceiling before creating any instance, and a parser map that uses them."""
from __future__ import annotations

from collections.abc import Sized
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.spiff.specs.defaults import ParallelMultiInstanceTask, SequentialMultiInstanceTask

from engine.platform.errors import LimitExceeded
from engine.workflow.sandbox.limits import active


def check_collection(spec: Any, task: Any) -> None:
    """The input collection of a multi-instance may hold at most max_cardinality items."""
    if spec.data_input is None or not spec.data_input.exists(task):
        return
    items = spec.data_input.get(task)
    ceiling = active().max_cardinality
    if isinstance(items, Sized) and len(items) > ceiling:
        refusal = LimitExceeded(f"多实例“{spec.bpmn_name or spec.bpmn_id}”的输入集合有 {len(items)} 项，超过上限 {ceiling}")
        raise WorkflowTaskException(refusal.message, task=task, exception=refusal) from refusal


class BoundedParallelMultiInstanceTask(ParallelMultiInstanceTask):
    """Parallel multi-instance whose collection is measured before its instances are created."""

    def create_children(self, my_task: Any) -> None:
        """Create the instances once the collection is known to be within the ceiling."""
        check_collection(self, my_task)
        super().create_children(my_task)


class BoundedSequentialMultiInstanceTask(SequentialMultiInstanceTask):
    """Sequential multi-instance whose collection is measured before its first instance."""

    def init_remaining_items(self, my_task: Any) -> Any:
        """The items still to run, once the collection is known to be within the ceiling."""
        check_collection(self, my_task)
        return super().init_remaining_items(my_task)


def bounded_parser_classes(classes: dict[str, tuple[type, type]]) -> dict[str, tuple[type, type]]:
    """The same tag → (parser, spec) map, each task parser building the bounded multi-instance specs."""
    bounded = {}
    for tag, (parser_class, spec_class) in classes.items():
        if issubclass(parser_class, TaskParser):
            parser_class = type(parser_class.__name__, (parser_class,), {
                "PARALLEL_MI_CLASS": BoundedParallelMultiInstanceTask,
                "SEQUENTIAL_MI_CLASS": BoundedSequentialMultiInstanceTask,
            })
        bounded[tag] = (parser_class, spec_class)
    return bounded
