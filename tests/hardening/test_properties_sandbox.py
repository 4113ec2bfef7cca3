"""Property tests: every spelling of every builtin the sandbox refuses is refused by the guard, with the
file and the line of the reference, whatever the spelling: dots, string-keyed brackets (quoted, raw,
\\u-escaped), split over lines with comments inside the brackets, inside a template string, as a `with`
target or value, in a comprehension, behind a variable or a computed key, or a mix of these."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.errors import PolicyError
from gate.guard import SANDBOX
from gate.policyset import screen

from .strategies import FUZZ, tally

# every builtin the capabilities file leaves out (net.* in full), as OPA v1.18.1 names them
REFUSED = sorted({*SANDBOX, "net.cidr_contains", "net.cidr_contains_matches", "net.cidr_expand",
                  "net.cidr_intersects", "net.cidr_is_valid", "net.cidr_merge", "net.cidr_overlap"})
HEAD = "package gate.probe\n\nimport rego.v1\n\n"
LINE = 5  # the line the generated expression starts on


@st.composite
def selector(draw, part: str) -> str:
    """One selector of a reference naming `part`."""
    comment = draw(st.sampled_from(["", " # note\n\t", "\n\t\t", " "]))
    escaped = "".join(f"\\u{ord(c):04x}" if draw(st.booleans()) else c for c in part)
    return draw(st.sampled_from([
        f".{part}",
        f'["{part}"]',
        f"[`{part}`]",
        f'["{escaped}"]',
        f'[{comment}"{part}"\n]',
    ]))


@st.composite
def reference(draw, name: str) -> str:
    head, *rest = name.split(".")
    return head + "".join(draw(selector(part)) for part in rest)


@st.composite
def spelled_use(draw) -> tuple[str, str]:
    """(the builtin, a rule whose first line holds a reference to it)."""
    name = draw(st.sampled_from(REFUSED))
    ref = draw(reference(name))
    head, _, rest = name.partition(".")
    computed = f'{head}[k]' if rest else head
    body = draw(st.sampled_from([
        f"x := {ref}(input.a)",
        f'x := $"{{{ref}(input.a)}}"',
        f'x := $`text {{$"{{1}}"}} {{{ref}(input.a)}} more`',
        f"x := y if {{ y := f(1) with f as {ref} }}\n\nf(v) := v",
        f"x := y if {{ y := 1 with {ref} as g }}\n\ng(v) := v",
        f"x := [v | some v in {ref}(input.a)]",
        f"x := {{{ref}(input.a): 1}}",
        f'x := {computed}() if k := "{rest or head}"',
        f"x := {head}",
        f"x := ({head}).{rest or 'call'}()",
        f"x := input.a.{ref}(1)",  # rooted at input: a document, left alone (checked below)
    ]))
    return name, body


@FUZZ
@given(case=spelled_use())
def test_every_spelling_of_every_refused_builtin_is_refused(tmp_path_factory, case):
    name, body = case
    source = HEAD + body + "\n"
    path = tmp_path_factory.mktemp("sandbox") / "probe.rego"
    if body.startswith("x := input.a."):
        # rooted at input: a field of the input document, never a builtin (OPA and regopy read it so)
        screen(path, source)
        tally("sandbox", "spelling.document", "accepted")
        return
    with pytest.raises(PolicyError) as refused:
        screen(path, source)
    message = str(refused.value)
    assert message.startswith(f"{path}:"), message
    line = int(message[len(str(path)) + 1:].split(":")[0])
    assert LINE <= line <= LINE + body.count("\n"), message
    assert "gate refuses it on every engine" in message and "\n" not in message
    tally("sandbox", f"spelling.{name}", "refused")


@FUZZ
@given(parts=st.lists(st.sampled_from(REFUSED), min_size=2, max_size=4), data=st.data())
def test_mixed_spellings_in_one_module_name_the_first(tmp_path_factory, parts, data):
    rules = [f"r{i} := {data.draw(reference(name))}(input.a)" for i, name in enumerate(parts)]
    path = tmp_path_factory.mktemp("sandbox") / "probe.rego"
    with pytest.raises(PolicyError) as refused:
        screen(path, HEAD + "\n".join(rules) + "\n")
    message = str(refused.value)
    assert message.startswith(f"{path}:{LINE}: policy uses {parts[0]}"), message
    tally("sandbox", "spelling.mixed", "refused")


@FUZZ
@given(text=st.text(max_size=40), name=st.sampled_from(REFUSED))
def test_mentions_inside_strings_and_comments_are_not_code(tmp_path_factory, text, name):
    literal = json.dumps(f"{text} {name}() {text}")
    source = HEAD + f"note := {literal} # {name}() in a comment\n"
    screen(tmp_path_factory.mktemp("sandbox") / "probe.rego", source)
    tally("sandbox", "mention", "accepted")
