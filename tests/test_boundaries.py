"""Architecture boundary: the engine never imports Flask or the web package."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp

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


def _project_modules() -> dict[str, Path]:
    """Every module of engine, webui and zhikong by dotted name (applied migrations aside)."""
    found = {}
    for package in ("engine", "webui", "zhikong"):
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if "versions" in path.parts or "node_modules" in path.parts:
                continue
            found[".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")] = path
    return found


def test_no_module_uses_another_modules_underscore_names() -> None:
    modules = _project_modules()
    offences = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("engine", "webui", "zhikong"):
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    if alias.name.startswith("_"):
                        offences.append(f"{name} imports {target}")
                    if target in modules:
                        imported[alias.asname or alias.name] = target
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                offences.append(f"{name} uses {imported[node.value.id]}.{node.attr}")
    assert offences == []


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph("engine", "webui", "zhikong")
    cycles = [
        f"{module} ⇄ {other}"
        for module in sorted(graph.modules)
        for other in sorted(graph.find_modules_directly_imported_by(module))
        if module < other and graph.chain_exists(importer=other, imported=module)
    ]
    assert cycles == []
