"""Artillery's ``ensure`` conditions, evaluated by gate against the report's aggregate.

Artillery 2.0.34 evaluates ``config.ensure`` at the end of a run, prints ``ok: ...`` / ``fail: ...`` under
"Checks:" and exits 1 when a strict one fails, but writes none of it into ``--output report.json``
(checked with a real run: tests/plugins/gate_loadtest/fixtures/artillery/verdict). So gate reads the
conditions from the test script (``options.script``) and evaluates them as the built-in ensure plugin
(artillery-plugin-ensure) does, over the same figures: the aggregate's counters and rates by name, and
each summary as ``<name>.<aggregation>`` (``http.response_time.p99``).

- ``thresholds: [{metric: N}]``: ``metric < N``, strict;
- ``conditions: [{expression, strict}]``: a filtrex expression; strict unless ``strict: false``;
- legacy ``p95: N`` (min, max, median, p95, p99): ``http.response_time.<key> < int(N)``, strict;
- ``maxErrorRate: N``: ``(vusers.created - vusers.completed) / vusers.created * 100 <= N``, strict.

A metric the report does not have fails the condition, as it does in Artillery. gate reads the subset of
filtrex that conditions use (numbers, metric names, + - * / %, comparisons, and, or, not, parentheses); an
expression outside it is refused naming it, never guessed.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from gate import EvidenceError

LEGACY = ("min", "max", "median", "p95", "p99")
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|(<=|>=|==|!=|<|>|\(|\)|\+|-|\*|/|%)|([A-Za-z_$][A-Za-z0-9_$.]*))")
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
    "!=": operator.ne}
_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": math.fmod}


class Unsupported(ValueError):
    pass


class Missing(ValueError):
    """A metric the report does not hold: the condition fails, as in Artillery."""


def _tokens(text: str, names: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        rest = text[pos:].lstrip()
        start = len(text) - len(rest)
        # Artillery swaps known metric names into the expression before filtrex reads it, so a name may
        # hold characters filtrex would not take (http.codes.200, plugins.metrics-by-endpoint...).
        known = next((n for n in names if rest.startswith(n) and not _continues(rest, len(n))), None)
        if known is not None:
            out.append(("name", known))
            pos = start + len(known)
            continue
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise Unsupported(f"cannot read {rest[:20]!r}")
        number, symbol, word = m.groups()
        if number is not None:
            out.append(("num", number))
        elif symbol is not None:
            out.append(("op", symbol))
        elif word in ("and", "or", "not"):
            out.append(("op", word))
        elif word in ("in", "if", "then", "else") or text[m.end():].lstrip().startswith("("):
            raise Unsupported(f"{word!r} (filtrex functions and keywords beyond and/or/not)")
        else:
            out.append(("name", word))
        pos = m.end()
    return out


def _continues(text: str, end: int) -> bool:
    return end < len(text) and (text[end].isalnum() or text[end] in "_$.")


class _Parser:
    """Recursive descent over filtrex's precedence: or < and < not < comparison < + - < * / %."""

    def __init__(self, tokens: list[tuple[str, str]], values: Mapping[str, float]) -> None:
        self.tokens, self.values, self.i = tokens, values, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, *ops: str) -> str | None:
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in ops:
            self.i += 1
            return tok[1]
        return None

    def parse(self) -> float:
        value = self.disjunction()
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return value

    def disjunction(self) -> float:
        value = self.conjunction()
        while self.take("or"):
            right = self.conjunction()
            value = 1.0 if (value or right) else 0.0
        return value

    def conjunction(self) -> float:
        value = self.negation()
        while self.take("and"):
            right = self.negation()
            value = 1.0 if (value and right) else 0.0
        return value

    def negation(self) -> float:
        if self.take("not"):
            return 0.0 if self.negation() else 1.0
        return self.comparison()

    def comparison(self) -> float:
        value = self.sum()
        op = self.take(*_COMPARE)
        if op is None:
            return value
        return 1.0 if _COMPARE[op](value, self.sum()) else 0.0

    def sum(self) -> float:
        value = self.product()
        while (op := self.take("+", "-")) is not None:
            value = _ARITH[op](value, self.product())
        return value

    def product(self) -> float:
        value = self.unary()
        while (op := self.take("*", "/", "%")) is not None:
            right = self.unary()
            if right == 0 and op in "/%":
                raise Missing("division by zero")
            value = _ARITH[op](value, right)
        return value

    def unary(self) -> float:
        if self.take("-"):
            return -self.unary()
        if self.take("("):
            value = self.disjunction()
            if not self.take(")"):
                raise Unsupported("a '(' without its ')'")
            return value
        tok = self.peek()
        if tok is None or tok[0] == "op":
            raise Unsupported(f"expected a number or a metric, got {tok[1] if tok else 'the end'!r}")
        self.i += 1
        if tok[0] == "num":
            return float(tok[1])
        if tok[1] not in self.values:
            raise Missing(tok[1])
        return self.values[tok[1]]


def evaluate(expression: str, values: Mapping[str, float]) -> tuple[bool, list[str]]:
    """(holds, metric names read). Unsupported when gate cannot read the expression."""
    names = sorted(values, key=len, reverse=True)
    tokens = _tokens(expression, names)
    used = [t for kind, t in tokens if kind == "name"]
    try:
        return bool(_Parser(tokens, values).parse()), used
    except Missing:
        return False, used


Condition = tuple[str, str, bool, "str | None"]


def conditions(ensure: Mapping[str, Any], shown: str) -> list[Condition]:
    """(as Artillery prints it, what it evaluates, strict, the one metric of a threshold) per condition."""
    out: list[Condition] = []
    for index, item in enumerate(ensure.get("thresholds") or []):
        if not isinstance(item, Mapping) or len(item) != 1:
            raise EvidenceError(f"{shown}: field 'config.ensure.thresholds[{index}]': expected "
                                f"{{metric: limit}}")
        (metric, limit), = item.items()
        out.append((f"{metric} < {limit}", f"{metric} < {limit}", True, str(metric)))
    for index, item in enumerate(ensure.get("conditions") or []):
        if not isinstance(item, Mapping) or not isinstance(item.get("expression"), str):
            raise EvidenceError(f"{shown}: field 'config.ensure.conditions[{index}].expression': expected an"
                                " expression text")
        strict = item.get("strict")
        out.append((item["expression"], item["expression"], strict if isinstance(strict, bool) else True,
                    None))
    for key in LEGACY:
        if key in ensure:
            try:
                limit = int(float(ensure[key]))
            except (TypeError, ValueError):
                raise EvidenceError(f"{shown}: field 'config.ensure.{key}': expected a "
                                    "number of ms") from None
            out.append((f"{key} < {limit}", f"http.response_time.{key} < {limit}", True,
                        f"http.response_time.{key}"))
    if "maxErrorRate" in ensure:
        limit = ensure["maxErrorRate"]
        out.append((f"maxErrorRate < {limit}",
                    f"((vusers.created - vusers.completed)/vusers.created * 100) <= {limit}", True, None))
    return out


def ensure_results(script: Any, shown: str, values: Mapping[str, float]) -> list[dict[str, Any]]:
    """load_test thresholds entries for the ensure conditions of an Artillery script."""
    config = script.get("config") if isinstance(script, Mapping) else None
    if not isinstance(config, Mapping):
        raise EvidenceError(f"{shown}: field 'config': missing; expected the Artillery test script")
    plugins = config.get("plugins") or {}
    if not isinstance(plugins, Mapping):
        raise EvidenceError(f"{shown}: field 'config.plugins': expected a mapping of Artillery plugins, got "
                            f"{type(plugins).__name__}")
    ensure = config.get("ensure") or plugins.get("ensure")
    if not isinstance(ensure, Mapping) or not ensure:
        raise EvidenceError(f"{shown}: field 'config.ensure': missing; expected the script's ensure "
                            "conditions"
                            " (options.script names the script whose conditions gate evaluates)")
    out = []
    for printed, expression, strict, metric in conditions(ensure, shown):
        try:
            holds, used = evaluate(expression, values)
        except Unsupported as exc:
            raise EvidenceError(f"{shown}: field 'config.ensure': gate cannot evaluate {expression!r} "
                                f"({exc});"
                                " expected numbers, metric names, + - * / %, comparisons, "
                                "and/or/not") from None
        observed_name = metric or (used[0] if len(set(used)) == 1 else None)
        observed = values.get(observed_name) if observed_name else None
        out.append({"metric": observed_name, "expression": printed, "crossed": not holds,
                    "observed": None if observed is None else round(float(observed), 4),
                    "verdict_from": "gate", "strict": strict})
    return out
