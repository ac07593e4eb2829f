"""Hostile expressions in every element kind are refused at deploy or stopped within their limit at run time, never running code."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from engine.projects import lifecycle
from engine.workflow import definitions, forms, runtime, sandbox
from engine.platform.db import Database
from engine.platform.errors import DefinitionInvalid, InvalidInput, LimitExceeded, SandboxViolation
from engine.platform.models import Definition, Instance, Project
from engine.workflow.sandbox import SCRIPT_ENGINE, Limits
from tests.conftest import INTENT, Helper
from tests.security import helpers as H

BOUND = 5.0
"""Generous bound, in CPU seconds of the thread that runs it (what the sandbox counts; a busy machine does not count), for a case stopped at run time (limits: 0.1 s per expression, 1 s per script)."""


@dataclass(frozen=True)
class Placed:
    """A hostile text put into a copy of the bundle: where deploy must name it, and which element runs it."""

    files: dict[str, str]
    file: str
    element: str
    runs_as: str
    mode: str | None
    complete: dict[str, dict[str, Any]] = field(default_factory=dict)


def _bpmn(files: dict[str, str], element: str, mode: str | None, runs_as: str | None = None,
          complete: dict[str, dict[str, Any]] | None = None) -> Placed:
    return Placed(files, H.BPMN, element, runs_as or element, mode, complete or {})


def _dmn(name: str, element: str, text: str, mode: str | None) -> Placed:
    return Placed(H.set_dmn_text(name, element, text), name, element, "decide_tier", mode)


KINDS: dict[str, Callable[[str], Placed]] = {
    "flow-condition": lambda t: _bpmn(H.set_flow_condition("f_intent_yes", t), "f_intent_yes", "eval", "gw_intent",
                                      {"confirm_intent": INTENT}),
    "conditional-event": lambda t: _bpmn(H.conditional_event(t), "zk_conditional", "eval"),
    "loop-condition": lambda t: _bpmn(H.standard_loop(t), "zk_loop", "eval"),
    "loop-maximum": lambda t: _bpmn(H.standard_loop(None, int(t)), "zk_loop", None),
    "mi-cardinality": lambda t: _bpmn(H.multi_instance(t), "zk_mi", "eval"),
    "mi-completion": lambda t: _bpmn(H.multi_instance("2", completion=t), "zk_mi", "eval"),
    "mi-collection": lambda t: _bpmn(H.multi_instance(None, data_input=t), "zk_mi", None),
    "timer-date": lambda t: _bpmn(H.timer_event("timeDate", t), "zk_timer", "eval"),
    "timer-duration": lambda t: _bpmn(H.timer_event("timeDuration", t), "zk_timer", "eval"),
    "timer-cycle": lambda t: _bpmn(H.timer_event("timeCycle", t), "zk_timer", "eval"),
    "script": lambda t: _bpmn(H.script_task(t), "zk_script", "exec"),
    "pre-script": lambda t: _bpmn(H.user_task_scripts("confirm_intent", pre=t), "confirm_intent", "exec"),
    "post-script": lambda t: _bpmn(H.user_task_scripts("confirm_intent", post=t), "confirm_intent", "exec",
                                   complete={"confirm_intent": INTENT}),
    "service-parameter": lambda t: _bpmn(H.service_task(t), "zk_service", "eval"),
    "message-correlation": lambda t: _bpmn(H.message_catch(t), "zk_message", "eval"),
    "ad-hoc-completion": lambda t: _bpmn(H.ad_hoc(t), "zk_ad_hoc", "eval"),
    "tier-input": lambda t: _dmn(H.TIER_DMN, "input_land_mu", t, "eval"),
    "tier-entry": lambda t: _dmn(H.TIER_DMN, "rule_2_in_5", t, None),
    "tier-output": lambda t: _dmn(H.TIER_DMN, "rule_1_out", t, None),
    "scoring-input": lambda t: _dmn(H.SCORING_DMN, "input_event", t, "eval"),
    "scoring-entry": lambda t: _dmn(H.SCORING_DMN, "score_rule_1_event", t, None),
    "scoring-output": lambda t: _dmn(H.SCORING_DMN, "score_rule_1_rule", t, None),
    "plain-task": lambda t: _bpmn(H.plain_task(), "zk_task", None),
    "service-task": lambda t: _bpmn(H.service_task(t), "zk_service", "eval"),
    "nested-multi-instance": lambda t: _bpmn(H.nested_multi_instance(*map(int, t.split("x"))), "zk_nested", None),
    "growing-state": lambda t: Placed(H.growing_state(int(t)), H.BPMN, "zk_grow", "", None),  # the whole advance is refused
}
"""Element kind → how a text is put into the bundle (mode: how the sandbox would run it, None for non-Python text)."""


@dataclass(frozen=True)
class Case:
    """One hostile text in one element kind and how it must end."""

    name: str
    category: str
    kind: str
    text: str
    outcome: str
    limit: str = ""
    error_type: str = "LimitExceeded"
    hole: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    limits: Limits | None = None

    @property
    def code(self) -> bool:
        """Whether the text tries to reach code (and names the proof file)."""
        return "{proof}" in self.text

    def param(self) -> Any:
        marks = [pytest.mark.xfail(strict=True, reason=self.hole)] if self.hole else []
        return pytest.param(self, id=f"{self.category}-{self.kind}-{self.name}", marks=marks)


D, R, I = "deploy", "runtime", "isolated"  # noqa: E741 - the outcome column of the case table
STAR_RANGES = "r = range(10**5)\nx = len([" + "*r, " * 300 + "])"

CASES = [
    # Frame walks: generators, coroutines, async generators, decorators, tracebacks.
    Case("generator-gi_frame-builtins", "frame", "flow-condition",
         "(x for x in [1]).gi_frame.f_back.f_builtins['__import__']('os').system('touch {proof}') == 0", D),
    Case("generator-frame-globals", "frame", "script",
         "g = (x for x in [1])\nb = g.gi_frame.f_globals['__builtins__']\nb['open']('{proof}', 'w')", D),
    Case("coroutine-cr_frame", "frame", "script",
         "async def f():\n    pass\nc = f()\nc.cr_frame.f_builtins['open']('{proof}', 'w')", D),
    Case("async-generator-ag_frame", "frame", "pre-script",
         "async def g():\n    yield 1\na = g()\na.ag_frame.f_back.f_builtins['open']('{proof}', 'w')", D),
    Case("async-comprehension-ag_frame", "frame", "mi-completion",
         "(x async for x in zk_items).ag_frame.f_builtins['open']('{proof}', 'w') is None", D),
    Case("decorator-globals", "frame", "post-script",
         "def d(f):\n    return f.__globals__['__builtins__']['open']('{proof}', 'w')\n@d\ndef h():\n    pass", D),
    Case("caught-traceback-frame", "frame", "script",
         "try:\n    1 / 0\nexcept Exception as e:\n    e.__traceback__.tb_frame.f_back.f_builtins['open']('{proof}', 'w')", D),
    Case("lambda-globals", "frame", "loop-condition",
         "(lambda: 0).__globals__['__builtins__']['__import__']('os').system('touch {proof}') == 0", D),
    Case("generator-gi_code", "frame", "conditional-event",
         "len((x for x in [1]).gi_code.co_consts) > 0 or open('{proof}', 'w')", D),
    Case("walrus-generator", "frame", "timer-date",
         "[g := (x for x in [1]), g.gi_frame.f_builtins['open']('{proof}', 'w')][0]", D),
    Case("generator-throw", "frame", "timer-cycle", "(x for x in [open('{proof}', 'w')]).throw(Exception)", D),
    Case("generator-frame-in-decision-input", "frame", "tier-input",
         "(x for x in [1]).gi_frame.f_builtins['open']('{proof}', 'w')", D),
    Case("generator-frame-in-unused-table", "frame", "scoring-input",
         "(x for x in [1]).gi_frame.f_builtins['open']('{proof}', 'w')", D),
    Case("generator-frame-in-service-parameter", "frame", "service-parameter",
         "(x for x in [1]).gi_frame.f_builtins['open']('{proof}', 'w')", D),
    # str.format, % and f-string attribute walks and width bombs.
    Case("str-format-class-walk", "format", "flow-condition",
         "'{0.__class__.__base__.__subclasses__}'.format(1) != '' or open('{proof}', 'w')", D),
    Case("format-map-globals", "format", "script",
         "s = '{0.__init__.__globals__[__builtins__]}'.format_map({'0': project_name})\nopen('{proof}', 'w')", D),
    Case("percent-width-bomb", "format", "flow-condition", "'%*s' % (10**10, '') == ''", R,
         "不允许用 % 格式化文本", "SandboxViolation"),
    Case("percent-mapping", "format", "pre-script", "s = '%(a)s' % {'a': project_name}", R,
         "不允许用 % 格式化文本", "SandboxViolation"),
    Case("f-string-nested-width", "format", "script", "s = f'{project_name:>{10**10}}'", D),
    Case("f-string-literal-width", "format", "timer-duration", "f'{project_name:99999999999}'", D),
    Case("f-string-four-digit-width", "format", "mi-cardinality", "len(f'{1:9999}')", D),
    Case("f-string-conversion-walk", "format", "post-script", "s = f'{project_name.__class__!r}'\nopen('{proof}', 'w')", D),
    Case("f-string-spec-attribute", "format", "conditional-event",
         "f'{1:{project_name.__class__}}' == '' or open('{proof}', 'w')", D),
    Case("format-builtin-width", "format", "loop-condition", "format(1, '>10000000000') == ''", D),
    Case("format-in-decision-output", "format", "tier-output", '"{0.__class__}".format(open("{proof}", "w"))', D),
    Case("format-in-unused-table-input", "format", "scoring-input", "'{0.__class__}'.format(event) or open('{proof}', 'w')", D),
    # __class__/__subclasses__, getattr through data, vars, dir, type, match class patterns, imports.
    Case("subclasses-to-open", "reflection", "flow-condition",
         "().__class__.__bases__[0].__subclasses__()[0].__init__.__globals__['__builtins__']['open']('{proof}', 'w') is None", D),
    Case("getattr-through-dict", "reflection", "script",
         "d = {'g': getattr}\nx = d['g'](project_name, '__class__')\nopen('{proof}', 'w')", D),
    Case("getattr-through-list", "reflection", "mi-completion",
         "[getattr][0](project_name, '__class__') is None or open('{proof}', 'w')", D),
    Case("vars-builtins", "reflection", "timer-cycle", "vars()['__builtins__']['open']('{proof}', 'w')", D),
    Case("dir-walk", "reflection", "scoring-input", "dir(event) or open('{proof}', 'w')", D),
    Case("type-three-arguments", "reflection", "script", "T = type('T', (), {'f': open})\nt = T().f('{proof}', 'w')", D),
    Case("match-class-pattern", "reflection", "script",
         "match project_name:\n    case str(__reduce_ex__=r):\n        r(2)\nopen('{proof}', 'w')", D),
    Case("globals-open", "reflection", "pre-script", "globals()['__builtins__']['open']('{proof}', 'w')", D),
    Case("builtins-name", "reflection", "flow-condition", "__builtins__['open']('{proof}', 'w') is None", D),
    Case("import-statement", "reflection", "script", "import os\nos.system('touch {proof}')", D),
    Case("dunder-import", "reflection", "loop-condition", "__import__('os').system('touch {proof}') == 0", D),
    Case("eval-string", "reflection", "mi-cardinality", "eval(\"__import__('os').system('touch {proof}')\")", D),
    Case("exec-compile", "reflection", "timer-date", "exec(compile(\"open('{proof}', 'w')\", 's', 'exec'))", D),
    Case("open-for-duration", "reflection", "timer-duration", "open('{proof}', 'w').write('P1D')", D),
    Case("bound-method-self", "reflection", "post-script",
         "s = project_name.upper.__self__.__class__.__base__.__subclasses__()\nopen('{proof}', 'w')", D),
    Case("type-mro", "reflection", "conditional-event", "str.mro()[1].__subclasses__() == [] or open('{proof}', 'w')", D),
    Case("setattr", "reflection", "script", "setattr(project_name, 'a', open('{proof}', 'w'))", D),
    Case("attribute-assignment", "reflection", "script", "l = []\nl.append = open\nl.append('{proof}', 'w')", D),
    Case("with-open", "reflection", "script", "with open('{proof}', 'w') as f:\n    pass", D),
    Case("class-definition", "reflection", "post-script", "class A:\n    x = open('{proof}', 'w')", D),
    Case("import-in-service-parameter", "reflection", "service-parameter", "__import__('os').system('touch {proof}')", D),
    Case("import-in-ad-hoc-completion", "reflection", "ad-hoc-completion",
         "__import__('os').system('touch {proof}') == 0", D),
    Case("import-in-message-correlation", "reflection", "message-correlation",
         "__import__('os').system('touch {proof}')", D),
    Case("python-in-decision-input-entry", "reflection", "tier-entry", '__import__("os").system("touch {proof}")', D),
    Case("python-in-decision-output", "reflection", "tier-output", 'open("{proof}", "w")', D),
    Case("question-mark-python-in-unused-entry", "reflection", "scoring-entry", '? == "signed" or open("{proof}", "w")', D),
    Case("python-in-unused-output", "reflection", "scoring-output", '__import__("os").system("touch {proof}")', D),
    # Fullwidth and escaped identifiers.
    Case("fullwidth-gi_frame", "unicode", "flow-condition",
         "(x for x in [1]).ｇｉ_ｆｒａｍｅ.ｆ_ｂｕｉｌｔｉｎｓ['open']('{proof}', 'w') is None", D),
    Case("fullwidth-ag_frame", "unicode", "script",
         "async def g():\n    yield 1\nx = g().ａｇ_ｆｒａｍｅ.f_builtins['open']('{proof}', 'w')", D),
    Case("fullwidth-dunder-class", "unicode", "script",
         "x = project_name.__ｃｌａｓｓ__.__ｍｒｏ__[1].__ｓｕｂｃｌａｓｓｅｓ__()\nｏｐｅｎ('{proof}', 'w')", D),
    Case("fullwidth-import", "unicode", "loop-condition", "__ｉｍｐｏｒｔ__('os').system('touch {proof}') == 0", D),
    Case("fullwidth-open", "unicode", "pre-script", "ｏｐｅｎ('{proof}', 'w')", D),
    Case("math-italic-open", "unicode", "mi-completion", "𝘰𝘱𝘦𝘯('{proof}', 'w') is None", D),
    Case("x5f-escaped-getattr", "unicode", "script",
         "x = getattr(project_name, '\\x5f\\x5fclass\\x5f\\x5f')\nopen('{proof}', 'w')", D),
    Case("x5f-escaped-getattribute", "unicode", "timer-cycle",
         "project_name.__getattribute__('\\x5f\\x5fclass\\x5f\\x5f') or open('{proof}', 'w')", D),
    Case("named-escape-getattr", "unicode", "mi-cardinality",
         "getattr(1, '\\N{LOW LINE}\\N{LOW LINE}class\\N{LOW LINE}\\N{LOW LINE}') or open('{proof}', 'w')", D),
    Case("u-escaped-identifier", "unicode", "post-script",
         "x = project_name.\\u005f\\u005fclass\\u005f\\u005f\nopen('{proof}', 'w')", D),
    Case("u-escaped-feel-string", "unicode", "tier-entry", '"\\u005f\\u005fimport\\u005f\\u005f"', D),
    # Huge values, long loops, deep structures, deep source.
    Case("power-tower", "size", "flow-condition", "10**10**10 > 0", R, "整数位数"),
    Case("string-product", "size", "script", "s = 'x' * 10**10", R, "文本长度"),
    Case("list-product", "size", "mi-completion", "len([0] * 10**9) > 0", R, "列表长度"),
    Case("sum-of-huge-range", "size", "loop-condition", "sum(range(10**13)) > 0", R, "range 长度"),
    Case("while-true", "size", "script", "while True:\n    pass", D, "while 循环"),
    Case("ljust-bomb", "size", "pre-script", "s = project_name.ljust(10**10)", R, "文本长度"),
    Case("replace-repeated", "size", "script", "s = 'a'\nfor i in range(10):\n    s = s.replace('', 'a' * 1000)", R, "文本长度"),
    Case("list-doubling-by-add", "size", "script", "l = [1]\nfor i in range(60):\n    l = l + l", R, "列表长度"),
    Case("list-doubling-by-extend", "size", "script", "l = [1]\nfor i in range(60):\n    l.extend(l)", R, "列表或字典长度"),
    Case("exponential-sharing", "size", "script", "l = [1]\nfor i in range(60):\n    l = [l, l]\ns = str(l)", R, "数据元素数量"),
    Case("recursion-by-def", "size", "script", "def f(n):\n    return f(n + 1)\nx = f(0)", D, "def 函数定义"),
    Case("deeply-nested-tuples", "size", "script", "t = ()\nfor i in range(99999):\n    t = (t,)\nx = {t}", R, "数据嵌套层数"),
    Case("parentheses-10000-deep", "size", "flow-condition", "(" * 10000 + "1" + ")" * 10000, D, "语法错误"),
    Case("unary-minus-100000", "size", "conditional-event", "-" * 100000 + "1", D, "超过 100000 个字符"),
    Case("unary-minus-5000", "size", "timer-duration", "-" * 5000 + "1", D, "嵌套过深"),
    Case("lists-150-deep", "size", "mi-cardinality", "[" * 150 + "]" * 150, D, "嵌套超过 100 层"),
    Case("expression-time", "size", "flow-condition", "len([str(i) + str(j) for i in range(99999) for j in range(9)]) > 0",
         R, "表达式执行时间超过上限 0.1 秒"),
    Case("conditional-event-time", "size", "conditional-event",
         "max([len(str(i) * 3) for i in range(99999) for j in range(9)]) > 0", R, "表达式执行时间超过上限 0.1 秒"),
    Case("script-time", "size", "script",
         "for i in range(99999):\n    for j in range(9):\n        s = str(i).zfill(20) + str(j).zfill(20)", R,
         "脚本执行时间超过上限 1 秒"),
    Case("script-iterations", "size", "script", "for i in range(100000):\n    for j in range(100000):\n        pass", R,
         "超过上限"),
    Case("task-data-ceiling", "size", "script", "a = 'x' * 900000\nb = 'y' * 900000", R, "任务数据超过上限"),
    Case("three-megabyte-string", "size", "script", "s = 'x' * 3000000", R, "文本长度"),
    Case("digits-from-registration", "size", "timer-duration", "'PT' + str(10 ** int(total_investment)) + 'S'", R, "整数位数"),
    Case("product-from-registration", "size", "mi-completion", "len(project_name * int(total_investment) * 100) > 0", R,
         "文本长度"),
    Case("loop-condition-product", "size", "loop-condition", "len(project_name * 10**7) > 0", R, "文本长度"),
    Case("lazy-c-loop", "size", "flow-condition", "max(map(len, map(list, [range(10**5)] * 10**4))) > 0", I,
         "超过上限"),
    Case("star-unpacked-ranges", "size", "script", STAR_RANGES, I, "超过上限"),
    Case("lazy-map-chain", "size", "script", "m = [1]\nfor i in range(100000):\n    m = map(abs, m)\nx = list(m)", I,
         "超过上限"),
    # No code at all: literal ceilings, loops, cycles, element kinds the engine cannot run.
    Case("literal-cardinality", "no-code", "mi-cardinality", "100000000", D, "超过上限 1000"),
    Case("literal-float-cardinality", "no-code", "mi-cardinality", "1e9", D, "超过上限 1000"),
    Case("literal-loop-maximum", "no-code", "loop-maximum", "100000000", D, "超过上限 1000"),
    Case("cardinality-from-registration", "no-code", "mi-cardinality", "int(total_investment)", R, "超过上限 1000"),
    Case("collection-past-cardinality", "no-code", "mi-collection", "zk_items", R, "超过上限 10",
         data={"zk_items": list(range(50))}, limits=Limits(max_cardinality=10)),
    Case("nested-multi-instance", "no-code", "nested-multi-instance", "1000x1000", I, "上限"),
    Case("state-growing-past-ceiling", "no-code", "growing-state", "1000", I, "超过上限"),
    Case("plain-bpmn-task", "no-code", "plain-task", "", D, "引擎无法执行"),
    Case("service-task", "no-code", "service-task", "'https://example.com/api'", D, "引擎无法执行"),
]


@pytest.fixture(scope="module", autouse=True)
def _forms_checked_once() -> Iterator[None]:
    """Keep the module fast: the unchanged shipped forms are checked against the metaschema once."""
    with H.form_schemas_checked_once():
        yield


@pytest.fixture(scope="module")
def proof_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every code case tries to write its proof file; it must stay empty."""
    return tmp_path_factory.mktemp("proofs")


@pytest.fixture(scope="module")
def shipped() -> definitions.LoadedDefinition:
    """The shipped lifecycle, parsed once: other projects must keep running after each hostile one."""
    return definitions.build(H.BUNDLE, lifecycle.LIFECYCLE, strict=True)


@contextmanager
def limits_in_force(limits: Limits | None) -> Iterator[None]:
    """Put a case's limits in force (None: those of the environment), the environment's back afterwards."""
    sandbox.use(limits)
    try:
        yield
    finally:
        sandbox.use(None)


def placed(case: Case, proof: Path) -> Placed:
    return KINDS[case.kind](case.text.replace("{proof}", str(proof)))


def assert_other_projects_still_run(shipped: definitions.LoadedDefinition) -> None:
    """A project on the shipped lifecycle starts and advances as usual."""
    workflow = BpmnWorkflow(shipped.spec, shipped.subprocess_specs, script_engine=SCRIPT_ENGINE)
    workflow.get_tasks(state=TaskState.READY)[0].data.update(H.FACTS)
    assert runtime.run_engine_steps(workflow, []) is None
    [task] = workflow.get_tasks(state=TaskState.READY, manual=True)
    assert task.task_spec.bpmn_id == "confirm_intent"
    task.set_data(**INTENT)
    task.run()
    assert runtime.run_engine_steps(workflow, []) is None
    assert [t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True)] == ["feasibility_review"]


def test_the_corpus_covers_every_element_kind_and_category() -> None:
    kinds = {case.kind for case in CASES}
    assert kinds == set(KINDS)
    assert {case.category for case in CASES} == {"frame", "format", "reflection", "unicode", "size", "no-code"}
    assert len(CASES) >= 60
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", [c.param() for c in CASES if c.outcome == D])
def test_refused_at_deploy_naming_file_and_element(case: Case, proof_dir: Path) -> None:
    proof = proof_dir / case.name
    where = placed(case, proof)
    with pytest.raises(DefinitionInvalid) as err:
        definitions.build(where.files, lifecycle.LIFECYCLE, strict=True)
    hits = [p for p in err.value.problems if p["file"] == where.file and p["element"] == where.element]
    assert hits, err.value.problems
    assert all(H.CHINESE.search(p["message"]) for p in hits), hits
    assert any(case.limit in p["message"] for p in hits), hits
    if case.code and where.mode is not None:
        text = case.text.replace("{proof}", str(proof))
        with pytest.raises((SandboxViolation, LimitExceeded)):
            run_in_sandbox(text, where.mode)
    assert not proof.exists()


def run_in_sandbox(text: str, mode: str) -> None:
    """What the engine would do with the text if a version deployed before these checks held it."""
    environment = SCRIPT_ENGINE.environment
    if mode == "exec":
        environment.execute(text, dict(H.FACTS))
    else:
        environment.evaluate(text, dict(H.FACTS))


@pytest.mark.parametrize("name", ["dunder-import-in-condition", "frame-walk-in-script", "python-in-decision-entry"])
def test_deploy_refusals_store_nothing(sqlite_db: Database, proof_dir: Path, name: str) -> None:
    """A few refusals through definitions.deploy itself: nothing is stored and the shipped version stays newest."""
    proof = proof_dir / f"deploy-{name}"
    where = {
        "dunder-import-in-condition": KINDS["flow-condition"](f"__import__('os').system('touch {proof}') == 0"),
        "frame-walk-in-script": KINDS["script"](f"g = (x for x in [1])\ng.gi_frame.f_builtins['open']('{proof}', 'w')"),
        "python-in-decision-entry": KINDS["tier-entry"](f'open("{proof}", "w")'),
    }[name]
    with sqlite_db.session() as s:
        before = s.scalars(select(func.count()).select_from(Definition)).one()
    with pytest.raises(DefinitionInvalid) as err, sqlite_db.session() as s:
        definitions.deploy(s, where.files, lifecycle.LIFECYCLE)
    assert any(p["file"] == where.file and p["element"] == where.element for p in err.value.problems), err.value.problems
    with sqlite_db.session() as s:
        assert s.scalars(select(func.count()).select_from(Definition)).one() == before
    assert not proof.exists()


@pytest.mark.parametrize("case", [c.param() for c in CASES if c.outcome == R])
def test_stopped_at_run_time_within_the_limit(case: Case, proof_dir: Path, shipped: definitions.LoadedDefinition) -> None:
    proof = proof_dir / case.name
    where = placed(case, proof)
    with limits_in_force(case.limits):
        run = H.run_workflow(where.files, case.data, where.complete)  # deploy checks pass: only run time can tell
    assert run.seconds < BOUND, run
    assert run.error is not None, f"not stopped: ready {run.ready}"
    assert run.error["type"] == case.error_type, run.error
    assert run.error["bpmn_id"] == where.runs_as, run.error
    assert case.limit in run.error["message"], run.error
    assert not proof.exists()
    assert_other_projects_still_run(shipped)


def _summary(files: dict[str, str], data: dict[str, Any], complete: dict[str, dict[str, Any]]) -> tuple[Any, ...]:
    started = time.thread_time()
    try:
        run = H.run_workflow(files, data, complete)
    except LimitExceeded as exc:  # the state ceiling refuses the whole advance, as out of register_project
        return "LimitExceeded", "", exc.message, time.thread_time() - started, []
    error = run.error or {}
    return error.get("type"), error.get("bpmn_id"), error.get("message", ""), run.seconds, run.ready


@pytest.mark.parametrize("case", [c.param() for c in CASES if c.outcome == I])
def test_stopped_at_run_time_even_when_it_would_hang_or_crash(case: Case, proof_dir: Path,
                                                              shipped: definitions.LoadedDefinition) -> None:
    """Cases that could take the test run down are run in a forked child, killed after the bound."""
    proof = proof_dir / case.name
    where = placed(case, proof)
    definitions.build(where.files, lifecycle.LIFECYCLE, strict=True)
    result = H.isolated(lambda: _summary(where.files, case.data, where.complete), BOUND)
    assert result.outcome == "ok", result
    error_type, bpmn_id, message, seconds, _ready = result.detail
    assert seconds < BOUND and error_type == case.error_type, result.detail
    assert bpmn_id == where.runs_as and case.limit in message, result.detail
    assert not proof.exists()
    assert_other_projects_still_run(shipped)


# Database-backed: deploy, register through the runtime, and a project started earlier keeps going.

@dataclass(frozen=True)
class LiveCase:
    """A run-time case driven through lifecycle.register / complete_task."""

    name: str
    files: Callable[[], dict[str, str]]
    element: str
    limit: str
    complete_first_task: bool = False
    hole: str = ""

    def param(self) -> Any:
        marks = [pytest.mark.xfail(strict=True, reason=self.hole)] if self.hole else []
        return pytest.param(self, id=self.name, marks=marks)


LIVE = [
    LiveCase("loop-condition-stays-true", lambda: H.standard_loop("True"), "zk_loop", "达到上限 1000"),
    LiveCase("three-megabyte-string", lambda: H.script_task("s = 'x' * 3000000"), "zk_script", "文本长度"),
    LiveCase("task-data-ceiling", lambda: H.script_task("a = 'x' * 900000\nb = 'y' * 900000"), "zk_script", "任务数据超过上限"),
    LiveCase("cardinality-from-registration", lambda: H.multi_instance("int(total_investment)"), "zk_mi", "超过上限 1000"),
    LiveCase("post-script-product", lambda: H.user_task_scripts("confirm_intent", post="s = project_name * 10**7"),
             "confirm_intent", "文本长度", complete_first_task=True),
    LiveCase("script-gateway-cycle", H.script_gateway_cycle, "zk_cycle_gw", "上限"),
]


def _instance(h: Helper, project_id: int) -> Instance:
    with h.db.session() as s:
        return s.scalars(select(Instance).where(Instance.project_id == project_id)).one()


@pytest.mark.parametrize("case", [c.param() for c in LIVE])
def test_live_project_stops_with_an_error_naming_element_and_limit(hs: Helper, case: LiveCase) -> None:
    earlier = hs.register(name="先登记的项目")
    with hs.db.session() as s:
        _, created = definitions.deploy(s, case.files(), lifecycle.LIFECYCLE)
    assert created
    started = time.thread_time()
    project_id = hs.register(name="恶意流程上的项目")
    if case.complete_first_task:
        hs.complete(project_id, "anwen", INTENT, "confirm_intent")
    assert time.thread_time() - started < BOUND
    instance = _instance(hs, project_id)
    assert instance.status == "error", (instance.status, instance.error)
    assert instance.error["bpmn_id"] == case.element, instance.error
    assert case.limit in instance.error["message"], instance.error
    assert hs.complete(earlier, "anwen", INTENT, "confirm_intent").status == "running"
    assert hs.only_ready(earlier).bpmn_id == "feasibility_review"


def test_live_state_past_its_ceiling_is_not_stored(hs: Helper) -> None:
    """A registration whose first advance builds a state past max_state_bytes is refused and rolled back."""
    earlier = hs.register(name="先登记的项目")
    with hs.db.session() as s:
        definitions.deploy(s, H.growing_state(40), lifecycle.LIFECYCLE)
        before = s.scalars(select(func.count()).select_from(Project)).one()
    started = time.thread_time()
    with pytest.raises(LimitExceeded) as err:
        hs.register(name="状态过大的项目")
    assert time.thread_time() - started < BOUND
    assert "超过上限" in err.value.message
    with hs.db.session() as s:
        assert s.scalars(select(func.count()).select_from(Project)).one() == before
    assert hs.complete(earlier, "anwen", INTENT, "confirm_intent").status == "running"


# Form patterns (owned by engine/forms.py): refused at deploy, or matched in linear time.

PATTERNS = [
    pytest.param("^(a+)+$", "a" * 40 + "!", id="nested-quantifier"),
    pytest.param("^(a+)\\1+$", "a" * 40 + "!", id="backreference"),
]


@pytest.mark.parametrize("pattern,hostile", PATTERNS)
def test_form_pattern_cannot_backtrack(pattern: str, hostile: str) -> None:
    files = H.form_pattern(pattern)
    try:
        loaded = definitions.build(files, lifecycle.LIFECYCLE, strict=True)
    except DefinitionInvalid as err:
        assert any(p["file"] == "forms/intent.schema.json" for p in err.problems), err.problems
        return
    form = "intent.schema.json"

    def submit() -> str:
        try:
            forms.validate(loaded.forms[form], loaded.validator(form), {"has_intent": True, "opinion": hostile})
        except InvalidInput as exc:
            return exc.message
        return "accepted"

    result = H.isolated(submit, BOUND)
    assert result.outcome == "ok", result


def test_no_case_wrote_its_proof_file(proof_dir: Path) -> None:
    assert list(proof_dir.iterdir()) == []
