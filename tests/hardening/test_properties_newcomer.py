"""Property tests: `gate init` reading whatever a repository calls its accountability map. init only
proposes decision types: a file it cannot use is passed over, never a crash; what it takes is a list of
non-empty strings, and the threshold it writes is one gate accepts."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from gate.commands.init import PLACEHOLDER_TYPE, decision_types, threshold_text
from gate.threshold import load_threshold

from .strategies import FUZZ, dump, json_values, tally

maps = st.one_of(
    st.binary(max_size=300).map(lambda raw: ("bytes", raw)),
    json_values.map(lambda value: ("value", value)),
    st.lists(st.one_of(json_values, st.fixed_dictionaries({"decision_type": json_values})), max_size=5)
    .map(lambda ds: ("decisions", {"decisions": ds})),
)


@FUZZ
@given(found=maps)
def test_any_accountability_file_gives_string_decision_types_and_a_threshold_gate_accepts(tmp_path_factory,
                                                                                          found):
    root = tmp_path_factory.mktemp("repo")
    shape, content = found
    raw = content if shape == "bytes" else dump(content, as_json=False)
    (root / "accountability.yaml").write_bytes(raw)
    types, maps_read = decision_types(root)
    assert all(isinstance(t, str) and t.strip() == t and t for t in types)
    assert len(types) == len(set(types))
    (root / "threshold.yaml").write_text(threshold_text(types))
    written = yaml.safe_load((root / "threshold.yaml").read_text())["defaults"]["governance"]
    assert written["required_decision_types"] == (types or [PLACEHOLDER_TYPE])
    load_threshold(root / "threshold.yaml", "production")  # validates against the schema, or raises
    tally("parser", "init.accountability_map", "accepted" if maps_read else "skipped")


def test_a_decision_type_outside_the_basic_plane_is_written_as_itself():
    """json.dumps wrote U+10000 as two surrogate escapes, which YAML reads back as two characters
    (found by the property above in CI)."""
    for name in ["\U00010000", "triage \u2028 \"quoted\" \\ tab\t", "é"]:
        written = yaml.safe_load(threshold_text([name]))["defaults"]["governance"]
        assert written["required_decision_types"] == [name]
