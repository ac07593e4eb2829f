"""The `zhikong` command run in this process as its own process would run it: its environment, the project root as
working folder, fresh process caches, and its output and exit code captured (Python's start-up is not under test)."""
from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from contextlib import chdir, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass

from engine.platform.config import PROJECT_ROOT
from tests.conftest import forget_process_caches
from zhikong import cli


@dataclass
class Ran:
    """What one command printed and returned."""

    returncode: int
    stdout: str
    stderr: str


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ with `values` set, put back afterwards."""
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def zhikong(env: Mapping[str, str], *args: str) -> Ran:
    """Run `zhikong ARGS` with `env` added to the environment (e.g. DATABASE_URL)."""
    out, err = io.StringIO(), io.StringIO()
    with environment(env), chdir(PROJECT_ROOT), redirect_stdout(out), redirect_stderr(err):
        forget_process_caches()
        try:
            code = cli.main(list(args))
        except SystemExit as exit_:  # argparse refusing the arguments
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            forget_process_caches()
    return Ran(code, out.getvalue(), err.getvalue())
