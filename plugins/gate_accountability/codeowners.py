"""GitHub CODEOWNERS: who owns a path.

The syntax GitHub documents: one rule a line, a gitignore-style pattern then owners (@user, @org/team,
or an e-mail); `#` starts a comment; the last matching rule wins; a pattern with no owners leaves the
path without owners. `!` negation and `[...]` ranges are not supported by GitHub and are refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gate import EvidenceError
from gate.collector import read_bytes

# Where GitHub looks, in its order of precedence.
LOCATIONS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
MAX_BYTES = 3 * 1024 * 1024  # GitHub ignores a CODEOWNERS file larger than 3 MB
_OWNER = re.compile(r"^(@[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9._-]+)?|[^@\s]+@[^@\s]+\.[^@\s]+)$")


@dataclass(frozen=True)
class Rule:
    pattern: str
    owners: tuple[str, ...]
    line: int
    regex: re.Pattern[str]


@dataclass(frozen=True)
class CodeOwners:
    path: str
    rules: tuple[Rule, ...]

    def owners_of(self, file_path: str) -> tuple[str, ...]:
        """Owners of a path relative to the repository root; () when no rule gives it owners."""
        target = file_path.strip()
        while target.startswith(("./", "/")):
            target = target[2:] if target.startswith("./") else target[1:]
        for rule in reversed(self.rules):
            if rule.regex.fullmatch(target):
                return rule.owners
        return ()


def parse(text: str, shown: str) -> CodeOwners:
    rules = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = _split(line)
        if not parts:  # only a `\` escape, or an escaped space: no pattern
            continue
        pattern, owners = parts[0], tuple(parts[1:])
        if pattern.startswith("!") or "[" in pattern:
            raise EvidenceError(f"{shown}:{number}: pattern {pattern!r}: GitHub does not support `!` or "
                                "`[...]`"
                                " in CODEOWNERS")
        for owner in owners:
            if not _OWNER.match(owner):
                raise EvidenceError(f"{shown}:{number}: owner {owner!r}: expected @user, @org/team or an "
                                    "e-mail")
        rules.append(Rule(pattern, owners, number, re.compile(to_regex(pattern))))
    return CodeOwners(shown, tuple(rules))


def _split(line: str) -> list[str]:
    """Fields of a rule, with a trailing `# comment` dropped and `\\#`, `\\ ` kept in the pattern."""
    fields, current, escaped = [], "", False
    for char in line:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "#" and not current:
            break
        elif char.isspace():
            if current:
                fields.append(current)
                current = ""
        else:
            current += char
    if current:
        fields.append(current)
    return fields


def to_regex(pattern: str) -> str:
    """A gitignore-style pattern as a regex over paths relative to the repository root."""
    anchored = "/" in pattern.rstrip("/")
    directory = pattern.endswith("/")
    body = pattern.strip("/")
    out = []
    i = 0
    while i < len(body):
        if body.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif body.startswith("**", i):
            out.append(".*")
            i += 2
        elif body[i] == "*":
            out.append("[^/]*")
            i += 1
        elif body[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(body[i]))
            i += 1
    regex = "".join(out)
    if not anchored:
        regex = "(?:.*/)?" + regex
    # A directory pattern owns what is inside it. A last segment with a wildcard (docs/*) owns only what
    # it matches, not files nested further (GitHub's documented difference from .gitignore); any other
    # pattern owns the path or what is under it.
    last = body.rsplit("/", 1)[-1]
    if directory:
        return regex + "/.*"
    if "*" in last.replace("**", "") or "?" in last:
        return regex
    return regex + "(?:/.*)?"


def load(path: Path, shown: str) -> CodeOwners:
    raw = read_bytes(path, EvidenceError, MAX_BYTES)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"{shown}: not UTF-8 text (byte {exc.start})") from None
    return parse(text, shown)
