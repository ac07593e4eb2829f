"""Safe parsing of BPMN/DMN bundles: no DTDs or entities, every decision of a DMN file read and compiled for the sandbox."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.workflow.decide import DecisionEngine, Graph
from engine.workflow.drg import read_file
from engine.workflow.sandbox.bounded import bounded_parser_classes

MAX_FILE_BYTES = 2 * 1024 * 1024

_SAFE_XML = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False
)


class XmlRefused(ValueError):
    """The XML is malformed, too large, or declares a DOCTYPE/entities."""


def parse_xml(content: str | bytes, filename: str) -> etree._Element:
    """Parse XML refusing DOCTYPE and entity declarations (no XXE, no entity bombs)."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    if len(raw) > MAX_FILE_BYTES:
        raise XmlRefused(f"{filename}: 文件超过 {MAX_FILE_BYTES // 1024} KB 上限")
    head = raw[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in raw.upper():
        raise XmlRefused(f"{filename}: 不允许 DOCTYPE 或实体声明（XML 外部实体与实体膨胀攻击防护）")
    try:
        root = etree.fromstring(raw, parser=_SAFE_XML)
    except etree.XMLSyntaxError as exc:
        raise XmlRefused(f"{filename}: XML 格式错误（第{exc.lineno}行）：{exc.msg}") from exc
    if root.getroottree().docinfo.doctype:
        raise XmlRefused(f"{filename}: 不允许 DOCTYPE 声明")
    return root


def parsed_files(files: dict[str, str], suffixes: str | tuple[str, ...]) -> Iterator[tuple[str, str, etree._Element]]:
    """(name, text, root) of each well-formed, safe file ending in `suffixes`, in name order; refused ones are skipped."""
    for name, text in sorted(files.items()):
        if not name.endswith(suffixes):
            continue
        try:
            root = parse_xml(text, name)
        except XmlRefused:
            continue
        yield name, text, root


class ZhikongParser(SpiffBpmnParser):
    """Spiff BPMN parser with the FEEL-aware DMN parser plugged in and multi-instance collections bounded."""

    OVERRIDE_PARSER_CLASSES = bounded_parser_classes(
        {**SpiffBpmnParser.PARSER_CLASSES, **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES}
    )

    def add_dmn_xml(self, node: etree._Element, filename: str | None = None) -> None:
        """Read every decision of a DMN file (schema-validated when its DMN version is known); refusals name the decision."""
        namespaces = self.namespaces.copy()
        namespaces.update(node.nsmap)
        if None in namespaces:
            namespaces["dmn"] = namespaces.pop(None)
        schema = self.dmn_schemas.get(namespaces.get("dmn"))
        if self.validator and schema is not None:
            BpmnValidator(schema).validate(node, filename)
        decisions, problems = read_file(node, filename or "")
        if problems:
            raise ValidationException(problems[0].message, file_name=filename, id=problems[0].element)
        for decision in decisions:
            self.dmn_parsers[decision.id] = decision
            self.dmn_parsers_by_name[decision.name] = decision
        self.graph: Graph | None = None

    def get_engine(self, decision_ref: str, node: Any) -> DecisionEngine:
        """The engine a business rule task calls: any decision of the bundle, with the decisions it requires."""
        if decision_ref not in self.dmn_parsers:
            known = "、".join(sorted(self.dmn_parsers)) or "（无）"
            raise ValidationException(f"业务规则任务引用的决策“{decision_ref}”不存在（已有决策：{known}）", node=node, file_name="")
        graph = getattr(self, "graph", None)
        if graph is None:
            graph = self.graph = Graph(list(self.dmn_parsers.values()))
        return DecisionEngine(graph, decision_ref)



def new_parser() -> ZhikongParser:
    """A parser that schema-validates BPMN and DMN."""
    return ZhikongParser(validator=BpmnValidator())
