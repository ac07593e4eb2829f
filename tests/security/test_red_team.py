"""Red-team attacks beyond the hostile corpus: refused at deploy, stopped within their limit, or leaving a state that can be stored; strict xfails mark the holes still open."""
from __future__ import annotations

import http.server
import json
import resource
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from engine.projects import lifecycle
from engine.workflow import definitions, forms, runtime, sandbox, state
from engine.platform import org
from engine.platform.errors import DefinitionInvalid, InvalidInput, LimitExceeded, SandboxViolation
from engine.workflow.feel import literal_to_python, unary_test_to_python
from engine.platform.models import Project
from engine.workflow.sandbox import SCRIPT_ENGINE, Limits
from tests.security import helpers as H

STOPPED = ("LimitExceeded", "SandboxViolation")
MACHINE_MEMORY = "可用内存"
"""Words of the error a failed allocation becomes: the machine's memory ran out before any sandbox ceiling held."""

DOUBLE = "for t in zip((t for k in 'a'), (t for k in 'a')) "
"""One comprehension clause that rebinds t to (t, t): 40 of them make a 2**40-leaf tuple that no guard ever measures."""
SHARED_ISINSTANCE = "[isinstance(1, t) for t in [(str, str)] " + DOUBLE * 40 + "][0]"
SHARED_SET = "[len({t}) for t in [(1, 2)] " + DOUBLE * 40 + "][0] > 0"
SHARED_STORE = "t = (1, 2)\nd = {}\nfor i in range(40):\n    d['k'] = t\n    for t in zip(d.values(), d.values()):\n        pass\n"
DEEP_LEVEL = "        d[0] = t\n        for t in d.items():\n            pass\n"
DEEP_STORE = "t = (1,)\nd = {}\nfor j in range(1):\n    for i in range(5000):\n" + DEEP_LEVEL * 4 + "d[t] = 1"
"""A 20,000-deep tuple built through unmeasured loop targets, then hashed by a dict store (tuple hashing has no recursion guard)."""
MEMBERSHIP = "len([(" + "t in s, " * 500 + ") for s in ['ab' * 499000] for t in ['ab' * 249000 + 'b']]) > 0"
FSTRING_COPIES = "len([f'" + "{s}" * 1000 + "' for s in ['x' * 999000]][0]) > 0"


# Running a deployed bundle the way runtime.advance does, without the database.

@dataclass(frozen=True)
class Advance:
    """How one engine advance ended: the instance's error, or an exception that escaped it (the runtime's 500)."""

    error_type: str | None
    bpmn_id: str
    message: str
    raised: str
    seconds: float  # CPU time of this thread, as the sandbox counts it
    ready: tuple[str, ...] = ()


def advance(loaded: definitions.LoadedDefinition, data: dict[str, Any] | None = None) -> Advance:
    """Start the lifecycle, run engine steps, then dump, size-check, encode and restore the state as storing it would."""
    workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=SCRIPT_ENGINE)
    workflow.get_tasks(state=TaskState.READY)[0].data.update({**H.FACTS, **(data or {})})
    started = time.thread_time()
    try:
        error = runtime.run_engine_steps(workflow, [])
        dumped = state.dump(workflow)
        state.check_size(dumped, sandbox.active().max_state_bytes)
        dumped.encode("utf-8")  # what every database driver does with the state column
        state.restore(dumped, loaded.spec, loaded.subprocess_specs)
    except LimitExceeded as exc:  # the state ceiling: the change rolls back with a message, as out of register_project
        return Advance("LimitExceeded", "", exc.message, "", time.thread_time() - started)
    except Exception as exc:  # noqa: BLE001 - anything else escaping is the finding
        return Advance(None, "", "", f"{type(exc).__name__}: {exc}"[:300], time.thread_time() - started)
    seconds = time.thread_time() - started
    ready = tuple(t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.READY, manual=True))
    if error is None:
        return Advance(None, "", "", "", seconds, ready)
    return Advance(error["type"], error["bpmn_id"], error["message"], "", seconds, ready)


def _cap_address_space(headroom_mb: int) -> None:
    """Let this (forked) process map at most `headroom_mb` more than it has now, so a memory bomb fails fast."""
    with open("/proc/self/status", encoding="ascii") as status:
        size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize:"))
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, ((size_kb * 1024) + headroom_mb * 1024 * 1024, hard))


Result = TypeVar("Result")


def _in_thread(target: Callable[[], Result], stack_kb: int) -> Result | None:
    """Run `target` in a thread with a `stack_kb` stack, as a threaded server's worker would."""
    box: list[Result] = []
    threading.stack_size(stack_kb * 1024)
    worker = threading.Thread(target=lambda: box.append(target()))
    worker.start()
    worker.join()
    return box[0] if box else None


def refused_naming(err: DefinitionInvalid, file: str, element: str | None = None) -> bool:
    """Whether a deploy refusal names `file` (and `element`, when given) in Chinese."""
    return any(
        p["file"] == file and (element is None or p["element"] == element) and H.CHINESE.search(p["message"])
        for p in err.problems
    )


@pytest.fixture(scope="module", autouse=True)
def _forms_checked_once() -> Iterator[None]:
    """The unchanged shipped forms are checked against the metaschema once for the module."""
    with H.form_schemas_checked_once():
        yield


@pytest.fixture(autouse=True)
def _default_limits() -> Iterator[None]:
    """Every case runs under the documented defaults, whatever the environment says."""
    sandbox.use(Limits())
    try:
        yield
    finally:
        sandbox.use(None)


@pytest.fixture(scope="module")
def proof_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the code-reaching cases try to write; it must stay empty."""
    return tmp_path_factory.mktemp("red_team_proofs")


# 1. Expressions and scripts that pass deploy, run in a forked child so a hang, a memory bomb or a crash
#    cannot take the tests down. Safe: the element's instance is in error with a sandbox limit, in time.

PLACE: dict[str, tuple[Callable[[str], dict[str, str]], str]] = {
    "condition": (H.conditional_event, "zk_conditional"),  # evaluated as soon as a project is registered
    "script": (H.script_task, "zk_script"),
}


@dataclass(frozen=True)
class Attack:
    """One hostile text in one element kind, the wall-clock bound of its child and what the child may use."""

    name: str
    kind: str
    text: str
    bound: float
    memory_mb: int = 0
    stack_kb: int = 0
    hole: str = ""

    def param(self) -> Any:
        marks = [pytest.mark.xfail(strict=True, reason=self.hole)] if self.hole else []
        return pytest.param(self, id=f"{self.kind}-{self.name}", marks=marks)


ATTACKS = [
    # Controls: what the sandbox already stops, so the harness (bound, address-space cap, thread) is known to pass.
    Attack("control-expression-deadline", "condition", "len([str(i) + str(j) for i in range(99999) for j in range(9)]) > 0",
           0.6),
    Attack("control-allocation-budget", "script", "l = []\nfor i in range(200):\n    l.append(str(i) + 'x' * 990000)", 5.0,
           memory_mb=300),
    Attack("control-deep-tuple-measured", "script", DEEP_STORE.replace("d[t] = 1", "x = str(t)"), 1.5, stack_kb=1024),
    Attack("shared-tuple-isinstance", "condition", SHARED_ISINSTANCE, 0.6),
    Attack("shared-tuple-set-display-hash", "condition", SHARED_SET, 0.6),
    Attack("shared-tuple-dict-store-hash", "script", SHARED_STORE + "d[t] = 1", 1.5),
    Attack("deep-tuple-hash-small-stack", "script", DEEP_STORE, 2.5, stack_kb=1024),
    Attack("list-sort-key-bypasses-call", "condition", "(['a'] * 10000).sort(key=('ab' * 500000).count) is None", 0.6),
    Attack("list-sort-key-split-memory", "script", "s = 'a' * 999000\nl = ['a'] * 1000\nl.sort(key=s.split)", 5.0,
           memory_mb=300),
    Attack("round-negative-ndigits", "condition", "round(7, -10**8) == 0", 0.6),
    Attack("hex-int-floor-division", "condition", "int('f' * 999000, 16) // int('f' * 499000, 16) > 0", 0.6),
    Attack("membership-without-deadline", "condition", MEMBERSHIP, 0.6),
    Attack("f-string-thousand-copies", "condition", FSTRING_COPIES, 5.0, memory_mb=300),
    Attack("hex-ints-past-digit-ceiling", "script",
           "x = int('f' * 999000, 16)\nl = []\nfor i in range(100000):\n    l.append(x + i)", 5.0, memory_mb=300),
    Attack("extend-outside-allocation-budget", "script",
           "outer = [0] * 1000\nfor i in range(1000):\n    l = []\n    l.extend(range(i * 100000, i * 100000 + 100000))"
           "\n    outer[i] = l", 5.0, memory_mb=300),
]


def _run_attack(loaded: definitions.LoadedDefinition, attack: Attack) -> Advance | None:
    sandbox.use(Limits())
    if attack.memory_mb:
        _cap_address_space(attack.memory_mb)
    if attack.stack_kb:
        return _in_thread(lambda: advance(loaded), attack.stack_kb)
    return advance(loaded)


@pytest.mark.parametrize("attack", [a.param() for a in ATTACKS])
def test_attack_is_refused_or_stopped_within_its_limit(attack: Attack) -> None:
    place, element = PLACE[attack.kind]
    files = place(attack.text)
    try:
        loaded = definitions.build(files, lifecycle.LIFECYCLE, strict=True)
    except DefinitionInvalid as err:
        assert refused_naming(err, H.BPMN, element), err.problems
        return
    result = H.isolated(lambda: _run_attack(loaded, attack), attack.bound)
    assert result.outcome == "ok", result
    run: Advance = result.detail
    assert not run.raised, run
    assert run.error_type in STOPPED and run.bpmn_id == element, run
    assert MACHINE_MEMORY not in run.message, run


# 2. Held: texts that reach for objects or walk shared structure and are stopped by the guards as promised.

HELD = [
    pytest.param("eval", "sorted([1], key=list[int])", "SandboxViolation", id="generic-alias-as-key"),
    pytest.param("eval", "dict[str]", "SandboxViolation", id="generic-alias-as-result"),
    pytest.param("eval", "(x for x in 'ab').index('a')", "SandboxViolation", id="list-method-name-on-generator"),
    pytest.param("eval", "range(3).index(1)", "SandboxViolation", id="tuple-method-name-on-range"),
    pytest.param("eval", "str.join(',', ['a'])", "SandboxViolation", id="method-through-the-type"),
    pytest.param("eval", "(x for x in [1])", "SandboxViolation", id="generator-as-result"),
    pytest.param("eval", "{'a': 1}.items()", "SandboxViolation", id="dict-view-as-result"),
    pytest.param("exec", "x = [[].append]", "SandboxViolation", id="bound-wrapper-stored-in-data"),
    pytest.param("exec", "x = {'t': str}", "SandboxViolation", id="type-stored-in-data"),
    pytest.param("exec", "l = [0]\nl[0] = l\nx = f'{l}'", "LimitExceeded", id="cycle-by-subscript-store-formatted"),
    pytest.param("exec", SHARED_STORE + "x = str(t)", "LimitExceeded", id="shared-tuple-into-a-call"),
    pytest.param("exec", SHARED_STORE + "x = t", "LimitExceeded", id="shared-tuple-left-in-data"),
    pytest.param("eval", "len(sorted(['a'] * 1000, key=('a' * 999000).split)) > 0", "LimitExceeded",
                 id="sorted-key-results-measured"),
    pytest.param("eval", "max(['a'] * 1000, key=('a' * 999000).split) == 'a'", "LimitExceeded",
                 id="max-key-results-measured"),
    pytest.param("eval", "10 ** 9000 > 0", "LimitExceeded", id="power-past-digit-ceiling"),
    pytest.param("eval", "len(('字' * 999000).ljust(1000001)) > 0", "LimitExceeded", id="cjk-ljust-past-ceiling"),
]


@pytest.mark.parametrize("mode,text,error", HELD)
def test_held_attack_is_stopped_by_the_guards(mode: str, text: str, error: str) -> None:
    environment = SCRIPT_ENGINE.environment
    started = time.thread_time()
    with pytest.raises((SandboxViolation, LimitExceeded)) as caught:
        if mode == "exec":
            environment.execute(text, dict(H.FACTS))
        else:
            environment.evaluate(text, dict(H.FACTS))
    assert type(caught.value).__name__ == error, caught.value
    assert MACHINE_MEMORY not in caught.value.message
    assert time.thread_time() - started < 1.5


FEEL_LITERALS = [
    pytest.param("\"') or open('{proof}', 'w') or ('\"", id="single-quotes"),
    pytest.param("\"\\\" + open(\\\"{proof}\\\", \\\"w\\\") + \\\"\"", id="escaped-double-quotes"),
    pytest.param("\"\\u0027) or open(\\u0027{proof}\\u0027, \\u0027w\\u0027) or (\\u0027\"", id="unicode-escaped-quotes"),
    pytest.param("\"? or open('{proof}', 'w')\"", id="question-mark-the-engine-rewrites"),
    pytest.param("\"\\\\' or open('{proof}', 'w') or '\"", id="escaped-backslash-then-quote"),
]


@pytest.mark.parametrize("cell", FEEL_LITERALS)
def test_feel_strings_stay_strings(cell: str, proof_dir: Path) -> None:
    """A FEEL string, as output cell and as input test, is only ever a value (no `?` is left for the DMN engine to rewrite)."""
    proof = proof_dir / "feel"
    text = cell.replace("{proof}", str(proof))
    value = SCRIPT_ENGINE.environment.evaluate(literal_to_python(text), {})
    assert isinstance(value, str) and "open(" in value
    test = unary_test_to_python(text)
    assert test is not None and "?" not in test
    assert SCRIPT_ENGINE.environment.evaluate(test, {"dmninputexpr": "other"}) is False
    assert SCRIPT_ENGINE.environment.evaluate(test, {"dmninputexpr": value}) is True
    assert not proof.exists()


# 3. Run time through the engine: a value the process owner controls must end as an instance error, never
#    as an exception out of the advance or a state that cannot be dumped, encoded or restored (a 500 on every
#    registration of the lifecycle otherwise).

@dataclass(frozen=True)
class Stored:
    """A bundle whose first advance must leave the instance in error at `element` (or, if `fails` is False, storable)."""

    name: str
    files: Callable[[], dict[str, str]]
    element: str
    fails: bool = True
    hole: str = ""

    def param(self) -> Any:
        marks = [pytest.mark.xfail(strict=True, reason=self.hole)] if self.hole else []
        return pytest.param(self, id=self.name, marks=marks)


def _timer(kind: str, text: str) -> Callable[[], dict[str, str]]:
    return lambda: H.timer_event(kind, text)


STORED = [
    # Timer values computed from task data, so no deploy check can see them (SpiffWorkflow parses them after the
    # sandbox returns, outside its own error wrapping).
    Stored("timer-duration-not-text", _timer("timeDuration", "len(project_name) * 41"), "zk_timer"),
    Stored("timer-duration-unparseable", _timer("timeDuration", "'P1' + 'YY'"), "zk_timer"),
    Stored("timer-duration-overflow", _timer("timeDuration", "'PT' + '9' * 20 + 'S'"), "zk_timer"),
    Stored("timer-date-out-of-range", _timer("timeDate", "'9999-12-31T23:59:59' + '-14:00'"), "zk_timer"),
    Stored("timer-cycle-zero-interval", _timer("timeCycle", "'R' + '99999999/PT0S'"), "zk_timer"),
    Stored("int-past-str-conversion-limit", lambda: H.script_task("x = 10 ** 5000"), "zk_script"),
    Stored("int-key-past-str-conversion-limit", lambda: H.script_task("x = {10 ** 5000: 1}"), "zk_script"),
    Stored("lone-surrogate", lambda: H.script_task("x = '\\ud800'"), "zk_script"),
    Stored("float-infinity-and-nan", lambda: H.script_task("x = [float('inf'), float('nan'), 1e308 * 10]"), "zk_script",
           fails=False),
]


@pytest.mark.parametrize("case", [c.param() for c in STORED])
def test_owner_controlled_value_ends_as_an_instance_error_or_storable(case: Stored) -> None:
    files = case.files()
    try:
        loaded = definitions.build(files, lifecycle.LIFECYCLE, strict=True)
    except DefinitionInvalid as err:
        assert refused_naming(err, H.BPMN, case.element), err.problems
        return
    run = advance(loaded)
    assert not run.raised, run
    if case.fails:
        assert run.error_type is not None and run.bpmn_id == case.element, run
    else:
        assert run.error_type is None and run.ready == ("confirm_intent",), run


def _item_unit_lanes() -> dict[str, str]:
    text = H.BUNDLE["lanes.yaml"].replace(
        "落地单位: {role: landing_unit, scope: landing_unit}", "落地单位: {role: landing_unit, scope: item_unit}"
    )
    assert text != H.BUNDLE["lanes.yaml"]
    return {**H.BUNDLE, "lanes.yaml": text}


def test_lane_scope_resolves_for_every_ready_task() -> None:
    files = _item_unit_lanes()
    try:
        loaded = definitions.build(files, lifecycle.LIFECYCLE, strict=True)
    except DefinitionInvalid as err:
        assert refused_naming(err, "lanes.yaml"), err.problems
        return
    workflow = BpmnWorkflow(loaded.spec, loaded.subprocess_specs, script_engine=SCRIPT_ENGINE)
    workflow.get_tasks(state=TaskState.READY)[0].data.update(H.FACTS)
    assert runtime.run_engine_steps(workflow, []) is None
    project = Project(landing_unit_id=1, deputy_id=1)
    for task in workflow.get_tasks(state=TaskState.READY, manual=True):
        org.scope_of(loaded.user_tasks[task.task_spec.bpmn_id].scope, project, task.data)  # as _sync_tasks does


def _month_loop(loaded: definitions.LoadedDefinition) -> Advance:
    sandbox.use(Limits(advance_seconds=0.5))
    return advance(loaded)


def test_timer_duration_cannot_loop_past_the_advance_ceiling() -> None:
    """SpiffWorkflow adds a duration month by month in Python inside one step: 'P99999999Y' is 1.2 billion months."""
    files = H.timer_event("timeDuration", "'P' + '99999999' + 'Y'")
    try:
        loaded = definitions.build(files, lifecycle.LIFECYCLE, strict=True)
    except DefinitionInvalid as err:
        assert refused_naming(err, H.BPMN, "zk_timer"), err.problems
        return
    result = H.isolated(lambda: _month_loop(loaded), 1.5)
    assert result.outcome == "ok", result
    run: Advance = result.detail
    assert not run.raised and run.error_type is not None and run.bpmn_id == "zk_timer", run


# 4. Deploy: a hostile bundle is refused naming its file, quickly, never with an exception out of build (a 500)
#    and never by running owner code without bound.

def _cases_with_long_number() -> dict[str, str]:
    name = "approval_tier.cases.json"
    text = H.BUNDLE[name].replace('"land_mu": 0', '"land_mu": ' + "1" * 5000, 1)
    assert text != H.BUNDLE[name]
    return {**H.BUNDLE, name: text}


def _form_with_long_number() -> dict[str, str]:
    name = "forms/intent.schema.json"
    return {**H.BUNDLE, name: H.BUNDLE[name].replace("{", '{"x-zk": ' + "9" * 5000 + ", ", 1)}


DEPLOY_ERRORS = [
    pytest.param(lambda: H.script_task("x = " + "-" * 5000 + "1"), H.BPMN, "zk_script",
        id="script-5000-unary-minus"),
    pytest.param(_cases_with_long_number, "approval_tier.cases.json", None,
        id="cases-file-5000-digit-number"),
    pytest.param(_form_with_long_number, "forms/intent.schema.json", None,
        id="form-5000-digit-number"),
]


@pytest.mark.parametrize("files,file,element", DEPLOY_ERRORS)
def test_malformed_bundle_is_refused_naming_the_file(files: Callable[[], dict[str, str]], file: str,
                                                     element: str | None) -> None:
    with pytest.raises(DefinitionInvalid) as err:
        definitions.build(files(), lifecycle.LIFECYCLE, strict=True)
    assert refused_naming(err.value, file, element), err.value.problems


def _form(change: Callable[[dict[str, Any]], None]) -> dict[str, str]:
    name = "forms/intent.schema.json"
    schema = json.loads(H.BUNDLE[name])
    change(schema)
    return {**H.BUNDLE, name: json.dumps(schema, ensure_ascii=False)}


def _opinion_ref(ref: str) -> Callable[[dict[str, Any]], None]:
    def change(schema: dict[str, Any]) -> None:
        schema["properties"]["opinion"]["$ref"] = ref
    return change


def _ref_cycle(schema: dict[str, Any]) -> None:
    schema["$defs"] = {"a": {"$ref": "#/$defs/a"}}
    schema["properties"]["opinion"] = {"$ref": "#/$defs/a"}


INTEGER_SCHEMA = b'{"type": "integer"}'
"""What a fetched or read reference holds: were it used, the submitted opinion 同意 would be refused as not an integer."""


class _Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every GET with INTEGER_SCHEMA and records its path."""

    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(INTEGER_SCHEMA)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def internal_service() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP service standing for an intranet or metadata endpoint: its URL and the paths it was asked for."""
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.paths = []
    worker = threading.Thread(target=server.serve_forever, daemon=True)
    worker.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/zk-internal.json", _Recorder.paths
    finally:
        server.shutdown()
        server.server_close()


def _submit(files: dict[str, str]) -> str:
    """Deploy `files` and submit the intent form as an official would: "refused" at deploy, "invalid: …" or "accepted"."""
    try:
        loaded = definitions.build(files, lifecycle.LIFECYCLE, strict=True)
    except DefinitionInvalid as err:
        assert refused_naming(err, "forms/intent.schema.json"), err.problems
        return "refused"
    form = "intent.schema.json"
    try:
        forms.validate(loaded.forms[form], loaded.validator(form), {"has_intent": True, "opinion": "同意"})
    except InvalidInput as exc:
        return f"invalid: {exc.message}"
    return "accepted"


@pytest.mark.filterwarnings("ignore:Automatically retrieving remote references:DeprecationWarning")
def test_form_reference_does_not_read_local_files(tmp_path: Path) -> None:
    secret = tmp_path / "zk-secret.json"
    secret.write_bytes(INTEGER_SCHEMA)
    outcome = _submit(_form(_opinion_ref(secret.as_uri())))
    assert "整数" not in outcome, outcome


@pytest.mark.filterwarnings("ignore:Automatically retrieving remote references:DeprecationWarning")
def test_form_reference_does_not_reach_the_network(internal_service: tuple[str, list[str]]) -> None:
    url, paths = internal_service
    outcome = _submit(_form(_opinion_ref(url)))
    assert paths == [], (outcome, paths)


@pytest.mark.parametrize("change", [
    pytest.param(_ref_cycle, id="ref-cycle"),
    pytest.param(_opinion_ref("urn:zk:missing"),
        id="ref-unresolvable"),
])
def test_form_is_refused_at_deploy_or_reports_invalid_input(change: Callable[[dict[str, Any]], None]) -> None:
    outcome = _submit(_form(change))
    assert outcome in ("refused", "accepted") or outcome.startswith("invalid: "), outcome


def _overlapping_literals(count: int) -> dict[str, str]:
    def change(root: Any) -> None:
        for entry, offset in (("rule_2_in_5", 0), ("rule_4_in_5", count)):
            H._by_id(root, entry).find(H._q("text", H.DMN_NS)).text = ",".join(str(i + offset) for i in range(count))
    return H.edit_xml(H.TIER_DMN, change)


def _alias_bomb(levels: int) -> dict[str, str]:
    bomb = 'zk0: &zk0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]\n'
    for level in range(1, levels):
        bomb += f"zk{level}: &zk{level} [" + ", ".join([f"*zk{level - 1}"] * 10) + "]\n"
    lane = f"lanes:\n  zk_lane: {{role: office, scope: *zk{levels - 1}}}"
    return {**H.BUNDLE, "lanes.yaml": H.BUNDLE["lanes.yaml"].replace("lanes:", bomb + lane, 1)}


def _standalone_decision_cases() -> dict[str, str]:
    files = H.set_dmn_text(H.SCORING_DMN, "input_event", SHARED_ISINSTANCE)
    cases = {"decision": "assessment_scoring", "cases": [
        {"name": "签约", "inputs": {SHARED_ISINSTANCE: "signed", "project_class": "mfg_7yi"}, "expected": {"points": [10]}}]}
    return {**files, "assessment_scoring.cases.json": json.dumps(cases, ensure_ascii=False)}


@dataclass(frozen=True)
class Bomb:
    """A bundle whose deploy check must end (refused or not) within `bound` seconds and `memory_mb` more memory."""

    name: str
    files: Callable[[], dict[str, str]]
    file: str
    bound: float
    memory_mb: int
    hole: str

    def param(self) -> Any:
        return pytest.param(self, id=self.name, marks=[pytest.mark.xfail(strict=True, reason=self.hole)] if self.hole else [])


BOMBS = [
    Bomb("decision-overlap-check-quadratic", lambda: _overlapping_literals(1000), H.TIER_DMN, 1.5, 1000, ""),
    Bomb("lanes-yaml-alias-bomb", lambda: _alias_bomb(8), "lanes.yaml", 1.0, 500, ""),
    Bomb("standalone-decision-input-at-deploy", _standalone_decision_cases, H.SCORING_DMN, 1.5, 1000, ""),
]


def _deploy_summary(files: dict[str, str], memory_mb: int) -> list[dict[str, str]]:
    _cap_address_space(memory_mb)
    try:
        definitions.build(files, lifecycle.LIFECYCLE, strict=True)
    except DefinitionInvalid as err:
        return err.problems
    return []


@pytest.mark.parametrize("bomb", [b.param() for b in BOMBS])
def test_deploy_check_ends_quickly_within_memory(bomb: Bomb) -> None:
    files = bomb.files()
    result = H.isolated(lambda: _deploy_summary(files, bomb.memory_mb), bomb.bound)
    assert result.outcome == "ok", result
    assert all(p["file"] == bomb.file for p in result.detail), result.detail
