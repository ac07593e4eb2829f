"""Settling the heap sets start-up's objects aside from the collector, and collection still works after it."""
from __future__ import annotations

import gc
import weakref

from engine.platform import heap


class _Cycle:
    """An object in a reference cycle, freed only by the collector."""

    def __init__(self) -> None:
        self.me = self


def test_settle_freezes_what_lives_and_later_garbage_is_still_collected() -> None:
    try:
        heap.settle()
        assert gc.get_freeze_count() > 1000
        garbage = _Cycle()
        gone = weakref.ref(garbage)
        del garbage
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()
