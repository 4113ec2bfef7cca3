"""Rego source as gate reads it without an engine: the .rego files under a policy path, their text, and
what the text declares (the rule ids its findings carry, the deny and warn sets it defines, its test
rules). One reader, through one lexer (gate.guard.tokens: comments dropped, strings whole), so that the
policy set, the reports, `gate test` and the OPA engine agree on what a policy says.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from gate.errors import PolicyError
from gate.guard import Token, tokens

SUFFIX = ".rego"
TEST_SUFFIX = "_test.rego"   # Rego unit tests: `gate test` runs them; no evaluation loads them
# A rule id is `<package>.<rule>` (docs/input-document.md): what waivers, reports and the log name.
RULE_ID = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
_SET_HEAD = {level: re.compile(rf"^{level}\s+(?:contains\b|\[|if\b|\{{)", re.MULTILINE)
             for level in ("deny", "warn")}
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)
_TOP_LEVEL = re.compile(r"^[A-Za-z_]", re.MULTILINE)


def is_test(path: Path) -> bool:
    return path.name.endswith(TEST_SUFFIX)


def files_under(root: Path, include_tests: bool = False) -> list[Path]:
    """The .rego files of one policy path: a folder's, recursively and sorted, or the file itself;
    *_test.rego files only when include_tests. A path that is neither is a PolicyError."""
    if root.is_dir():
        candidates = sorted(root.rglob("*" + SUFFIX))
    elif root.is_file():
        candidates = [root]
    else:
        raise PolicyError(f"{root}: policy path not found")
    return [path for path in candidates if include_tests or not is_test(path)]


def read(path: Path) -> str:
    """A policy file's text (UTF-8); one line naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read policy: {exc}") from None


def rule_ids(source: str) -> set[str]:
    """The rule ids a module gives its findings (see rule_id_lines)."""
    return set(rule_id_lines(source))


def rule_id_lines(source: str) -> dict[str, int]:
    """Rule id -> the first line giving it: every string literal of the form <package>.<rule> whose
    package is the module's own (`data.freshness` in `package gate.data`: ids are often passed through a
    helper that wraps lib.finding), and any literal value of an "id" field of that form. Comments do not
    count; a rule whose id is computed at run time is not seen here."""
    toks = tokens(source)
    own = _own_prefix(toks)
    found: dict[str, int] = {}
    for i, tok in enumerate(toks):
        if not _is_id_literal(tok):
            continue
        value = tok.text[1:-1]
        an_id_field = i >= 2 and toks[i - 1].text == ":" and toks[i - 2].text == '"id"'
        if an_id_field or (own is not None and value.startswith(own)):
            found.setdefault(value, tok.line)
    return found


def _own_prefix(toks: list[Token]) -> str | None:
    """"data." for a module in package gate.data (the rule ids it may give); None outside gate.*."""
    for i, tok in enumerate(toks[:-3]):
        if tok.kind == "ident" and tok.text == "package":
            if toks[i + 1].text == "gate" and toks[i + 2].text == "." and toks[i + 3].kind == "ident":
                return toks[i + 3].text + "."
            return None
    return None


def ids_named(source: str) -> set[str]:
    """Every string literal of the form <package>.<rule> in the source, comments left out: the rule ids
    a test names."""
    return {tok.text[1:-1] for tok in tokens(source) if _is_id_literal(tok)}


def _is_id_literal(tok: Token) -> bool:
    return tok.kind == "string" and RULE_ID.fullmatch(tok.text[1:-1]) is not None


def defines_set(source: str, level: str) -> bool:
    """Whether the module defines a `deny` or `warn` set rule (`deny contains ...`, `deny[...]`,
    `deny if`, `deny {`), at the start of a line as gate's policies write them."""
    return _SET_HEAD[level].search(source) is not None


def code_only(source: str) -> str:
    """Comments and string literals blanked out, line breaks kept: what is left is code."""
    out = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "#":
            end = source.find("\n", i)
            end = n if end == -1 else end
            out.append(" " * (end - i))
            i = end
        elif ch in "\"`":
            j = i + 1
            while j < n and source[j] != ch and not (ch == '"' and source[j] == "\n"):
                j += 2 if ch == '"' and source[j] == "\\" else 1
            out.append("".join(c if c == "\n" else " " for c in source[i:j + 1]))
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def test_rules(source: str) -> list[tuple[str, int, int]]:
    """(test rule name, start, end) of every test_* definition, in source order."""
    code = code_only(source)
    starts = [m.start() for m in _TOP_LEVEL.finditer(code)] + [len(source)]
    spans = []
    for begin, end in itertools.pairwise(starts):
        match = _TEST_RULE.match(code, begin)
        if match:
            spans.append((match.group(1), begin, end))
    return spans
