"""Property tests: what decide() records for the renderers, on hostile input. Rule ids read from any
policy text point at a line that spells them; a location's line is only ever the line a collector gave
for that very file; a report rendered from such a Decision is well-formed and never invents a line."""

from __future__ import annotations

import io
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gate.collect import _with_line
from gate.evaluate import located
from gate.model import Finding, Skipped
from gate.policyset import PolicyFile, PolicySet, declared_rules
from gate.render.sarif import SarifRenderer

from ..render.conftest import make_decision
from .strategies import FUZZ, tally

ORIGINS = st.sampled_from(["evidence/a.yaml", "evidence/b.yaml", "e/a.yaml", "https://x.example/a", "a.yaml"])
rego_lines = st.one_of(
    st.sampled_from(
        [
            "package gate.data",
            "package gate.technical",
            '# deny {"id": "data.hidden"}',
            'deny contains {"id": "data.freshness"} if { true }',
            'x := ["technical.p95", "data.drift"]',
            '"id":',
            '  "data.split_id"',
            "",
            "}",
        ]
    ),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
)


@FUZZ
@given(lines=st.lists(rego_lines, max_size=12))
def test_every_rule_id_read_points_at_a_line_that_spells_it(lines):
    source = "\n".join(lines)
    module = PolicyFile(path=Path("p.rego"), source=source, package="gate.data")
    rules = declared_rules(PolicySet(files=(module,), digest="sha256:0"))
    text = source.split("\n")  # lines as OPA and the lexer count them: a lone \r does not end one
    for rule in rules:
        assert 1 <= rule.line <= len(text)
        # an id field may put its value on a later line than "id": the id is on the line given
        assert rule.id in text[rule.line - 1] and not text[rule.line - 1].lstrip().startswith("#")
    assert [r.id for r in rules] == sorted({r.id for r in rules})
    tally("parser", "renderalone.rule_ids", "accepted")


@FUZZ
@given(
    skips=st.lists(st.tuples(ORIGINS, ORIGINS, st.integers(1, 10**6), st.booleans()), max_size=6),
    named=st.lists(ORIGINS, max_size=4, unique=True),
)
def test_a_location_line_is_only_the_line_given_for_that_file(skips, named):
    skipped = []
    for origin, mentioned, line, structured in skips:
        reason = f"{mentioned}:{line}: field 'x': expected a number"
        item = Skipped(
            kind="load_test", source="k6", origin=origin, reason=reason, line=line if structured else None
        )
        skipped.append(_with_line(item))
    finding = Finding(
        level="deny", rule="main.skipped_evidence", dimension="main", message="m", evidence=tuple(named)
    )
    (out,) = located([finding], (), skipped)
    given_lines = {}
    for item in skipped:
        if item.line is not None:
            given_lines.setdefault(item.origin, item.line)
    assert [(loc.origin, loc.line) for loc in out.locations] == [(o, given_lines.get(o)) for o in named]
    for item, (origin, mentioned, line, structured) in zip(skipped, skips):
        # a line read from a reason is the reason's line for this very file, never another file's
        assert item.line == (line if structured or mentioned == origin else None)
    sarif = io.StringIO()
    SarifRenderer().render(make_decision([out], skipped=skipped), sarif)
    regions = [
        loc["physicalLocation"].get("region")
        for result in json.loads(sarif.getvalue())["runs"][0]["results"]
        for loc in result["locations"]
    ]
    assert [r["startLine"] for r in regions if r] == [given_lines[o] for o in named if o in given_lines]
    tally("fault", "renderalone.locations", "accepted")
