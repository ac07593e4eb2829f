"""parse_xml, the only way BPMN/DMN text becomes a tree: no DTDs, no entities, no network, a size limit."""
from __future__ import annotations

import pytest

from engine.workflow.parser import MAX_FILE_BYTES, XmlRefused, parse_xml

LAUGHS = "".join(f'<!ENTITY lol{i} "{"&lol%d;" % (i - 1) * 10}">' for i in range(1, 10))
HOSTILE = [
    ("billion laughs", f'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY lol0 "lol">{LAUGHS}]><l>&lol9;</l>', "不允许 DOCTYPE 或实体声明"),
    ("external entity", '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>', "不允许 DOCTYPE 或实体声明"),
    ("parameter entity", '<!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><d/>', "不允许 DOCTYPE 或实体声明"),
    ("external DTD", '<!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd"><d/>', "不允许 DOCTYPE"),
    ("DOCTYPE after a long comment", "<!--" + "x" * 5000 + '--><!DOCTYPE d SYSTEM "file:///etc/passwd"><d/>', "不允许 DOCTYPE"),
    ("entity hidden after a long comment", "<!--" + "x" * 5000 + '--><!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>', "不允许 DOCTYPE 或实体声明"),
    ("broken XML", "<definitions>\n  <process>\n</definitions>", "XML 格式错误（第3行）"),
    ("not XML at all", "hello", "XML 格式错误"),
    ("too large", "<d>" + "x" * (MAX_FILE_BYTES + 1) + "</d>", "KB 上限"),
]


@pytest.mark.parametrize("label,text,message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_or_broken_xml_is_refused(label: str, text: str, message: str) -> None:
    with pytest.raises(XmlRefused) as err:
        parse_xml(text, "x.bpmn")
    assert message in str(err.value) and "x.bpmn" in str(err.value)


def test_plain_xml_parses() -> None:
    root = parse_xml('<?xml version="1.0" encoding="UTF-8"?><definitions id="d"><process id="p"/></definitions>', "x.bpmn")
    assert root.get("id") == "d" and root[0].get("id") == "p"
