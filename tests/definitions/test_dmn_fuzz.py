"""Malformed and unusual DMN never ends in a traceback: deploy, the command line and the web upload give clear
Chinese refusals naming the file (and the decision or element), or run the file."""
from __future__ import annotations

import io
import random
import re
from typing import Callable

import pytest
from flask.testing import FlaskClient
from lxml import etree

from engine.platform.errors import DefinitionInvalid
from engine.projects import lifecycle
from engine.workflow import definitions
from tests.definitions.bundles import BUNDLE, DMN
from tests.definitions.dmn_builder import D, Out, Table, dmn, single

CHINESE = re.compile(r"[\u4e00-\u9fff]")
SCORING = "assessment_scoring.dmn"

UNUSUAL: list[tuple[str, str]] = [
    ("table without id", single(Table(["x"], [Out("y")], [(["1"], ['"a"'])], table_id=None))),
    ("empty table", single(Table([], [], []))),
    ("table without rules", single(Table(["x"], [Out("y")], []))),
    ("unknown hit policy", single(Table(["x"], [Out("y")], [(["1"], ['"a"'])], "SOMETIMES"))),
    ("aggregation without COLLECT", single(Table(["x"], [Out("y")], [(["1"], ["1"])], "FIRST", "SUM"))),
    ("unknown aggregation", single(Table(["x"], [Out("y")], [(["1"], ["1"])], "COLLECT", "AVG"))),
    ("aggregation over two outputs", single(Table(["x"], [Out("y"), Out("z")], [(["1"], ["1", "2"])], "COLLECT", "SUM"))),
    ("two unnamed outputs", single(Table(["x"], [Out(None), Out(None)], [(["1"], ["1", "2"])]))),
    ("rule with too few cells", single(Table(["x", "y"], [Out("z")], [(["1"], ["1"])]))),
    ("unterminated string cell", single(Table(["x"], [Out("y")], [(['"abc'], ["1"])]))),
    ("python in an output", single(Table(["x"], [Out("y")], [(["1"], ["__import__('os').system('id')"])]))),
    ("python in an input expression", single(Table(["().__class__"], [Out("y")], [(["1"], ["1"])]))),
    ("deeply nested FEEL", dmn(D("d", "(" * 300 + "1" + ")" * 300))),
    ("empty literal expression", dmn(D("d", ""))),
    ("garbage literal expression", dmn(D("d", "1 + + ) ("))),
    ("unknown function", dmn(D("d", "launch missiles(1)"))),
    ("instance of", dmn(D("d", "1 instance of number"))),
    ("cycle of two", dmn(D("a", "b + 1", "a", requires=["b"]), D("b", "a + 1", "b", requires=["a"]))),
    ("self requirement", dmn(D("a", "1", "a", requires=["a"]))),
    ("missing required decision", dmn(D("a", "1", "a", requires=["nowhere"]))),
    ("missing required input", dmn(D("a", "1", "a", inputs=["nothing"]))),
    ("huge table", single(Table(["x"], [Out("y")], [([f"{i}"], [f"{i}"]) for i in range(1000)], "FIRST"))),
    ("huge literal list", dmn(D("d", "[" + ", ".join(str(i) for i in range(20000)) + "]"))),
    ("endless loop in FEEL", dmn(D("d", "for i in 1..100000000 return i"))),
    ("string bomb in FEEL", dmn(D("d", 'string join(for i in 1..100000 return "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "")'))),
    ("several decisions and no cases", dmn(D("a", "1", "A"), D("b", "A + 1", "B", requires=["a"]))),
    ("context logic", dmn(D("d", "1")).replace('<literalExpression id="d_lx"><text>1</text></literalExpression>',
                                               '<context><contextEntry><variable name="x"/><literalExpression><text>1</text></literalExpression></contextEntry></context>')),
    ("business knowledge model", dmn(D("d", "1")).replace('<decision id="d" name="d">',
                                                          '<decision id="d" name="d"><knowledgeRequirement><requiredKnowledge href="#bkm"/></knowledgeRequirement>')),
    ("decision without logic", dmn(D("d", "1")).replace('<literalExpression id="d_lx"><text>1</text></literalExpression>', "")),
    ("decision without id", dmn(D("d", "1")).replace('<decision id="d"', "<decision")),
    ("no decisions", dmn()),
    ("not DMN at all", "<html><body>hello</body></html>"),
    ("DMN 1.2 namespace", single(Table(["x"], [Out("y")], [(["1"], ['"a"'])])).replace("20191111", "20180521")),
    ("DMN 1.5 namespace", single(Table(["x"], [Out("y")], [(["1"], ['"a"'])])).replace("https://www.omg.org/spec/DMN/20191111/MODEL/", "https://www.omg.org/spec/DMN/20230324/MODEL/")),
    ("broken XML", "<definitions><decision"),
    ("names with spaces and slashes", single(Table(["Employment Status"], [Out("Approved/Declined")], [(['"EMPLOYED"'], ['"Approved"'])]))),
    ("typeRef of an item definition", single(Table(["x"], [Out("y", "tApproval")], [(["1"], ['"a"'])]))),
    ("FEEL output cell", single(Table(["x"], [Out("y")], [(["-"], ["x * 2"])]))),
]


def mutations(seed: int, count: int) -> list[tuple[str, str]]:
    """The shipped scoring table with random elements or attributes removed, duplicated or emptied."""
    rng = random.Random(seed)
    found = []
    for index in range(count):
        root = etree.fromstring(BUNDLE[SCORING].encode())
        elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
        target = rng.choice(elements)
        action = rng.choice(["remove", "attributes", "text", "duplicate"])
        if action == "remove" and target.getparent() is not None:
            target.getparent().remove(target)
        elif action == "attributes":
            target.attrib.clear()
        elif action == "text":
            target.text = rng.choice(["", "?", "-", "null", "]1..", "{", "\u0000".replace("\u0000", "")])
        elif target.getparent() is not None:
            target.getparent().append(etree.fromstring(etree.tostring(target)))
        found.append((f"mutation {index}: {action} {etree.QName(target).localname}", etree.tostring(root, encoding="unicode")))
    return found


CORPUS = UNUSUAL + mutations(19, 25)
WEB = [c for c in UNUSUAL if c[0] in ("table without id", "empty table", "unknown hit policy", "python in an output", "cycle of two", "context logic", "decision without id", "not DMN at all", "broken XML", "huge table")]


def _refusal_is_clear(problems: list[dict[str, str]]) -> None:
    assert problems
    for p in problems:
        assert p.get("file") or "找不到流程或决策" in p["message"], p
        assert CHINESE.search(p["message"]), p
        assert "Traceback" not in p["message"] and "KeyError" not in p["message"], p


@pytest.mark.parametrize("label,text", CORPUS, ids=[c[0] for c in CORPUS])
def test_deploy_runs_or_refuses_clearly(label: str, text: str) -> None:
    for files, process in (({**BUNDLE, SCORING: text}, "assessment_scoring"), ({**BUNDLE, "extra.dmn": text}, lifecycle.LIFECYCLE)):
        try:
            definitions.build(files, process, strict=True)
        except DefinitionInvalid as exc:
            _refusal_is_clear(exc.problems)


REFUSALS: list[tuple[str, Callable[[str], bool]]] = [
    ("cycle of two", lambda m: "循环依赖" in m and "“a”" in m and "“b”" in m),
    ("self requirement", lambda m: "循环依赖" in m),
    ("missing required decision", lambda m: "nowhere" in m and "“a”" in m),
    ("context logic", lambda m: "上下文（context）" in m and "“d”" in m),
    ("business knowledge model", lambda m: "业务知识模型“bkm”" in m),
    ("unknown hit policy", lambda m: "SOMETIMES" in m),
    ("aggregation over two outputs", lambda m: "只能有一个输出列" in m),
    ("decision without id", lambda m: "没有 id" in m),
    ("instance of", lambda m: "instance of" in m and "“d”" in m),
]


@pytest.mark.parametrize("label,says", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_decision_and_the_feature(label: str, says: Callable[[str], bool]) -> None:
    text = dict(UNUSUAL)[label]
    with pytest.raises(DefinitionInvalid) as err:
        definitions.build({**BUNDLE, "extra.dmn": text}, lifecycle.LIFECYCLE, strict=True)
    assert any(p["file"] == "extra.dmn" and says(p["message"]) for p in err.value.problems), err.value.problems


def test_a_table_without_id_deploys_and_runs() -> None:
    text = single(Table(["x"], [Out("y")], [(["1"], ['"a"']), (["-"], ['"b"'])], "FIRST", table_id=None))
    cases = '{"decision": "d", "cases": [{"name": "一", "inputs": {"x": 1}, "expected": {"y": "a"}}]}'
    loaded = definitions.build({**BUNDLE, "extra.dmn": text, "extra.cases.json": cases}, "d", strict=True)
    assert loaded.is_decision


@pytest.mark.parametrize("label,text", WEB, ids=[c[0] for c in WEB])
def test_web_upload_and_validate_refuse_clearly(client: FlaskClient, owner: str, label: str, text: str) -> None:
    base = "/definitions/project_lifecycle"
    response = client.post(
        f"{base}/upload",
        data={"csrf_token": owner, "file": (io.BytesIO(text.encode()), "extra.dmn")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (303, 422), response.get_data(as_text=True)[:500]
    checked = client.post(f"{base}/validate", json={"files": {}}, headers={"X-CSRFToken": owner})
    assert checked.status_code in (200, 422), checked.get_data(as_text=True)[:500]
    if checked.status_code == 422:
        _refusal_is_clear(checked.json["problems"])


def test_the_shipped_tier_file_still_deploys() -> None:
    definitions.build(dict(BUNDLE), lifecycle.LIFECYCLE, strict=True)
    assert DMN in BUNDLE
