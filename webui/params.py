"""Whole numbers from query strings and forms: ASCII digits only, since str.isdigit also accepts '²', which int() refuses."""
from __future__ import annotations

from typing import Optional

from flask import request


def whole_number(text: str) -> Optional[int]:
    """A non-negative integer written in ASCII digits, None for anything else."""
    return int(text) if text.isascii() and text.isdigit() else None


def int_arg(name: str) -> Optional[int]:
    """A positive integer query argument, None when absent, zero or malformed."""
    return whole_number(request.args.get(name, "")) or None
