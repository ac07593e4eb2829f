"""Validation before deploy: every malformed or hostile bundle is refused with a message naming the
file, the element and what to fix, and nothing is stored."""
from __future__ import annotations

import json
import re
from typing import Callable

import pytest
from sqlalchemy import func, select

from engine.projects import lifecycle
from engine.workflow import definitions
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.workflow.decision_cases import DecisionRunner
from engine.platform.errors import DefinitionInvalid
from engine.platform.models import Definition, Event
from engine.workflow.validation import check_bundle

BUNDLE = definitions.read_bundle(PROJECT_ROOT / "bpmn")
BPMN, DMN, CASES = "project_lifecycle.bpmn", "approval_tier.dmn", "approval_tier.cases.json"


def mutated(name: str, change: Callable[[str], str]) -> dict[str, str]:
    files = dict(BUNDLE)
    files[name] = change(files[name])
    assert files[name] != BUNDLE.get(name), "the mutation must change the file"
    return files


def replace(old: str, new: str, count: int = 1) -> Callable[[str], str]:
    return lambda text: text.replace(old, new, count)


def counts(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return s.scalars(select(func.count()).select_from(Definition)).one(), s.scalars(select(func.count()).select_from(Event)).one()


def refused(db: Database, files: dict[str, str]) -> list[dict[str, str]]:
    """Deploy, expect a refusal, and check that nothing was stored."""
    before = counts(db)
    with pytest.raises(DefinitionInvalid) as err:
        with db.session() as s:
            definitions.deploy(s, files, lifecycle.LIFECYCLE)
    assert counts(db) == before
    return err.value.problems


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n<definitions>&lol3;</definitions>'
)
EXTERNAL_ENTITY = '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<definitions>&xxe;</definitions>'
LOWER_20 = "<text>&lt;= 20</text>"

HOSTILE = [
    ("broken XML", BPMN, lambda t: t[:5000], BPMN, "", "XML 格式错误（第"),
    ("billion laughs", BPMN, lambda t: BILLION_LAUGHS, BPMN, "", "不允许 DOCTYPE 或实体声明"),
    ("external entity", DMN, lambda t: EXTERNAL_ENTITY, DMN, "", "不允许 DOCTYPE 或实体声明"),
    ("size limit", BPMN, lambda t: t.replace("</bpmn:definitions>", "<!--" + "x" * 2_200_000 + "--></bpmn:definitions>"), BPMN, "", "KB 上限"),
    ("unknown lane", BPMN, replace('name="落地单位"', 'name="外星单位"'), BPMN, "confirm_intent", "泳道“外星单位”未在 lanes.yaml 中映射到角色"),
    ("__import__ in a condition", BPMN, replace("has_intent == True", "__import__('os').system('id')"), BPMN, "f_intent_yes", "不允许使用 __import__"),
    ("open() in a condition", BPMN, replace('decision == "pass"', "open('/etc/passwd').read()"), BPMN, "f_feasibility_pass", "不允许使用 open"),
    ("dunder attribute", BPMN, replace("has_intent == True", "().__class__.__bases__"), BPMN, "f_intent_yes", "不允许访问属性 __"),
    ("missing form", BPMN, replace('value="intent.schema.json"', 'value="nowhere.schema.json"'), BPMN, "confirm_intent", "nowhere.schema.json 不存在"),
    ("bad due duration", BPMN, replace('name="dueIn" value="P30D"', 'name="dueIn" value="30天"'), BPMN, "confirm_intent", "不是 ISO-8601 时长"),
    ("unknown decision", BPMN, replace(">approval_tier</spiffworkflow:calledDecisionId>", ">approval_tiers</spiffworkflow:calledDecisionId>"), BPMN, "decide_tier", "引用的决策“approval_tiers”不存在"),
    ("schema-invalid BPMN", BPMN, replace('<bpmn:userTask id="confirm_intent"', '<bpmn:userTask id="confirm_intent" bogus="1"', 1), BPMN, "", "流程结构不符合 BPMN/DMN 规范"),
    ("overlapping UNIQUE rules", DMN, replace("<text>]30..50]</text>", "<text>[30..50]</text>"), DMN, "rule_4", "规则 rule_2（第2行）与规则 rule_4（第4行）重叠"),
    ("reversed FEEL range", DMN, replace("<text>]30..50]</text>", "<text>]50..30]</text>"), DMN, "rule_4_in_5", "没有任何值"),
    ("Python in a FEEL cell", DMN, replace("<text>]30..50]</text>", "<text>30 &lt; ? &lt;= 50</text>"), DMN, "rule_4_in_5", "规则 rule_4（第4行）的“用地面积(亩)”列"),
    ("string in a number column", DMN, replace("<text>&lt;= 30</text>", '<text>"30"</text>'), DMN, "rule_2_in_5", "是字符串，与该列的数字类型不符"),
    ("typo'd input name", DMN, replace("<text>land_mu</text>", "<text>land_mus</text>"), DMN, "input_land_mu", "是否应为 land_mu"),
    ("value outside the column's values", DMN, replace('<text>"industrial"</text>', '<text>"工业"</text>'), DMN, "rule_2_in_4", "\"工业\" 不是该列的可选值"),
    ("column type against its variable", DMN, replace('typeRef="number"', 'typeRef="string"'), DMN, "input_land_mu", "变量 land_mu（项目台账字段）是数字"),
    ("unknown hit policy", DMN, replace('hitPolicy="UNIQUE"', 'hitPolicy="SOMETIMES"'), DMN, "approval_tier_table", "命中策略“SOMETIMES”无法识别"),
    ("date and time in a number column", DMN, replace("<text>&lt;= 30</text>", '<text>&lt; date and time("2024-01-01T00:00:00")</text>'), DMN, "rule_2_in_5",
     "是日期时间，与该列的数字类型不符"),
    ("a date and time that does not exist", DMN, replace("<text>&lt;= 30</text>", '<text>&lt; date and time("2024-13-01T00:00:00")</text>'), DMN, "rule_2_in_5",
     '规则 rule_2（第2行）的“用地面积(亩)”列：“< date and time("2024-13-01T00:00:00")”：2024-13-01T00:00:00 不是有效日期时间'),
    ("empty output", DMN, replace('<text>"T1"</text>', "<text></text>"), DMN, "rule_1_out", "输出单元格为空"),
    ("output of the wrong type", DMN, replace('<text>"T1"</text>', "<text>1</text>"), DMN, "rule_1_out", "与输出列的字符串类型不符"),
    ("a data store", BPMN, lambda t: t.replace("<bpmn:process ", '<bpmn:dataStore id="archive" name="档案库" />\n  <bpmn:process ', 1),
     BPMN, "archive", "行的数据存储“档案库”：本系统不支持 BPMN 数据存储"),
    ("lane mapped to an unknown role", "lanes.yaml", replace("{role: deputy, scope: deputy}", "{role: vice_mayor, scope: deputy}"), "lanes.yaml", "分管副县长", "角色“vice_mayor”不在 roles 列表中"),
    ("form that is not JSON Schema", "forms/intent.schema.json", lambda t: json.dumps({"type": "objekt"}), "forms/intent.schema.json", "type", "不是有效的 JSON Schema"),
]


@pytest.mark.parametrize("label,name,change,file,element,message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_bad_bundles_are_refused_naming_file_element_and_fix(
    sqlite_db: Database, label: str, name: str, change: Callable[[str], str], file: str, element: str, message: str
) -> None:
    problems = refused(sqlite_db, mutated(name, change))
    hits = [p for p in problems if p["file"] == file and p["element"] == element and message in p["message"]]
    assert hits, problems


def test_refusals_store_nothing_on_every_backend(db: Database) -> None:
    for files in (mutated(BPMN, lambda t: BILLION_LAUGHS), mutated(DMN, replace("<text>]30..50]</text>", "<text>[30..50]</text>"))):
        refused(db, files)


def test_shipped_bundle_passes_including_the_17_rule_unique_table() -> None:
    result = check_bundle(BUNDLE, lifecycle.LIFECYCLE, definitions.SCOPES)
    assert result.problems == []
    tier = result.decisions["approval_tier"]
    assert tier.hit_policy == "UNIQUE"
    assert [c.variable for c in tier.inputs] == ["dev_zone", "one_case_support", "needs_land", "category", "land_mu"]
    assert BUNDLE[DMN].count("<rule ") == 17


def test_every_problem_is_reported_at_once(sqlite_db: Database) -> None:
    files = mutated(DMN, replace("<text>]30..50]</text>", "<text>]50..30]</text>"))
    files[DMN] = files[DMN].replace('<text>"industrial"</text>', '<text>"工业"</text>', 1)
    files[BPMN] = files[BPMN].replace("has_intent == True", "__import__('os')")
    elements = {p["element"] for p in refused(sqlite_db, files)}
    assert {"rule_4_in_5", "rule_2_in_4", "f_intent_yes"} <= elements


def test_overlap_witness_really_hits_both_rules() -> None:
    """The input named in an overlap message is fed to the real DMN engine, which then matches both rules."""
    overlapping = BUNDLE[DMN].replace("<text>]30..50]</text>", "<text>[30..50]</text>", 1)
    problems = check_bundle({**BUNDLE, DMN: overlapping}, lifecycle.LIFECYCLE, definitions.SCOPES).problems
    message = next(p["message"] for p in problems if "重叠" in p["message"])
    witness = dict(re.findall(r"([^，\s]+?)=([^，\s]+)", message.split("输入 ")[1].split(" 同时满足")[0]))
    columns = {"是否金磐开发区": "dev_zone", "是否一事一议": "one_case_support", "是否供地": "needs_land", "产业类别": "category", "用地面积(亩)": "land_mu"}
    inputs = {columns[label]: json.loads(value) for label, value in witness.items()}
    collect = overlapping.replace('hitPolicy="UNIQUE"', 'hitPolicy="COLLECT"')
    tiers = DecisionRunner({DMN: collect}).run("approval_tier", inputs)["tier"]
    assert sorted(tiers) == ["T1", "T2"], (inputs, tiers)


def test_a_failing_case_blocks_deploy_and_shows_expected_and_actual(sqlite_db: Database) -> None:
    files = mutated(DMN, lambda t: t.replace(LOWER_20, "<text>&lt;= 25</text>").replace("<text>]20..50]</text>", "<text>]25..50]</text>").replace("<text>&gt; 20</text>", "<text>&gt; 25</text>"))
    problems = refused(sqlite_db, files)
    assert [p["element"] for p in problems] == ["3"]
    assert problems[0]["file"] == CASES
    assert '期望 tier="T2"，实际 tier="T1"' in problems[0]["message"]
    assert "land_mu=20.5" in problems[0]["message"]
    cases = json.loads(files[CASES])
    cases["cases"][2]["expected"]["tier"] = "T1"
    files[CASES] = json.dumps(cases, ensure_ascii=False)
    with sqlite_db.session() as s:
        row, created = definitions.deploy(s, files, lifecycle.LIFECYCLE)
    assert created and row.version == 2


def test_the_shipped_cases_are_the_13_spec_examples() -> None:
    cases = json.loads(BUNDLE[CASES])["cases"]
    assert len(cases) == 13
    runner = DecisionRunner({DMN: BUNDLE[DMN]})
    for case in cases:
        assert runner.run("approval_tier", case["inputs"]) == case["expected"], case["name"]


def test_cases_file_mistakes_are_named() -> None:
    cases = json.loads(BUNDLE[CASES])
    del cases["cases"][0]["inputs"]["land_mu"]
    cases["cases"][1]["inputs"]["land"] = 5
    cases["cases"][2]["expected"] = {"level": "T2"}
    problems = check_bundle({**BUNDLE, CASES: json.dumps(cases)}, lifecycle.LIFECYCLE, definitions.SCOPES).problems
    messages = {p["element"]: p["message"] for p in problems if p["file"] == CASES}
    assert "缺少输入：land_mu" in messages["1"]
    assert "输入 land 不是决策 approval_tier 的输入列变量" in messages["2"]
    assert "期望输出 level 不是决策 approval_tier 的输出列" in messages["3"]


def test_standalone_decision_tables_are_checked_without_a_calling_process() -> None:
    """A rule table no BPMN calls (scoring) is still type- and overlap-checked, but its inputs are its own."""
    scoring = BUNDLE["assessment_scoring.dmn"]
    assert check_bundle(BUNDLE, "assessment_scoring", definitions.SCOPES).problems == []
    broken = scoring.replace('<text>"mfg_7yi"</text>', "<text>7</text>", 1)
    problems = check_bundle({**BUNDLE, "assessment_scoring.dmn": broken}, "assessment_scoring", definitions.SCOPES).problems
    assert any("是数字，与该列的字符串类型不符" in p["message"] for p in problems)


def test_loading_a_deployed_version_skips_the_new_checks(sqlite_db: Database) -> None:
    """Versions deployed earlier keep loading even if today's stricter checks would refuse them."""
    files = mutated(DMN, replace("<text>]30..50]</text>", "<text>[30..50]</text>"))
    with sqlite_db.session() as s:
        row = Definition(process_id=lifecycle.LIFECYCLE, version=9, content_hash="x" * 64, files=files, note="")
        s.add(row)
        s.flush()
        assert definitions.load(s, row.id).user_tasks["confirm_intent"].name == "确认投资意向"


def test_a_form_field_with_a_list_of_types_passes_as_a_variable_of_no_one_kind() -> None:
    """JSON Schema lets a field take several types ("type": ["number", "null"]); the checks accept such a form."""
    name = "forms/approval_form.schema.json"
    schema = json.loads(BUNDLE[name])
    schema["properties"]["note_area"] = {"type": ["number", "null"], "title": "备注面积"}
    files = {**BUNDLE, name: json.dumps(schema, ensure_ascii=False)}
    assert check_bundle(files, lifecycle.LIFECYCLE, definitions.SCOPES).problems == []


def test_a_missing_process_names_the_files_read_and_what_they_hold(sqlite_db: Database) -> None:
    with pytest.raises(DefinitionInvalid) as refused_deploy:
        with sqlite_db.session() as s:
            definitions.deploy(s, BUNDLE, "no_such_process")
    (problem,) = refused_deploy.value.problems
    assert problem["element"] == "no_such_process"
    assert problem["message"].startswith("在 approval_tier.dmn、assessment_scoring.dmn、coordination_item.bpmn、project_lifecycle.bpmn 中找不到")
    assert "流程：coordination_item、project_lifecycle" in problem["message"] and "决策：approval_tier" in problem["message"]
