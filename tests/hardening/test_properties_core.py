"""Property tests: gate.yaml, threshold.yaml and the `file` collector on hostile input.
The only outcomes allowed are a one-line ConfigError (exit 2) or a Skipped that blocks; never another
exception, never an approval."""

from __future__ import annotations

import copy
import shutil

import yaml
from hypothesis import given
from hypothesis import strategies as st

from gate.builtins.file_collector import FileCollector
from gate.cli import main
from gate.config import load_config
from gate.errors import ConfigError
from gate.model import Context, Evidence, Skipped
from gate.threshold import load_threshold

from ..conftest import EXAMPLE_NOW, REPO
from .strategies import FUZZ, dump, json_values, mutate, replace_leaf, tally

EXAMPLE = REPO / "examples" / "claims-triage" / "ready"
THRESHOLD = REPO / "policies" / "threshold.yaml"


@FUZZ
@given(raw=st.binary(max_size=400))
def test_arbitrary_bytes_as_gate_yaml_are_a_config_error(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("cfg") / "gate.yaml"
    path.write_bytes(raw)
    try:
        load_config(path)
        tally("parser", "core.gate.yaml", "accepted")
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(path) in str(exc)
        tally("parser", "core.gate.yaml", "config-error")


@FUZZ
@given(data=st.data())
def test_damaged_gate_yaml_is_a_config_error_or_valid(tmp_path_factory, data):
    doc = yaml.safe_load((EXAMPLE / "gate.yaml").read_text())
    raw = mutate(dump(replace_leaf(copy.deepcopy(doc), data), data.draw(st.booleans())), data)
    path = tmp_path_factory.mktemp("cfg") / "gate.yaml"
    path.write_bytes(raw)
    try:
        load_config(path)
        tally("parser", "core.gate.yaml", "accepted")
    except ConfigError as exc:
        assert "\n" not in str(exc)
        tally("parser", "core.gate.yaml", "config-error")


@FUZZ
@given(data=st.data())
def test_damaged_threshold_is_a_config_error_or_valid(tmp_path_factory, data):
    doc = yaml.safe_load(THRESHOLD.read_text())
    raw = mutate(dump(replace_leaf(copy.deepcopy(doc), data), False), data)
    path = tmp_path_factory.mktemp("thr") / "threshold.yaml"
    path.write_bytes(raw)
    try:
        load_threshold(path, data.draw(st.sampled_from(["production", "staging", "nope"])))
        tally("parser", "core.threshold.yaml", "accepted")
    except ConfigError as exc:
        assert "\n" not in str(exc)
        tally("parser", "core.threshold.yaml", "config-error")


@FUZZ
@given(data=st.data())
def test_damaged_evidence_is_skipped_or_valid_never_a_crash(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("ev")
    source = data.draw(st.sampled_from(sorted((EXAMPLE / "evidence").glob("*.yaml"))))
    doc = yaml.safe_load(source.read_text())
    as_json = data.draw(st.booleans())
    raw = mutate(dump(replace_leaf(copy.deepcopy(doc), data), as_json), data)
    target = root / ("item.json" if as_json else "item.yaml")
    target.write_bytes(raw)
    (root / "gate.yaml").write_text("service: {name: claims-triage}\nevidence:\n  - collector: file\n    "
                                    "path: 'item.*'\n")
    spec = load_config(root / "gate.yaml").evidence[0]
    items = list(FileCollector().collect(spec, Context(service="claims-triage")))
    assert len(items) == 1 and isinstance(items[0], (Evidence, Skipped))
    if isinstance(items[0], Skipped):
        assert "\n" not in items[0].reason and target.name in items[0].reason
    tally("parser", "core.file-collector", "skipped" if isinstance(items[0], Skipped) else "evidence")


@FUZZ
@given(data=st.data())
def test_a_damaged_evidence_file_never_turns_a_block_into_an_approval(tmp_path_factory, data):
    """The blocked example stays blocked whatever happens to any one of its files."""
    root = tmp_path_factory.mktemp("blocked")
    shutil.copytree(REPO / "examples" / "claims-triage" / "blocked", root, dirs_exist_ok=True)
    victim = data.draw(st.sampled_from(sorted((root / "evidence").glob("*.yaml"))))
    victim.write_bytes(mutate(victim.read_bytes(), data))
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", "json", "-o", str(root / "out.json"),
                 "--now", EXAMPLE_NOW])
    tally("parser", "core.end-to-end(blocked example)",
          {0: "approved", 1: "blocked", 2: "config-error", 3: "exit-3"}.get(code, "crash"))
    assert code == 1


@FUZZ
@given(value=json_values)
def test_any_value_in_evidence_data_reaches_a_decision_or_a_skip(tmp_path_factory, value):
    root = tmp_path_factory.mktemp("val")
    shutil.copytree(EXAMPLE, root, dirs_exist_ok=True)
    path = root / "evidence" / "load-stress.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["data"]["latency_ms"]["p95"] = value
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    code = main(["evaluate", "-c", str(root / "gate.yaml"), "-f", "json", "-o", str(root / "o.json"),
                 "--now", EXAMPLE_NOW])
    plausible = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 800
    outcome = {0: "accepted" if plausible else "approved", 1: "blocked", 2: "config-error", 3: "exit-3"}
    tally("parser", "core.end-to-end(any p95 value)", outcome.get(code, "crash"))
    # anything that is not a number within the limit blocks; a number within it may still block
    # (inconsistent with p50/p99, or too far above the baseline), but is never an error (a number no
    # engine reads exactly, 1.79e308 or 5e-324, is refused at collection: gate.numbers; non-ASCII text is
    # decided, since gate.lib.fold, not refused as regopy's lower() made it)
    assert code in ((1,) if not plausible else (0, 1)), value
