"""Safe parsing of BPMN/DMN bundles: no DTDs or entities, FEEL cells translated, sandbox applied."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.dmn.parser.DMNParser import DMNParser
from SpiffWorkflow.dmn.specs.model import InputEntry
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.workflow.feel import FeelError, literal_to_python, unary_test_to_python
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


class FeelDMNParser(DMNParser):
    """DMN parser that turns FEEL unary tests and literal outputs into sandboxed Python."""

    def _parse_input_output_element(self, decision_table: Any, element: etree._Element, cls: type, idx: int) -> Any:
        entry = super()._parse_input_output_element(decision_table, element, cls, idx)
        try:
            if cls is InputEntry:
                entry.lhs = [unary_test_to_python(entry.text)]
            elif entry.text:
                entry.text = literal_to_python(entry.text)
        except FeelError as exc:
            column = entry.input.label if cls is InputEntry else entry.output.label
            rule = element.getparent()
            rule_id = rule.get("id") if rule is not None else None
            raise ValidationException(
                f"规则 {rule_id} 的“{column}”列：{exc}", node=element, file_name=self.filename
            ) from exc
        return entry


class ZhikongParser(SpiffBpmnParser):
    """Spiff BPMN parser with the FEEL-aware DMN parser plugged in and multi-instance collections bounded."""

    OVERRIDE_PARSER_CLASSES = bounded_parser_classes(
        {**SpiffBpmnParser.PARSER_CLASSES, **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES}
    )

    def add_dmn_xml(self, node: etree._Element, filename: str | None = None) -> None:
        """Same as BpmnDmnParser.add_dmn_xml but builds a FeelDMNParser."""
        namespaces = self.namespaces.copy()
        namespaces.update(node.nsmap)
        if None in namespaces:
            namespaces["dmn"] = namespaces.pop(None)
        schema = self.dmn_schemas.get(namespaces.get("dmn"))
        if self.validator and schema is not None:
            BpmnValidator(schema).validate(node, filename)
        dmn_parser = FeelDMNParser(self, node, namespaces, filename=filename)
        self.dmn_parsers[dmn_parser.bpmn_id] = dmn_parser
        self.dmn_parsers_by_name[dmn_parser.get_name()] = dmn_parser



def new_parser() -> ZhikongParser:
    """A parser that schema-validates BPMN and DMN."""
    return ZhikongParser(validator=BpmnValidator())
