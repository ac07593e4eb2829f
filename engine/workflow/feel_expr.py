"""FEEL expressions (DMN 1.3 literal expressions, input expressions and output cells) compiled into sandboxed Python.

The compiled text only calls the FEEL library (`feel_*` functions from feel_lib) and reads
names from the context `ctx`, so it passes the same allow-list, guards and time and size
limits as every other expression: nothing written in FEEL can reach Python. Names may hold
spaces (`Monthly Salary`), as FEEL allows. A construct outside the supported language is
refused at deploy with a message saying what was found.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from engine.workflow.feel import BadEscape, FeelError, TokenCursor, unescape_string
from engine.workflow.sandbox import compile_feel
from engine.workflow.sandbox.feel_lib import BUILTIN_NAMES

KEYWORDS = {"and", "or", "in", "between", "instance", "of", "then", "else", "return", "satisfies", "if", "for", "some", "every"}
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>\d+(?:\.\d+)?(?![\w.]\d)|\.\d+)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<at>@)
    | (?P<op>\.\.|\*\*|<=|>=|!=|[-+*/<>=(){}\[\],:.])
    | (?P<word>[^\W\d][\w?']*)
    | (?P<comment>//[^\n]*|/\*.*?\*/)
    | (?P<other>\S)
    )""",
    re.VERBOSE | re.DOTALL,
)
MAX_NESTING = 40


@dataclass(frozen=True)
class Node:
    """A compiled piece: its Python source and what it is (to tell a filter from an index)."""

    src: str
    kind: str = "value"


def _py_string(value: str) -> str:
    return repr(value).replace("?", "\\x3f")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            break
        kind = match.lastgroup or "other"
        if kind != "comment":
            tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class _Compiler(TokenCursor):
    """Recursive descent over FEEL's grammar, emitting Python over `ctx` (c1, c2 … inside iterations)."""

    def __init__(self, text: str, functions: frozenset[str]) -> None:
        super().__init__(text, _tokens(text))
        self.functions = functions
        self.scopes = ["ctx"]
        self.depth = 0

    # tokens

    def at(self, value: str, offset: int = 0) -> bool:
        kind, got = self.peek(offset)
        return got == value and kind in ("op", "word")

    def expect(self, value: str) -> None:
        kind, got = self.take()
        if got != value:
            raise self.fail(f"此处应为“{value}”，却是“{got or '结尾'}”")

    def fail(self, what: str) -> FeelError:
        return FeelError(f"FEEL 表达式“{self.text[:120]}”：{what}")

    @property
    def ctx(self) -> str:
        return self.scopes[-1]

    def fresh(self) -> str:
        name = f"c{len(self.scopes)}"
        self.scopes.append(name)
        return name

    # grammar

    def compile(self) -> str:
        if not self.tokens:
            raise self.fail("内容为空")
        node = self.expression()
        if self.peek()[0] != "end":
            raise self.fail(f"多余的“{self.peek()[1]}”")
        if node.kind == "tests":
            raise self.fail("逗号只能用在列表、函数参数或 in (...) 中")
        return node.src

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.fail(f"嵌套超过 {MAX_NESTING} 层")
        try:
            if self.at("if"):
                return self.conditional()
            if self.at("for"):
                return self.loop()
            if self.at("some") or self.at("every"):
                return self.quantified()
            return self.disjunction()
        finally:
            self.depth -= 1

    def conditional(self) -> Node:
        self.take()
        condition = self.expression()
        self.expect("then")
        then = self.expression()
        self.expect("else")
        other = self.expression()
        return Node(f"({then.src} if feel_true({condition.src}) else {other.src})")

    def _iterations(self, end: str) -> tuple[str, int]:
        """`name in source, name in source …` as comprehension clauses binding each name in a fresh context."""
        clauses, pushed = [], 0
        while True:
            name = self.name_text()
            self.expect("in")
            first = self.additive()
            if self.at(".."):
                self.take()
                last = self.additive()
                source = f"feel_span({first.src}, {last.src})"
            else:
                source = f"feel_list({first.src})"
            outer = self.ctx
            inner = self.fresh()
            pushed += 1
            value = f"v{len(self.scopes)}"
            clauses.append(f"for {value} in {source} for {inner} in [feel_bind({outer}, {_py_string(name)}, {value})]")
            if not self.at(","):
                break
            self.take()
        self.expect(end)
        return " ".join(clauses), pushed

    def loop(self) -> Node:
        self.take()
        clauses, pushed = self._iterations("return")
        body = self.expression()
        del self.scopes[-pushed:]
        return Node(f"[{body.src} {clauses}]")

    def quantified(self) -> Node:
        word = self.take()[1]
        clauses, pushed = self._iterations("satisfies")
        body = self.expression()
        del self.scopes[-pushed:]
        function = "feel_some" if word == "some" else "feel_every"
        return Node(f"{function}([{body.src} {clauses}])", "test")

    def disjunction(self) -> Node:
        node = self.conjunction()
        while self.at("or"):
            self.take()
            node = Node(f"feel_or({node.src}, {self.conjunction().src})", "test")
        return node

    def conjunction(self) -> Node:
        node = self.comparison()
        while self.at("and"):
            self.take()
            node = Node(f"feel_and({node.src}, {self.comparison().src})", "test")
        return node

    def comparison(self) -> Node:
        node = self.additive()
        operators = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
        kind, value = self.peek()
        if kind == "op" and value in operators:
            self.take()
            return Node(f"feel_{operators[value]}({node.src}, {self.additive().src})", "test")
        if self.at("between"):
            self.take()
            low = self.additive()
            self.expect("and")
            high = self.additive()
            return Node(f"feel_between({node.src}, {low.src}, {high.src})", "test")
        if self.at("in"):
            self.take()
            return Node(f"feel_in({node.src}, {self.positive_tests()})", "test")
        if self.at("instance"):
            raise self.fail("暂不支持 instance of")
        return node

    def positive_tests(self) -> str:
        """The right side of `in`: one positive unary test or several in parentheses."""
        if self.at("(") and self._comma_list_ahead():
            self.take()
            tests = [self.positive_test()]
            while self.at(","):
                self.take()
                tests.append(self.positive_test())
            self.expect(")")
            return f"[{', '.join(tests)}]"
        return f"[{self.positive_test()}]"

    def _comma_list_ahead(self) -> bool:
        depth = 0
        for kind, value in self.tokens[self.pos:]:
            if kind == "op" and value in "([{":
                depth += 1
            elif kind == "op" and value in ")]}":
                depth -= 1
                if depth == 0:
                    return False
            elif depth == 1 and value in (",", ".."):
                return value == ","
        return False

    def positive_test(self) -> str:
        kind, value = self.peek()
        if kind == "op" and value in ("<", "<=", ">", ">=", "=", "!="):
            self.take()
            return f"feel_test({_py_string(value)}, {self.additive().src})"
        return self.additive().src

    def additive(self) -> Node:
        node = self.multiplicative()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            right = self.multiplicative()
            node = Node(f"feel_{'add' if op == '+' else 'sub'}({node.src}, {right.src})")
        return node

    def multiplicative(self) -> Node:
        node = self.power()
        while self.peek() in (("op", "*"), ("op", "/")):
            op = self.take()[1]
            right = self.power()
            node = Node(f"feel_{'mul' if op == '*' else 'div'}({node.src}, {right.src})")
        return node

    def power(self) -> Node:
        node = self.unary()
        while self.at("**"):
            self.take()
            node = Node(f"feel_pow({node.src}, {self.unary().src})")
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.take()
            operand = self.unary()
            return Node(f"feel_neg({operand.src})")
        return self.postfix()

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.at("."):
                self.take()
                key = self.name_text()
                node = Node(f"feel_path({node.src}, {_py_string(key)})")
            elif self.at("["):
                self.take()
                node = self.filter(node)
                self.expect("]")
            elif self.at("(") and node.kind == "name":
                raise self.fail(f"未知函数“{node.src}”")
            else:
                return node

    def filter(self, source: Node) -> Node:
        outer = self.ctx
        inner = self.fresh()
        item = f"v{len(self.scopes)}"
        condition = self.expression()
        del self.scopes[-1]
        if condition.kind == "test":
            return Node(
                f"[{item} for {item} in feel_list({source.src}) for {inner} in [feel_item({outer}, {item})] if feel_true({condition.src})]"
            )
        return Node(f"feel_index({source.src}, [{condition.src} for {inner} in [{outer}]][0])")

    def primary(self) -> Node:
        kind, value = self.peek()
        if kind == "number":
            self.take()
            return Node(_number(value))
        if kind == "string":
            self.take()
            return Node(_py_string(_unescape(value[1:-1], self)))
        if kind == "at":
            self.take()
            kind, value = self.take()
            if kind != "string":
                raise self.fail("@ 之后应为带引号的日期、时间或时长")
            return Node(f"feel_call('@', [{_py_string(_unescape(value[1:-1], self))}], {{}})")
        if kind == "op" and value == "(":
            return self.parenthesised()
        if kind == "op" and value in "[]":
            return self.bracketed()
        if kind == "op" and value == "{":
            return self.context()
        if kind == "word":
            if value in ("true", "false", "null") and not self._continues_name():
                self.take()
                return Node({"true": "True", "false": "False", "null": "None"}[value], "test" if value != "null" else "value")
            function = self.function_name()
            if function:
                return self.invocation(function)
            if value in KEYWORDS:
                raise self.fail(f"此处不应出现“{value}”")
            name = self.name_text()
            if name == "function" and self.at("("):
                raise self.fail("暂不支持在表达式中定义函数（function），请改用业务知识模型")
            if self.at("("):
                return self.user_invocation(name)
            return Node(f"feel_name({self.ctx}, {_py_string(name)})")
        if kind == "end":
            raise self.fail("表达式不完整")
        raise self.fail(f"无法识别的“{value}”")

    def _continues_name(self) -> bool:
        kind, value = self.peek(1)
        return kind == "word" and value not in KEYWORDS

    def function_name(self) -> str:
        """The longest built-in function name at this position that is followed by `(`."""
        words: list[str] = []
        best, best_length = "", 0
        for offset in range(5):
            kind, value = self.peek(offset)
            if kind != "word":
                break
            words.append(value)
            candidate = " ".join(words)
            if candidate in BUILTIN_NAMES and self.at("(", offset + 1):
                best, best_length = candidate, offset + 1
        self.pos += best_length
        return best

    def name_text(self) -> str:
        kind, value = self.take()
        if kind != "word" or value in KEYWORDS:
            raise self.fail(f"此处应为名称，却是“{value or '结尾'}”")
        words = [value]
        while self.peek()[0] == "word" and self.peek()[1] not in KEYWORDS:
            words.append(self.take()[1])
        return " ".join(words)

    def invocation(self, function: str) -> Node:
        self.expect("(")
        positional: list[str] = []
        named: list[str] = []
        while not self.at(")"):
            if self.peek()[0] == "word" and self.at(":", 1):
                key = self.take()[1]
                self.take()
                named.append(f"{_py_string(key)}: {self.expression().src}")
            else:
                positional.append(self.expression().src)
            if not self.at(","):
                break
            self.take()
        self.expect(")")
        if function == "not" and len(positional) == 1 and not named:
            return Node(f"feel_not({positional[0]})", "test")
        kind = "test" if function in ("contains", "starts with", "ends with", "matches", "list contains", "is defined") else "value"
        return Node(f"feel_call({_py_string(function)}, [{', '.join(positional)}], {{{', '.join(named)}}})", kind)

    def user_invocation(self, name: str) -> Node:
        """A call of a business knowledge model the decision requires, by name, with positional arguments."""
        if name not in self.functions:
            raise self.fail(f"未知函数“{name}”（可调用 FEEL 内置函数和本决策引用的业务知识模型）")
        self.expect("(")
        arguments: list[str] = []
        while not self.at(")"):
            arguments.append(self.expression().src)
            if not self.at(","):
                break
            self.take()
        self.expect(")")
        return Node(f"feel_invoke({self.ctx}, {_py_string(name)}, [{', '.join(arguments)}])")

    def parenthesised(self) -> Node:
        self.take()
        first = self.expression()
        if self.at(".."):
            return self.range_rest(False, first)
        self.expect(")")
        return Node(f"({first.src})", first.kind)

    def bracketed(self) -> Node:
        opener = self.take()[1]
        if self.at("]") and opener == "[":
            self.take()
            return Node("[]")
        first = self.expression()
        if self.at(".."):
            return self.range_rest(opener == "[", first)
        if opener == "]":
            raise self.fail("“]”只能用作区间的开端，如 ]1..5]")
        items = [first.src]
        while self.at(","):
            self.take()
            items.append(self.expression().src)
        self.expect("]")
        return Node(f"[{', '.join(items)}]")

    def range_rest(self, low_closed: bool, low: Node) -> Node:
        self.expect("..")
        high = self.additive()
        closer = self.take()[1]
        if closer not in ("]", ")", "["):
            raise self.fail("区间应以“]”“[”或“)”结束")
        return Node(f"feel_range({low.src}, {low_closed}, {high.src}, {closer == ']'})")

    def context(self) -> Node:
        self.take()
        outer = self.ctx
        keys: list[str] = []
        clauses: list[str] = []
        pushed = 0
        while not self.at("}"):
            kind, value = self.peek()
            if kind == "string":
                self.take()
                key = _unescape(value[1:-1], self)
            else:
                key = self.name_text()
            self.expect(":")
            entry = self.expression()
            previous = self.ctx
            inner = self.fresh()
            pushed += 1
            clauses.append(f"for {inner} in [feel_bind({previous}, {_py_string(key)}, {entry.src})]")
            keys.append(key)
            if not self.at(","):
                break
            self.take()
        self.expect("}")
        if not keys:
            return Node("{}")
        last = self.ctx
        del self.scopes[-pushed:]
        return Node(f"[feel_entries({last}, {outer}, [{', '.join(_py_string(k) for k in keys)}]) {' '.join(clauses)}][0]")


def _number(text: str) -> str:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # the token pattern admits digits only
        raise FeelError(f"“{text}”不是数字") from exc
    if value == value.to_integral_value() and "." not in text:
        return str(int(value))
    return f"feel_decimal({_py_string(text)})"


def _unescape(body: str, compiler: _Compiler) -> str:
    """A string literal's text, or the compiler's refusal naming the escape FEEL does not have."""
    try:
        return unescape_string(body)
    except BadEscape as exc:
        raise compiler.fail(str(exc)) from None


def compile_expression(text: str, functions: frozenset[str] = frozenset()) -> str:
    """Sandboxed Python for one FEEL expression over the context `ctx`; `functions` are the business knowledge
    models it may invoke. Raises FeelError naming what is not understood."""
    source = _Compiler(text.strip(), functions).compile()
    try:
        compile_feel(source)
    except Exception as exc:  # noqa: BLE001 - any refusal of the compiled text is a FEEL error to the modeller
        raise FeelError(f"FEEL 表达式“{text[:120]}”无法编译：{getattr(exc, 'message', exc)}") from exc
    return source


def is_name(text: str) -> bool:
    """True when the expression is one plain name (words only), read directly from the data without evaluation."""
    tokens = _tokens(text)
    return bool(tokens) and all(kind == "word" and value not in KEYWORDS | {"true", "false", "null", "not"} for kind, value in tokens)
