"""After start-up, set the long-lived objects aside from the garbage collector, so a full collection walks only what requests made.

A worker holds about 160,000 objects from start-up (modules, mapped classes, parsed
definitions) that live as long as it does; every full collection would walk them all again.
`gc.freeze` moves them to a permanent generation the collector skips.
"""
from __future__ import annotations

import gc


def settle() -> None:
    """Collect once, then freeze what survives (call when start-up and warm-up are done, never per request)."""
    gc.collect()
    gc.freeze()
