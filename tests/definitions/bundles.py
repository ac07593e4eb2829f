"""Helpers for definition tests: the shipped bundle, edited copies, versions deployed as an official."""
from __future__ import annotations

from typing import Callable, Optional

from lxml import etree
from sqlalchemy import select

from engine.projects import lifecycle
from engine.workflow import definitions
from engine.platform.config import PROJECT_ROOT
from engine.platform.db import Database
from engine.platform.models import Definition, User

BUNDLE = definitions.read_bundle(PROJECT_ROOT / "bpmn")
BPMN, DMN, CASES = "project_lifecycle.bpmn", "approval_tier.dmn", "approval_tier.cases.json"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BILLION_LAUGHS_BPMN = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>\n<definitions>&lol3;</definitions>'
)
RAISE_20_TO_25 = (
    ("<text>&lt;= 20</text>", "<text>&lt;= 25</text>"),
    ("<text>]20..50]</text>", "<text>]25..50]</text>"),
    ("<text>&gt; 20</text>", "<text>&gt; 25</text>"),
)


def edited(name: str, change: Callable[[str], str], files: Optional[dict[str, str]] = None) -> dict[str, str]:
    """A copy of the bundle with one file changed."""
    result = dict(files or BUNDLE)
    result[name] = change(result[name])
    assert result[name] != (files or BUNDLE)[name]
    return result


def renamed(old: str, new: str, due: Optional[tuple[str, str]] = None) -> Callable[[str], str]:
    """Rename a task (and optionally change one dueIn value)."""
    def change(text: str) -> str:
        text = text.replace(f'name="{old}"', f'name="{new}"', 1)
        if due:
            text = text.replace(f'name="dueIn" value="{due[0]}"', f'name="dueIn" value="{due[1]}"', 1)
        return text
    return change


def without_feasibility(text: str) -> str:
    """The lifecycle with the feasibility review (task, gateway, its end and flows) cut out."""
    root = etree.fromstring(text.encode("utf-8"))
    gone = {"feasibility_review", "gw_feasibility", "end_feasibility_failed", "f_feasibility_done", "f_feasibility_pass",
            "f_feasibility_renegotiate", "f_feasibility_fail"}
    for element in list(root.iter(etree.Element)):
        if element.get("id") in gone or element.get("bpmnElement") in gone or (element.text or "").strip() in gone:
            element.getparent().remove(element)
    flow = root.find(f".//{{{BPMN_NS}}}sequenceFlow[@id='f_intent_yes']")
    flow.set("targetRef", "fill_approval_form")
    target = root.find(f".//{{{BPMN_NS}}}userTask[@id='fill_approval_form']")
    last_incoming = target.findall(f"{{{BPMN_NS}}}incoming")[-1]
    incoming = etree.Element(f"{{{BPMN_NS}}}incoming")
    incoming.text = "f_intent_yes"
    last_incoming.addnext(incoming)
    return etree.tostring(root, encoding="unicode")


def deploy(db: Database, files: dict[str, str], by: str = "bangongshi") -> Definition:
    with db.session() as s:
        actor = s.scalars(select(User).where(User.username == by)).one()
        row, created = definitions.deploy(s, files, lifecycle.LIFECYCLE, deployed_by=actor.id)
        assert created
        s.expunge(row)
        return row
