"""Architecture boundary: the engine never imports Flask or the web package."""
from __future__ import annotations

import subprocess
import sys

from engine.platform.config import PROJECT_ROOT


def test_engine_runs_without_flask_loaded() -> None:
    code = (
        "import importlib, pkgutil, sys, engine;"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(engine.__path__, 'engine.') if '.migrations' not in m.name];"
        "bad = [m for m in sys.modules if m == 'flask' or m.startswith(('flask.', 'webui'))];"
        "print(', '.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_engine_module_mentions_flask_imports() -> None:
    for path in (PROJECT_ROOT / "engine").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            assert not stripped.startswith(("import flask", "from flask", "import webui", "from webui")), path
