"""The `zhikong` command end to end on a fresh SQLite file, as a deployment script would use it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from engine.platform.config import PROJECT_ROOT


def zhikong(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zhikong.cli", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_cli_sets_up_registers_lists_and_completes(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    early = zhikong(env, "deploy", "bpmn")  # before init-db: told what to run, no traceback
    assert early.returncode == 1 and early.stderr.strip() == "错误：数据库尚未初始化，请先运行 zhikong init-db"
    assert zhikong(env, "init-db").returncode == 0
    deployed = zhikong(env, "deploy", "bpmn")
    assert deployed.returncode == 0 and "第1版" in deployed.stdout
    assert "沿用" in zhikong(env, "deploy", "bpmn").stdout
    demo = zhikong(env, "demo")
    assert demo.returncode == 0 and "新建 12 个" in demo.stdout and "anwen" in demo.stdout
    assert "已存在" in zhikong(env, "demo").stdout
    lead = tmp_path / "lead.json"
    lead.write_text(json.dumps({"name": "命令行项目", "category": "services", "total_investment": 3000,
                                "landing_unit_id": 8, "deputy_id": 9}, ensure_ascii=False), encoding="utf-8")
    registered = zhikong(env, "register", str(lead), "--as", "anwen")
    assert registered.returncode == 0, registered.stderr
    result = json.loads(registered.stdout)
    task_id = result["ready_tasks"][0]["id"]
    assert result["ready_tasks"][0]["bpmn_id"] == "confirm_intent"
    listed = zhikong(env, "tasks", str(result["project_id"]))
    assert "confirm_intent" in listed.stdout and "ready" in listed.stdout
    refused = zhikong(env, "complete", str(task_id), "--as", "xinwo", "--data", '{"has_intent": true}')
    assert refused.returncode == 1 and "权限" in refused.stderr
    invalid = zhikong(env, "complete", str(task_id), "--as", "anwen", "--data", '{"has_intent": "maybe"}')
    assert invalid.returncode == 2 and "has_intent" in invalid.stderr
    done = zhikong(env, "complete", str(task_id), "--as", "anwen", "--data", '{"has_intent": true, "opinion": "有"}')
    assert done.returncode == 0
    assert json.loads(done.stdout)["ready_tasks"][0]["bpmn_id"] == "feasibility_review"
