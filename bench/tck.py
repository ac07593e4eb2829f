"""Runs the public DMN TCK's compliance-level-2 models through `zhikong deploy`, each with its own test cases.

Each model's TCK test file is written as NAME.cases.json next to NAME.dmn in a copy of the
shipped bpmn/ directory, and that directory is deployed with the model's decision as the
process, as a process owner would deploy a standalone decision; deploy runs the cases and
refuses the bundle if one fails. Prints, per model, deployed or the refusal, and the totals.
The TCK is not part of this repository: pass the directory of a checkout of dmn-tck/tck.

Run: `.venv/bin/python bench/tck.py PATH/TO/tck/TestCases/compliance-level-2`.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.workflow.drg import namespace  # noqa: E402
from zhikong import cli  # noqa: E402

TC = "{http://www.omg.org/spec/DMN/20160719/testcase}"
XSI = "{http://www.w3.org/2001/XMLSchema-instance}"


def value_of(node: etree._Element) -> Any:
    """A TCK value node (value, component list, list of items) as JSON data."""
    value = node.find(f"{TC}value")
    if value is not None:
        if value.get(f"{XSI}nil") == "true":
            return None
        kind = value.get(f"{XSI}type", "")
        text = value.text or ""
        if kind.endswith("decimal") or kind.endswith("double") or kind.endswith("integer"):
            number = Decimal(text)
            return int(number) if number == number.to_integral_value() else float(text)
        if kind.endswith("boolean"):
            return text.strip() == "true"
        return text
    items = node.find(f"{TC}list")
    if items is not None:
        return [value_of(item) for item in items.findall(f"{TC}item")]
    components = node.findall(f"{TC}component")
    if components:
        return {c.get("name"): value_of(c) for c in components}
    return None


def cases_of(test_file: Path, dmn_root: etree._Element) -> dict[str, Any]:
    """The TCK test file as a cases file: inputs by input data name, expected results by decision name."""
    root = etree.parse(str(test_file)).getroot()
    ns = namespace(dmn_root)
    decisions = dmn_root.findall("dmn:decision", ns)
    required = {(r.get("href") or "").lstrip("#") for r in dmn_root.iterfind(".//dmn:requiredDecision", ns)}
    tops = [d for d in decisions if d.get("id") not in required] or decisions
    cases = []
    for case in root.findall(f"{TC}testCase"):
        inputs = {node.get("name"): value_of(node) for node in case.findall(f"{TC}inputNode")}
        expected = {}
        for node in case.findall(f"{TC}resultNode"):
            found = node.find(f"{TC}expected")
            expected[node.get("name")] = value_of(found) if found is not None else None
        cases.append({"name": f"TCK {case.get('id')}", "inputs": inputs, "expected": expected})
    return {"decision": tops[0].get("id"), "cases": cases}


def run_model(model: Path, shipped: Path, database: Path) -> tuple[bool, int, str]:
    """Deploy one model with its cases; (deployed, number of cases, what zhikong deploy printed)."""
    root = etree.parse(str(model)).getroot()
    cases: dict[str, Any] = {"cases": []}
    for test_file in sorted(model.parent.glob(f"{model.stem}-test-*.xml")):
        more = cases_of(test_file, root)
        cases["decision"] = more["decision"]
        cases["cases"] += more["cases"]
    with tempfile.TemporaryDirectory() as work:
        bundle = Path(work) / "bundle"
        shutil.copytree(shipped, bundle)
        shutil.copy(model, bundle / model.name)
        (bundle / f"{model.stem}.cases.json").write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["deploy", str(bundle), "--process", str(cases.get("decision"))])
    return code == 0, len(cases["cases"]), (out.getvalue() + err.getvalue()).strip()


def main() -> None:
    """Deploy every model under the given directory and print the outcome of each."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("tck", type=Path, help="TestCases/compliance-level-2 of a dmn-tck/tck checkout")
    args = parser.parse_args()
    shipped = Path(__file__).resolve().parent.parent / "bpmn"
    with tempfile.TemporaryDirectory() as work:
        database = Path(work) / "tck.db"
        import os

        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
        with contextlib.redirect_stdout(io.StringIO()):
            cli.main(["init-db"])
        passed = failed = cases_passed = cases_failed = 0
        for model in sorted(args.tck.glob("*/*.dmn")):
            ok, count, said = run_model(model, shipped, database)
            if ok:
                passed += 1
                cases_passed += count
            else:
                failed += 1
                cases_failed += count
            print(f"{'通过' if ok else '未通过'}  {model.stem}  用例 {count}  {'' if ok else said[:600]}")
    print(f"\n模型 {passed + failed} 个：通过 {passed}，未通过 {failed}；用例 {cases_passed + cases_failed} 个：通过 {cases_passed}，所在模型未通过 {cases_failed}")


if __name__ == "__main__":
    main()
