"""The policy set: every .rego file under the configured paths, digested and screened.

Policies are sandboxed before any engine sees them: a call that reaches the network (http.send,
net.*) or the process environment (opa.runtime, which hands a policy every environment variable,
tokens included) is refused with the file and line.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from gate.errors import PolicyError

FORBIDDEN = {
    "http.send": "reaches the network",
    "net.lookup_ip_addr": "reaches the network",
    "opa.runtime": "exposes the process environment, tokens included",
}
# any net.* builtin is refused: several are network lookups, the rest are missing in regopy
_FORBIDDEN_RE = re.compile(r"(?<![\w.])(http\s*\.\s*send|net\s*\.\s*\w+|opa\s*\.\s*runtime)\b")
_PACKAGE_RE = re.compile(r"^\s*package\s+([\w.]+)", re.M)


@dataclass(frozen=True)
class PolicyFile:
    path: Path
    source: str
    package: str

    @property
    def is_test(self) -> bool:
        return self.path.name.endswith("_test.rego")


@dataclass(frozen=True)
class PolicySet:
    files: tuple[PolicyFile, ...]
    digest: str

    @property
    def modules(self) -> tuple[PolicyFile, ...]:
        """The files an evaluation loads: everything but the *_test.rego files."""
        return tuple(f for f in self.files if not f.is_test)


def strip_comments_and_strings(source: str) -> str:
    """Blank out comments and string literals, keeping line breaks, so a scan sees only code."""
    out = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "#":
            end = source.find("\n", i)
            end = n if end == -1 else end
            out.append(" " * (end - i))
            i = end
        elif ch == '"':
            j = i + 1
            while j < n and source[j] != '"' and source[j] != "\n":
                j += 2 if source[j] == "\\" else 1
            out.append('""' + " " * max(0, j - i - 1))
            i = j + 1
        elif ch == "`":
            j = source.find("`", i + 1)
            j = n if j == -1 else j
            out.append("".join("\n" if c == "\n" else " " for c in source[i:j + 1]))
            i = j + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def screen(path: Path, source: str) -> None:
    code = strip_comments_and_strings(source)
    for match in _FORBIDDEN_RE.finditer(code):
        call = re.sub(r"\s+", "", match.group(1))
        line = code.count("\n", 0, match.start()) + 1
        why = FORBIDDEN.get(call, "reaches the network" if call.startswith("net.") else "is not allowed")
        raise PolicyError(f"{path}:{line}: policy calls {call}, which {why}; gate refuses it")


def load_policies(paths: tuple[Path, ...] | list[Path], include_tests: bool = True) -> PolicySet:
    files: list[PolicyFile] = []
    for root in paths:
        if root.is_dir():
            candidates = sorted(root.rglob("*.rego"))
        elif root.is_file():
            candidates = [root]
        else:
            raise PolicyError(f"{root}: policy path not found")
        for path in candidates:
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise PolicyError(f"{path}: cannot read policy: {exc}") from None
            screen(path, source)
            match = _PACKAGE_RE.search(strip_comments_and_strings(source))
            if not match:
                raise PolicyError(f"{path}:1: no package declaration")
            files.append(PolicyFile(path=path, source=source, package=match.group(1)))
    if not any(not f.is_test for f in files):
        raise PolicyError(f"no policies found under {', '.join(map(str, paths))}")
    if not include_tests:
        files = [f for f in files if not f.is_test]
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path.name):
        if not f.is_test:
            digest.update(f.path.name.encode() + b"\0" + f.source.encode() + b"\0")
    return PolicySet(files=tuple(files), digest="sha256:" + digest.hexdigest())
