"""The `zhikong` command end to end on a fresh SQLite file, as a deployment script would use it.

The first call runs the installed entry point in its own process; the rest call the same `main`
in this process (what each command does, not Python's start-up, is under test).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path


from engine.platform.config import PROJECT_ROOT
from tests.commands import zhikong


def test_cli_sets_up_registers_lists_and_completes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    early = subprocess.run([sys.executable, "-m", "zhikong.cli", "deploy", "bpmn"], cwd=PROJECT_ROOT, env=env,
                           capture_output=True, text=True, timeout=300)  # before init-db: told what to run, no traceback
    assert early.returncode == 1 and early.stderr.strip() == "错误：数据库尚未初始化，请先运行 zhikong init-db"
    run = partial(zhikong, {"DATABASE_URL": url, "ZHIKONG_ATTACHMENTS_DIR": str(tmp_path / "attachments")})  # the demo's files
    assert run("init-db").returncode == 0
    deployed = run("deploy", "bpmn")
    assert deployed.returncode == 0 and "第1版" in deployed.stdout
    assert "沿用" in run("deploy", "bpmn").stdout
    demo = run("demo")
    assert demo.returncode == 0 and "新建 13 个" in demo.stdout and "anwen" in demo.stdout
    assert "已存在" in run("demo").stdout
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps({"name": "命令行项目", "category": "services", "total_investment": 3000,
                                "landing_unit_id": 8, "deputy_id": 9}, ensure_ascii=False), encoding="utf-8")
    registered = run("register", str(lead), "--as", "anwen")
    assert registered.returncode == 0, registered.stderr
    result = json.loads(registered.stdout)
    task_id = result["ready_tasks"][0]["id"]
    assert result["ready_tasks"][0]["bpmn_id"] == "confirm_intent"
    listed = run("tasks", str(result["project_id"]))
    assert "confirm_intent" in listed.stdout and "ready" in listed.stdout
    refused = run("complete", str(task_id), "--as", "xinwo", "--data", '{"has_intent": true}')
    assert refused.returncode == 1 and "权限" in refused.stderr
    invalid = run("complete", str(task_id), "--as", "anwen", "--data", '{"has_intent": "maybe"}')
    assert invalid.returncode == 2 and "has_intent" in invalid.stderr
    done = run("complete", str(task_id), "--as", "anwen", "--data", '{"has_intent": true, "opinion": "有"}')
    assert done.returncode == 0
    assert json.loads(done.stdout)["ready_tasks"][0]["bpmn_id"] == "feasibility_review"
