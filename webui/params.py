"""Numbers from query strings and forms, read by engine.inputs (ASCII digits only, within an Integer column)."""
from __future__ import annotations

from typing import Optional

from flask import abort, request

from engine.platform.clock import local_today
from engine.platform.inputs import printable, whole_number

FIRST_YEAR, LAST_YEAR = 2000, 2100


def int_arg(name: str) -> Optional[int]:
    """A positive integer query argument, None when absent, zero or malformed."""
    return whole_number(request.args.get(name, "")) or None


def search_arg() -> str:
    """The search text `q` of the query string: at most 100 characters, control characters dropped (no column holds them)."""
    return printable(request.args.get("q", ""))[:100]


def year_arg() -> int:
    """The `year` of the query string or form (this year in county time when absent); 400 for anything else."""
    year = whole_number(request.values.get("year") or str(local_today().year))
    if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
        abort(400)
    return year


def required_number(text: str) -> int:
    """A whole number the request must carry (a version, a quarter); 400 when it is absent or malformed."""
    number = whole_number(text.strip())
    if number is None:
        abort(400)
    return number
