"""The static guard: what each policy uses, and what the embedded engine must refuse.

regopy 1.5.2 lacks 37 of OPA's builtins and gets others wrong (../shared/regopy-notes.md). A missing
builtin does not fail loudly: the rule that calls it never fires, so a deny rule fails open. Before
the embedded engine evaluates anything, gate lists the builtins and constructs of every policy module
and refuses (exit 3, file and line, "use --engine opa") those regopy cannot be trusted with.

The scan works on references, not on text: the module is lexed (comments and string contents are not
code; the expressions of a template string are), and each reference is read as Rego reads it, its
selectors resolved, so `opa["runtime"]`, `opa[`runtime`]`, `opa . runtime` split over lines, a `with`
target or value, `$"{opa.runtime()}"` and `alias.http.send` all name the builtin they call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

# --- tokens ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|`[^`]*`|\#[^\n]*|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?'
    r"|:=|==|!=|<=|>=|\n|[^\s]"
)
_LEXEME = re.compile(r"\$[\"`]|" + _TOKEN.pattern)  # a template string starts with $" or $`


class Token(NamedTuple):
    kind: str  # string, raw, number, ident, op
    text: str
    line: int


@lru_cache(maxsize=256)
def tokens(source: str) -> tuple[Token, ...]:
    """The tokens of a module, comments dropped (cached: the sandbox screen and the guard read the same
    sources). A template string ($"a {expr} b", $`a {expr} b`) runs code: its expressions are lexed as
    code, each between a "(" and a ")", so nothing hides in one."""
    out: list[Token] = []
    _lex(source, 0, 1, out, in_template=False)
    return tuple(out)


def _lex(source: str, pos: int, line: int, out: list[Token], in_template: bool) -> tuple[int, int]:
    """Lex from pos; inside a template expression, stop after the "}" that closes it. Returns (pos, line)."""
    depth = 0
    append = out.append
    while True:
        for match in _LEXEME.finditer(source, pos):
            text = match.group()
            first = text[0]
            if first == "$" and len(text) == 2:  # $" or $`: a lone $ is only an operator character
                append(Token("op", "$", line))
                pos, line = _template(source, match.end() - 1, line, out)
                break  # go on after the template string
            if first == "\n":
                line += 1
            elif first == "#":
                continue
            elif first == '"':
                append(Token("string", text, line))
            elif first == "`":
                append(Token("raw", text, line))
                line += text.count("\n")
            elif first.isdigit():
                append(Token("number", text, line))
            elif first.isalpha() or first == "_":
                append(Token("ident", text, line))
            else:
                if in_template and text == "}" and depth == 0:
                    return match.end(), line
                depth += text == "{"
                depth -= text == "}"
                append(Token("op", text, line))
        else:
            return len(source), line


def _template(source: str, pos: int, line: int, out: list[Token]) -> tuple[int, int]:
    """A template string from its opening quote (at pos); its text is dropped, its expressions lexed."""
    quote = source[pos]
    pos += 1
    while pos < len(source):
        char = source[pos]
        if char == "\\" and quote == '"':
            pos += 2
        elif char == quote:
            return pos + 1, line
        elif char == "{":
            out.append(Token("op", "(", line))
            pos, line = _lex(source, pos + 1, line, out, in_template=True)
            out.append(Token("op", ")", line))
        else:
            line += char == "\n"
            pos += 1
    return pos, line


def package_of(source: str) -> str | None:
    """The package a module declares, or None."""
    toks = tokens(source)
    for i, tok in enumerate(toks):
        if (
            tok.kind == "ident"
            and tok.text == "package"
            and i + 1 < len(toks)
            and toks[i + 1].kind == "ident"
        ):
            return _chain(toks, i + 1)[0]
    return None


# --- what a module uses ---------------------------------------------------------------------------

KEYWORDS = {
    "package", "import", "as", "default", "else", "not", "with", "some", "every", "in", "if", "contains",
    "true", "false", "null",
}
# a `name(` right after one of these is a call; anywhere else at the top level it defines a function
_CALL_CONTEXT = KEYWORDS - {"default"} | {":=", "=", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/",
                                          "%", "&", "|", ",", ":", "(", "[", "{", ";"}


@dataclass(frozen=True)
class Use:
    """One builtin call or construct in one module."""

    name: str        # "strings.split_n", "with input as", ...
    kind: str        # "builtin" | "construct"
    line: int


@dataclass
class ModuleUsage:
    path: Path
    package: str
    uses: list[Use] = field(default_factory=list)
    functions: set[str] = field(default_factory=set)   # functions this module defines
    aliases: set[str] = field(default_factory=set)     # names bound by `import ... [as x]`
    calls: list[tuple[str, int, list[list[Token]]]] = field(default_factory=list)  # (name, line, args)
    literals: list[Token] = field(default_factory=list)

    def builtins(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for use in self.uses:
            if use.kind == "builtin":
                out.setdefault(use.name, []).append(use.line)
        return out

    def constructs(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for use in self.uses:
            if use.kind == "construct":
                out.setdefault(use.name, []).append(use.line)
        return out


def _chain(toks: tuple[Token, ...], i: int) -> tuple[str, int]:
    """The name of the reference starting at toks[i] and the index after its static part: `a.b.c`,
    `a["b"].c` and `a[`b`]` all name 'a.b.c' (a string-keyed bracket is the same selector as a dot)."""
    parts = [toks[i].text]
    j = i + 1
    while j + 1 < len(toks):
        if toks[j].text == "." and toks[j + 1].kind == "ident":
            parts.append(toks[j + 1].text)
            j += 2
        elif (toks[j].text == "[" and j + 2 < len(toks) and toks[j + 2].text == "]"
              and isinstance(key := _literal_text(toks[j + 1]), str)):
            parts.append(key)
            j += 3
        else:
            break
    return ".".join(parts), j


def _split_args(toks: tuple[Token, ...] | list[Token], open_index: int) -> tuple[list[list[Token]], int]:
    """The top-level comma-separated arguments of the bracket opening at open_index."""
    closing = {"(": ")", "[": "]", "{": "}"}
    depth = 0
    args: list[list[Token]] = [[]]
    j = open_index
    while j < len(toks):
        text = toks[j].text
        if toks[j].kind == "op" and text in closing:
            depth += 1
            if depth > 1:
                args[-1].append(toks[j])
        elif toks[j].kind == "op" and text in (")", "]", "}"):
            depth -= 1
            if depth == 0:
                return [a for a in args if a], j
            args[-1].append(toks[j])
        elif toks[j].kind == "op" and text == "," and depth == 1:
            args.append([])
        else:
            args[-1].append(toks[j])
        j += 1
    return [a for a in args if a], j


@lru_cache(maxsize=256)
def _analysed(path: Path, source: str) -> ModuleUsage:
    return analyse(path, source)


def analyse(path: Path, source: str) -> ModuleUsage:
    toks = tokens(source)
    usage = ModuleUsage(path=path, package="")
    depth = 0
    i = 0
    # first pass: package, imports, function definitions
    while i < len(toks):
        tok = toks[i]
        if tok.kind == "op" and tok.text in "([{":
            depth += 1
        elif tok.kind == "op" and tok.text in ")]}":
            depth -= 1
        elif depth == 0 and tok.kind == "ident" and tok.text == "package" and i + 1 < len(toks):
            usage.package, i = _chain(toks, i + 1)
            continue
        elif depth == 0 and tok.kind == "ident" and tok.text == "import" and i + 1 < len(toks):
            name, j = _chain(toks, i + 1)
            if j + 1 < len(toks) and toks[j].text == "as" and toks[j + 1].kind == "ident":
                usage.aliases.add(toks[j + 1].text)
                j += 2
            elif name.split(".")[0] in ("data", "input"):
                usage.aliases.add(name.split(".")[-1])
            i = j
            continue
        elif depth == 0 and tok.kind == "ident" and tok.text not in KEYWORDS:
            name, j = _chain(toks, i)
            previous = toks[i - 1].text if i else ""
            if j < len(toks) and toks[j].text == "(" and previous not in _CALL_CONTEXT and previous != ".":
                usage.functions.add(name)
            i = j
            continue
        i += 1
    # second pass: builtin calls and `with` targets
    i = 0
    while i < len(toks):
        tok = toks[i]
        if tok.kind in ("string", "raw", "number"):
            usage.literals.append(tok)
        elif tok.kind == "ident" and tok.text == "with" and i + 1 < len(toks) and toks[i + 1].kind == "ident":
            target, j = _chain(toks, i + 1)
            if target in ("input", "data") and j < len(toks) and toks[j].text == "as":
                usage.uses.append(Use(f"with {target} as", "construct", tok.line))
            else:
                usage.uses.append(Use(f"with {target}", "construct", tok.line))
            i = j  # the value after `as` is scanned like any expression
            continue
        elif tok.kind == "ident" and tok.text not in KEYWORDS and (i == 0 or toks[i - 1].text != "."):
            name, j = _chain(toks, i)
            if j < len(toks) and toks[j].text == "(":
                head = name.split(".")[0]
                if not (name in usage.functions or head in ("data", "input") or head in usage.aliases):
                    usage.uses.append(Use(name, "builtin", tok.line))
                    usage.calls.append((name, tok.line, _split_args(toks, j)[0]))
            i = j
            continue
        i += 1
    return usage


def analyse_all(files: Iterable) -> list[ModuleUsage]:
    """Usage of every module; functions defined in one file of a package count for all its files."""
    usages = [_analysed(f.path, f.source) for f in files]
    by_package: dict[str, set[str]] = {}
    for u in usages:
        by_package.setdefault(u.package, set()).update(u.functions)
    out = []
    for u in usages:
        local = by_package.get(u.package, set())
        uses = [use for use in u.uses if not (use.kind == "builtin" and use.name in local)]
        out.append(ModuleUsage(u.path, u.package, uses, u.functions, u.aliases,
                               [c for c in u.calls if c[0] not in local], u.literals))
    return out


# --- the sandbox: refused on every engine -----------------------------------------------------------

_NETWORK = "reaches the network"
_SCHEMA_REFS = ("follows a schema's $ref to any URL or file (OPA fetches http(s) even under allow_net: [] "
                "and reads file:// paths, /proc/self/environ included)")
SANDBOX = {
    "http.send": _NETWORK,
    "net.lookup_ip_addr": _NETWORK,
    "opa.runtime": "exposes the process environment, tokens included",
    "rego.parse_module": "parses other Rego at run time, outside what gate screened",
    "json.match_schema": _SCHEMA_REFS,
    "json.verify_schema": _SCHEMA_REFS,
    "providers.aws.sign_req": "signs requests for http.send, which gate refuses",
}
# builtin namespaces that hold a refused builtin: a reference into one with a computed key, or the
# namespace itself as a value, could name it; names listed here are what such a namespace may be used for
_NAMESPACES = {"http": (), "net": (), "opa": (), "providers": (),
               "rego": ("rego.v1", "rego.metadata.rule", "rego.metadata.chain"), "json": None}
_DOCUMENTS = ("data", "input")


def sandbox_reason(name: str) -> str | None:
    """Why gate refuses the builtin named so, or None. Every net.* is refused (the CIDR helpers too): one
    rule, the same on every engine, and a policy judging a release has no use for them."""
    if name in SANDBOX:
        return SANDBOX[name]
    if name.startswith("net."):
        return _NETWORK
    return None


@dataclass(frozen=True)
class Ref:
    """A reference as Rego reads it: head, then selectors (a name, or None where the key is computed)."""

    parts: tuple[str | None, ...]
    line: int
    spelled: str

    @property
    def name(self) -> str:
        """The static part: 'opa.runtime' for opa["runtime"], 'net' for net[x]."""
        static = []
        for part in self.parts:
            if part is None:
                break
            static.append(part)
        return ".".join(static)

    @property
    def computed(self) -> bool:
        return None in self.parts


def references(source: str) -> Iterator[Ref]:
    """Every reference in the module's code (strings and comments are not code; template-string
    expressions are), with selectors resolved: `.b`, `["b"]` and `[`b`]` are the same selector."""
    toks = tokens(source)
    for i, tok in enumerate(toks):
        if tok.kind != "ident" or tok.text in KEYWORDS or (i and toks[i - 1].text == "."):
            continue
        if i > 1 and toks[i - 1].text == "as" and _in_import(toks, i - 1):
            continue  # `import data.x as name` binds name; its uses are the references that matter
        parts: list[str | None] = [tok.text]
        j = i + 1
        while j < len(toks):
            if toks[j].text == "." and j + 1 < len(toks) and toks[j + 1].kind == "ident":
                parts.append(toks[j + 1].text)
                j += 2
            elif toks[j].text == "[":
                _, close = _split_args(toks, j)
                inner = toks[j + 1:close]
                key = _literal_text(inner[0]) if len(inner) == 1 else None
                parts.append(key if isinstance(key, str) else None)
                j = close + 1
            else:
                break
        yield Ref(tuple(parts), tok.line, "".join(t.text for t in toks[i:j]))


def _in_import(toks: tuple[Token, ...], as_index: int) -> bool:
    """Whether the `as` at as_index ends an import (`import a.b as`), not a `with ... as`."""
    j = as_index - 1
    while j > 0 and toks[j].text not in ("import", "with") and toks[j].line == toks[as_index].line:
        j -= 1
    return toks[j].text == "import"


def _ref_violation(ref: Ref) -> tuple[str, str] | None:
    """(what the reference names, why it is refused), or None when it names nothing refused."""
    head = ref.parts[0]
    if head in _DOCUMENTS:
        return None  # a document under data or input, not a builtin
    static = ref.name.split(".")
    for start in range(len(static)):  # `x.http.send` behind an import alias is still http.send
        for end in range(len(static), start, -1):
            why = sandbox_reason(".".join(static[start:end]))
            if why:
                return ".".join(static[start:end]), why
    if head not in _NAMESPACES:
        return None
    allowed = _NAMESPACES[head]
    if ref.computed:
        return f"{ref.name}[...]", f"is a computed reference into {head}.*, which holds builtins gate refuses"
    if allowed is None and len(ref.parts) > 1:
        return None  # json.<anything but what sandbox_reason named above>
    if allowed and any(ref.name == a or ref.name.startswith(a + ".") for a in allowed):
        return None
    return ref.name, f"is the {head}.* namespace gate refuses (or a part of it)"


def sandbox_violations(source: str) -> Iterator[tuple[int, str, str]]:
    """(line, name, why) for every reference to a refused builtin in the module's code, however it is
    spelled: a call, a `with` target or value, split over lines, string-keyed brackets (opa["runtime"]),
    inside a template string, or behind an import alias. Only refs rooted at data or input are left
    alone: they name documents, not builtins."""
    for ref in references(source):
        found = _ref_violation(ref)
        if found:
            name, why = found
            spelled = "".join(ref.spelled.split())
            shown = name if spelled in (name, name.split("[")[0]) else f"{name} (spelled {ref.spelled})"
            yield ref.line, shown, why


# --- what the embedded engine refuses --------------------------------------------------------------

_MISSING = "regopy 1.5.2 does not have it (a call is undefined or fails, so a deny rule using it never fires)"
REGOPY_MISSING = dict.fromkeys(
    (
        "json.match_schema",
        "json.verify_schema",
        "rego.metadata.rule",
        "rego.metadata.chain",
        "rego.parse_module",
        "strings.split_n",
        "strings.render_template",
        "http.send",
        "trace",
        "net.cidr_contains",
        "net.cidr_contains_matches",
        "net.cidr_expand",
        "net.cidr_intersects",
        "net.cidr_is_valid",
        "net.cidr_merge",
        "net.cidr_overlap",
        "net.lookup_ip_addr",
        "graphql.is_valid",
        "graphql.parse",
        "graphql.parse_and_verify",
        "graphql.parse_query",
        "graphql.parse_schema",
        "graphql.schema_is_valid",
        "providers.aws.sign_req",
        "crypto.x509.parse_and_verify_certificates_with_options",
        "all",
        "any",
        "re_match",
        "set_diff",
        "cast_array",
        "cast_boolean",
        "cast_null",
        "cast_object",
        "cast_set",
        "cast_string",
    ),
    _MISSING,
)
REGOPY_WRONG = {
    "time.diff": "regopy gets it wrong beyond a few days (use (t1 - t0) / 86400000000000 for days)",
    "time.format": "regopy prints a different text than OPA",
    "semver.is_valid": "regopy rejects \"v1.2.3\" and accepts leading zeros",
    "semver.compare": "regopy orders pre-releases after the release",
    "object.union": "regopy does not merge nested objects (use object.union_n or merge levels explicitly)",
    "to_number": "regopy accepts \"0x10\" and \" 1 \" and loses digits of long numbers",
    "opa.runtime": "regopy hands the policy the whole process environment",
}
# data-dependent: refused at evaluation time when the input holds what they get wrong (see embedded.py)
CASE_SENSITIVE = {"lower", "upper"}                       # ASCII only in regopy
ESCAPE_SENSITIVE = {"indexof", "indexof_n", "substring", "strings.reverse"}  # count the escape backslash
# gate.lib.fold's own lower(): reached only for text input.casefolded lacks, which gate fills with every
# input text regopy would lower wrong (jsonsafe.for_engines); exact on both engines for input text
FOLD = re.compile(r'object\.get\(object\.get\(input, "casefolded", \{\}\), (\w+), lower\(\1\)\)')

_VERB = re.compile(r"%(?P<flags>[-+# 0]*)(?P<width>\d*)(?:\.(?P<prec>\d+))?(?P<verb>[a-zA-Z%])")
_RFC3339_Z = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?[Zz]")


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    what: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}: {self.why}"


def embedded_problems(files: Iterable) -> list[Problem]:
    """Everything in the modules that regopy lacks or gets wrong, in file and line order."""
    problems: list[Problem] = []
    for usage in analyse_all(files):
        for use in usage.uses:
            if use.kind == "builtin" and use.name in REGOPY_MISSING:
                problems.append(Problem(usage.path, use.line, f"uses {use.name}", REGOPY_MISSING[use.name]))
            elif use.kind == "builtin" and use.name in REGOPY_WRONG:
                problems.append(Problem(usage.path, use.line, f"uses {use.name}", REGOPY_WRONG[use.name]))
            elif use.kind == "builtin" and (use.name.startswith("net.") or use.name.startswith("graphql.")):
                problems.append(Problem(usage.path, use.line, f"uses {use.name}", _MISSING))
            elif use.name == "with input as":
                problems.append(Problem(usage.path, use.line, "uses `with input as`",
                                        "regopy crashes the process on it (mock input fields instead: "
                                        "`with input.evidence as ...`)"))
        problems.extend(_call_problems(usage))
        problems.extend(_literal_problems(usage))
    problems.sort(key=lambda p: (str(p.path), p.line))
    return problems


def _literal_text(tok: Token) -> str | None:
    if tok.kind == "raw":
        return tok.text[1:-1]
    if tok.kind == "string":
        import json

        try:
            return json.loads(tok.text)
        except ValueError:
            return None
    return None


def _call_problems(usage: ModuleUsage) -> Iterator[Problem]:
    for name, line, args in usage.calls:
        if name == "sprintf":
            yield from _sprintf_problems(usage.path, line, args)
        elif name == "replace" and len(args) >= 2 and len(args[1]) == 1 and _literal_text(args[1][0]) == "":
            yield Problem(usage.path, line, 'uses replace(_, "", _)', "regopy never returns from it")
        elif name == "format_int" and len(args) == 2 and not (len(args[1]) == 1 and args[1][0].text == "10"):
            yield Problem(usage.path, line, "uses format_int with a base other than a literal 10",
                          "regopy ignores the base (format_int(10, 2) gives \"10\")")


def _sprintf_problems(path: Path, line: int, args: list[list[Token]]) -> Iterator[Problem]:
    if not args or len(args[0]) != 1:
        return
    fmt = _literal_text(args[0][0])
    if fmt is None:
        return
    verbs = [m for m in _VERB.finditer(fmt) if m.group("verb") != "%"]
    for m in verbs:
        verb, flags, width, prec = m.group("verb"), m.group("flags"), m.group("width"), m.group("prec")
        if verb in ("v", "q", "T"):
            yield Problem(path, line, f"sprintf uses %{verb}",
                          "regopy prints it differently from OPA (floats get 16 digits, %q is literal); "
                          "use %s with trim_space, %d, or %.2f")
            return
        if flags or width or (prec is not None and verb not in ("f", "e", "g")):
            yield Problem(path, line, f"sprintf uses {m.group()}", "regopy ignores flags and widths")
            return
    if len(args) < 2 or not args[1] or args[1][0].text != "[" or args[1][-1].text != "]":
        return
    values, _ = _split_args(args[1], 0)
    if len(values) != len(verbs):
        yield Problem(path, line, f"sprintf has {len(verbs)} verb(s) for {len(values)} value(s)",
                      "regopy gives undefined where OPA prints %!v(MISSING)")
        return
    if fmt.strip() == "%s":
        return
    for m, value in zip(verbs, values):
        if m.group("verb") != "s" or len(value) < 2:
            continue
        if value[0].kind == "ident" and value[1].text in ("(", ".") and value[-1].text == ")":
            called = value[0].text
            k = 1
            while k + 1 < len(value) and value[k].text == "." and value[k + 1].kind == "ident":
                called += "." + value[k + 1].text
                k += 2
            if value[k].text == "(" and called in _QUOTING_BUILTINS:
                yield Problem(path, line, f"sprintf %s of {called}(...)",
                              "regopy wraps the string in double quotes; pass trim_space(...) instead")
                return


# builtins whose string result regopy quotes when it is formatted with %s (regopy-notes.md section 3)
_QUOTING_BUILTINS = {
    "concat", "upper", "lower", "format_int", "sprintf", "replace", "substring", "trim", "trim_left",
    "trim_right", "trim_prefix", "trim_suffix", "json.marshal", "strings.reverse", "base64.encode",
    "hex.encode", "crypto.sha256", "time.format", "strings.replace_n", "yaml.marshal",
}


def _literal_problems(usage: ModuleUsage) -> Iterator[Problem]:
    for tok in usage.literals:
        if tok.kind == "number" and ("e" in tok.text or "E" in tok.text):
            try:
                value = float(tok.text)
            except ValueError:
                continue
            if value in (float("inf"), float("-inf")) or abs(value) > 1.7e308:
                yield Problem(usage.path, tok.line, f"number literal {tok.text}",
                              "regopy aborts the whole module on it")
        elif tok.kind in ("string", "raw"):
            text = _literal_text(tok)
            if text and _RFC3339_Z.search(text):
                yield Problem(usage.path, tok.line, f"timestamp literal {tok.text} ends in Z",
                              "regopy parses \"...Z\" as undefined; write +00:00 (gate normalises the input "
                              "so)")


def data_dependent(files: Iterable) -> dict[str, tuple[Path, int]]:
    """Builtins whose correctness on regopy depends on the data: name -> first (path, line)."""
    files = list(files)
    out: dict[str, tuple[Path, int]] = {}
    for file, usage in zip(files, analyse_all(files)):   # analyse_all keeps the files' order
        lines = file.source.splitlines()
        for use in usage.uses:
            if use.kind == "builtin" and (use.name in CASE_SENSITIVE or use.name in ESCAPE_SENSITIVE):
                if use.name == "lower" and 0 < use.line <= len(lines) and FOLD.search(lines[use.line - 1]):
                    continue
                out.setdefault(use.name, (usage.path, use.line))
    return out


def report(files: Iterable) -> list[dict]:
    """For `gate check`-like listings: per module, its builtins and constructs with lines."""
    files = list(files)
    problems = embedded_problems(files)
    out = []
    for usage in analyse_all(files):
        out.append({
            "path": str(usage.path),
            "package": usage.package,
            "builtins": usage.builtins(),
            "constructs": usage.constructs(),
            "embedded_refuses": [str(p) for p in problems if p.path == usage.path],
        })
    return out
