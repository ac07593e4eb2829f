"""Small DMN 1.3 documents for tests: a decision table, a literal expression, several decisions joined by requirements."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional
from xml.sax.saxutils import escape, quoteattr

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="测试" namespace="http://zhikong/test">\n'


@dataclass
class Out:
    """An output column: name (None for none), typeRef, listed values (PRIORITY order), default entry."""

    name: Optional[str]
    type_ref: str = ""
    values: str = ""
    default: str = ""


@dataclass
class Table:
    """A decision table: input expressions, outputs, rules as (input cells, output cells), input typeRefs by position."""

    inputs: list[str]
    outputs: list[Out]
    rules: list[tuple[list[str], list[str]]]
    policy: str = "UNIQUE"
    aggregation: str = ""
    table_id: Optional[str] = "table"
    types: list[str] = field(default_factory=list)


@dataclass
class D:
    """A decision: id, name, its logic (a Table or FEEL text) and the decisions and inputs it requires."""

    id: str
    logic: "Table | str"
    name: str = ""
    requires: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)


def _table(table: Table, prefix: str) -> str:
    attrs = f' hitPolicy="{table.policy}"' + (f' aggregation="{table.aggregation}"' if table.aggregation else "")
    attrs += f' id="{prefix}{table.table_id}"' if table.table_id else ""
    out = [f"    <decisionTable{attrs}>"]
    for i, expression in enumerate(table.inputs):
        type_ref = f' typeRef="{table.types[i]}"' if i < len(table.types) and table.types[i] else ""
        out.append(f'      <input id="{prefix}in{i}" label={quoteattr(expression)}><inputExpression id="{prefix}ie{i}"{type_ref}>'
                   f'<text>{escape(expression)}</text></inputExpression></input>')
    for i, column in enumerate(table.outputs):
        name = f" name={quoteattr(column.name)}" if column.name is not None else ""
        type_ref = f' typeRef="{column.type_ref}"' if column.type_ref else ""
        inner = f"<outputValues><text>{escape(column.values)}</text></outputValues>" if column.values else ""
        inner += f"<defaultOutputEntry><text>{escape(column.default)}</text></defaultOutputEntry>" if column.default else ""
        out.append(f'      <output id="{prefix}out{i}"{name}{type_ref}>{inner}</output>')
    for r, (cells, outputs) in enumerate(table.rules, start=1):
        out.append(f'      <rule id="{prefix}r{r}">')
        out += [f'        <inputEntry id="{prefix}r{r}i{i}"><text>{escape(c)}</text></inputEntry>' for i, c in enumerate(cells)]
        out += [f'        <outputEntry id="{prefix}r{r}o{i}"><text>{escape(c)}</text></outputEntry>' for i, c in enumerate(outputs)]
        out.append("      </rule>")
    out.append("    </decisionTable>")
    return "\n".join(out)


def dmn(*decisions: D, input_data: tuple[str, ...] = ()) -> str:
    """A DMN file holding the decisions (and input data elements named `input_data`)."""
    body = []
    for d in decisions:
        body.append(f'  <decision id="{d.id}" name={quoteattr(d.name or d.id)}>')
        body += [f'    <informationRequirement id="{d.id}_req_{r}"><requiredDecision href="#{r}"/></informationRequirement>' for r in d.requires]
        body += [f'    <informationRequirement id="{d.id}_inp_{i}"><requiredInput href="#input_{i}"/></informationRequirement>' for i in d.inputs]
        if isinstance(d.logic, Table):
            body.append(_table(d.logic, "" if len(decisions) == 1 else f"{d.id}_"))
        else:
            body.append(f'    <literalExpression id="{d.id}_lx"><text>{escape(d.logic)}</text></literalExpression>')
        body.append("  </decision>")
    body += [f'  <inputData id="input_{name}" name={quoteattr(name)}/>' for name in input_data]
    return HEAD + "\n".join(body) + "\n</definitions>\n"


def single(table: Table, decision_id: str = "d", name: str = "") -> str:
    """A file with one table decision."""
    return dmn(D(decision_id, table, name))
