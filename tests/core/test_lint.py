"""gate lint: a policy that approves when a field it judges is missing is found, by asking the engine."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from gate.cli import main
from tests.conftest import said

from ..conftest import EXAMPLE_NOW, REPO, requires_opa
from .helpers import POLICY, release

NOW = ["--now", EXAMPLE_NOW]
READY = REPO / "examples" / "claims-triage" / "ready"

# The default library's fields that may be missing although a bad value blocks: each is recounted or
# computed when absent, and declared with `lint_optional` beside the rule that does so.
LIBRARY_OPTIONAL = {
    "data_quality evidence/quality-claims-intake.yaml data.malformed_rate",
    "data_quality evidence/quality-claims-intake.yaml data.success_ratio",
    "data_quality evidence/quality-fraud-signals.yaml data.malformed_rate",
    "data_quality evidence/quality-fraud-signals.yaml data.success_ratio",
    "data_quality evidence/quality-policy-admin.yaml data.malformed_rate",
    "data_quality evidence/quality-policy-admin.yaml data.success_ratio",
    "load_test evidence/load-fault.yaml data.recovery_s",
    "observability evidence/observability.yaml data.drift_score",
    # every label set's error rate, through the trailing `.*` of the declaration
    "observability evidence/observability.yaml data.signals.error_rate_by_input_type.value.claim",
    "observability evidence/observability.yaml data.signals.error_rate_by_input_type.value.invoice",
    "observability evidence/observability.yaml data.signals.error_rate_by_input_type.value.photo",
}

# Deny-only: judges the stress run's duration when it is there, says nothing when it is not.
DENY_ONLY = """package gate.custom

deny contains {"id": "custom.stress_duration", "msg": "the stress run is shorter than 10 minutes"} if {
\tsome e in input.evidence.load_test
\te.data.scenario == "stress"
\te.data.duration_s < 600
}
"""

# The same rule, written to deny on a missing duration too.
FAIL_CLOSED = DENY_ONLY + """
deny contains {"id": "custom.stress_duration", "msg": "the stress run reports no duration"} if {
\tsome e in input.evidence.load_test
\te.data.scenario == "stress"
\tnot is_number(object.get(e.data, "duration_s", null))
}
"""

TINY_FAIL_CLOSED = """package gate.technical

deny contains {"id": "technical.p95_latency", "msg": "p95 over the limit"} if {
  some e in input.evidence.load_test
  e.data.latency_ms.p95 > data.threshold.technical.p95_latency_ms
}

deny contains {"id": "technical.p95_latency", "msg": "no p95"} if {
  some e in input.evidence.load_test
  not is_number(object.get(e, ["data", "latency_ms", "p95"], null))
}
"""


def ready_copy(tmp_path, extra_policy: str | None = None):
    """The ready example with the default policies copied beside it, and gate.yaml pointing at the copy."""
    root = tmp_path / "ready"
    shutil.copytree(READY, root)
    shutil.copytree(REPO / "policies", root / "policies", ignore=shutil.ignore_patterns("*_test.rego"))
    if extra_policy:
        (root / "policies" / "custom.rego").write_text(extra_policy, encoding="utf-8")
    doc = yaml.safe_load((root / "gate.yaml").read_text(encoding="utf-8"))
    doc["policies"] = "policies"  # the example's threshold.yaml extends gate's (no GitHub, no protected ref)
    (root / "gate.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    return root / "gate.yaml"


# regopy 1.5.2 holds `null > 800` true (OPA: false, null orders before numbers), so there the deny-only
# rule blocks a null p95 and approves only an absent one: each engine is linted for what it decides.
@pytest.mark.parametrize(("engine", "when"), [("embedded", "missing"),
                                              pytest.param("opa-local", "missing or null",
                                                           marks=requires_opa)])
def test_deny_only_policy_is_flagged_naming_the_field(gate_workspace, capsys, engine, when):
    config = release(gate_workspace, p95=500)  # helpers.POLICY denies only when p95 is over the limit
    assert main(["lint", "-c", str(config), "--engine", engine, *NOW]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [("policy approves when load_test evidence/load.yaml "
                                          f"data.latency_ms.p95 is {when}"
                                          " (a bad value blocks: rule technical.p95_latency)")]
    assert "1 finding(s)" in captured.err


@pytest.mark.parametrize("engine", ["embedded", pytest.param("opa-local", marks=requires_opa)])
def test_policy_that_denies_the_missing_field_is_clean(gate_workspace, capsys, engine):
    config = release(gate_workspace, p95=500, policy=TINY_FAIL_CLOSED)
    assert main(["lint", "-c", str(config), "--engine", engine, *NOW]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "gate lint: clean" in captured.err


def test_json_report_names_field_rule_and_counts(gate_workspace, capsys):
    config = release(gate_workspace, p95=500)
    assert main(["lint", "-c", str(config), "--engine", "embedded", "--format", "json", *NOW]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["clean"] is False
    assert [(f["kind"], f["field"], f["approves_when"], f["blocked_by"]) for f in doc["findings"]] == [
        ("load_test", "data.latency_ms.p95", ["absent"], ["technical.p95_latency"])]
    assert doc["variants"] > doc["judged"] > 0
    assert doc["engine_calls"] >= 3  # the reference, the bad values, the missing values


def test_optional_flag_moves_a_finding_to_the_optional_list(gate_workspace, capsys):
    config = release(gate_workspace, p95=500)
    args = ["lint", "-c", str(config), "--engine", "embedded", "--optional", "load_test.latency_ms.p95", *NOW]
    assert main(args) == 0
    assert ("optional (--optional): load_test evidence/load.yaml data.latency_ms.p95 may "
            "be missing") in capsys.readouterr().out


def test_optional_declared_in_the_policy_is_honoured(gate_workspace, capsys):
    policy = POLICY + '\nlint_optional contains "load_test.latency_ms.p95"\n'
    config = release(gate_workspace, p95=500, policy=policy)
    assert main(["lint", "-c", str(config), "--engine", "embedded", *NOW]) == 0
    assert "data.latency_ms.p95 may be missing" in capsys.readouterr().out


def test_blocked_reference_exits_2_with_one_line_naming_the_config(gate_workspace, capsys):
    config = release(gate_workspace, p95=950)
    assert main(["lint", "-c", str(config), "--engine", "embedded", *NOW]) == 2
    err = capsys.readouterr().err
    assert len(said(err)) == 1 and "Traceback" not in err
    assert "needs an approving example" in err and str(config) in err and "technical.p95_latency" in err


@requires_opa
def test_deny_only_user_policy_beside_the_library_is_flagged(tmp_path, capsys):
    config = ready_copy(tmp_path, DENY_ONLY)
    assert main(["lint", "-c", str(config), "--engine", "opa-local", *NOW]) == 1
    findings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("policy approves")]
    # null < 600 holds in Rego (null orders before numbers): only an absent duration approves
    assert findings == [("policy approves when load_test evidence/load-stress.yaml data.duration_s is missing"
                         " (a bad value blocks: rule custom.stress_duration)")]


@requires_opa
def test_user_policy_written_fail_closed_is_clean(tmp_path, capsys):
    config = ready_copy(tmp_path, FAIL_CLOSED)
    assert main(["lint", "-c", str(config), "--engine", "opa-local", *NOW]) == 0


@requires_opa
def test_default_library_on_the_ready_example_is_clean_but_for_its_declared_optional_fields(capsys):
    config = READY / "gate.yaml"
    assert main(["lint", "-c", str(config), "--engine", "opa-local", "--format", "json", *NOW]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["findings"] == [] and doc["errors"] == []
    assert set(doc["optional"]) == LIBRARY_OPTIONAL
    assert doc["judged"] > 100  # the library judges most of what the example carries


@requires_opa
def test_a_library_fix_removed_is_found_again(tmp_path, capsys):
    """The library's missing-field deny for load_test error_rate, taken out: the lint names the field."""
    config = ready_copy(tmp_path)
    technical = config.parent / "policies" / "technical.rego"
    source = technical.read_text(encoding="utf-8")
    start = source.index('deny contains lib.finding(\n\t"technical.error_rate",\n\tsprintf("%s run %s '
                         'reports no error_rate')
    end = source.index("# Degradation:")
    technical.write_text(source[:start] + source[end:], encoding="utf-8")
    assert main(["lint", "-c", str(config), "--engine", "opa-local", *NOW]) == 1
    out = capsys.readouterr().out
    assert "load_test evidence/load-baseline.yaml data.error_rate is missing or null" in out
    assert "rule technical.error_rate" in out


def test_a_variant_the_policy_fails_on_is_reported_never_an_approval(gate_workspace, capsys):
    """regopy cannot build a finding whose head calls object.get on null (gate evaluate would exit 3):
    the batch holding that variant fails, the lint splits it until the variant is found, and reports it."""
    policy = TINY_FAIL_CLOSED + """
deny contains {"id": "technical.latency_shape", "msg": "latency_ms is not a mapping",
  "observed": object.get(e.data.latency_ms, "p95", null)} if {
  some e in input.evidence.load_test
  not is_object(e.data.latency_ms)
}
"""
    config = release(gate_workspace, p95=500, policy=policy)
    assert main(["lint", "-c", str(config), "--engine", "embedded", "--format", "json", *NOW]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["findings"] == []
    assert [e.split(":")[0] for e in doc["errors"]] == ["load_test evidence/load.yaml data.latency_ms null"]


@requires_opa
def test_a_vacuity_only_one_engine_has_is_found_on_that_engine(gate_workspace, capsys):
    """`not is_number(object.get(e.data, ...))` with e.data absent: regopy holds `not` of an undefined call
    true and denies; OPA holds it undefined and approves. The lint asks each engine what it decides."""
    policy = TINY_FAIL_CLOSED.replace('object.get(e, ["data", "latency_ms", "p95"], null)',
                                      'object.get(e.data, ["latency_ms", "p95"], null)')
    config = release(gate_workspace, p95=500, policy=policy)
    assert main(["lint", "-c", str(config), "--engine", "embedded", *NOW]) == 0
    capsys.readouterr()
    assert main(["lint", "-c", str(config), "--engine", "opa-local", *NOW]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "policy approves when load_test evidence/load.yaml data is missing or null (a bad value blocks: rule "
        "technical.p95_latency)"]


def test_a_trailing_star_covers_the_keys_of_one_mapping_and_no_deeper():
    from gate.lint import _optional

    wanted = {"observability.signals.error_rate_by_input_type.value.*"}
    assert _optional("observability.signals.error_rate_by_input_type.value.claim", wanted)
    assert not _optional("observability.signals.error_rate_by_input_type.value.claim.deeper", wanted)
    assert not _optional("observability.signals.error_rate_by_input_type.value", wanted)
    assert not _optional("observability.signals.confidence_distribution.value.p10", wanted)


def test_a_slow_engine_gets_batches_sized_to_a_quarter_of_its_timeout():
    """On a loaded machine one evaluation of a large release can take seconds: 200 variants in one call
    of the data-module path would pass the engine timeout and end the lint in exit 3."""
    from types import SimpleNamespace

    from gate.lint import BATCH, batch_size

    engine = SimpleNamespace(name="plugin", timeout_s=60)  # a plugin's engine with a timeout
    assert batch_size(engine, 0.01) == BATCH
    assert batch_size(engine, 1.5) == 10           # 10 x 1.5 s = 15 s, a quarter of 60
    assert batch_size(engine, 90) == 1             # never zero
    assert batch_size(object(), 0.01) == BATCH     # a configured OPA, an engine without a timeout


@requires_opa
def test_on_opa_local_variants_are_batched_inputs_asked_for_deny_sets_with_the_data_module_report(
        gate_workspace, capsys, monkeypatch):
    """opa-local asks for variants as inputs, many to a query and only their deny sets, composed of parts
    written once; the report is the one plain documents give, and the one the generated module's path
    (data documents, as on regopy) gives on the same server."""
    from typing import Protocol, runtime_checkable

    from gate import lint
    from gate.engine.opa import batch

    @runtime_checkable
    class Nothing(Protocol):
        def no_engine_has_this(self) -> None: ...

    queries: list[str] = []
    real_query = batch.query
    monkeypatch.setattr(batch, "query", lambda reads: queries.append(reads) or real_query(reads))
    config = release(gate_workspace, p95=500)  # helpers.POLICY: one finding
    from gate.engine.opa import LocalOpaEngine

    reports = []
    for path in ("composed", "plain", "module"):
        many = path != "module"
        if path == "plain":  # an engine that batches but takes plain documents (a plugin's)
            monkeypatch.setattr(LocalOpaEngine, "composed_inputs", False)
        if not many:
            monkeypatch.setattr(lint, "ManyDecisions", Nothing)
        assert main(["lint", "-c", str(config), "--engine", "opa-local", "--format", "json", *NOW]) == 1
        doc = json.loads(capsys.readouterr().out)
        reports.append({key: doc[key] for key in ("findings", "optional", "errors", "judged", "variants")})
        if many:
            assert queries and all('"deny"' in q and '"warn"' not in q for q in queries)
            assert doc["engine_calls"] > 2
            if path == "composed":
                asked = len(queries)
    assert reports[0] == reports[1] == reports[2] and reports[0]["findings"]
    assert len(queries) == 2 * asked  # the module's path sends no batch query


def test_a_field_one_bad_value_judged_is_not_tried_with_the_next(gate_workspace, capsys, monkeypatch):
    """Bad values are tried in rounds: p95's huge value blocks, so its huge negative one is never asked;
    a field's second value is asked only where its first approved. The finding is the same."""
    from gate import lint

    answered: list[tuple[lint.Variant, str]] = []
    real = lint._Evaluator.outcomes

    def outcomes(self, variants):
        got = real(self, variants)
        answered.extend((v, verdict) for v, (verdict, _) in zip(variants, got))
        return got

    monkeypatch.setattr(lint._Evaluator, "outcomes", outcomes)
    config = release(gate_workspace, p95=500)
    assert main(["lint", "-c", str(config), "--engine", "embedded", "--format", "json", *NOW]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [f["field"] for f in doc["findings"]] == ["data.latency_ms.p95"]
    assert doc["variants"] == len(answered)
    bad = [(v, verdict) for v, verdict in answered if v.change == lint.BAD]
    assert [v.value for v, _ in bad if v.path == ("latency_ms", "p95")] == [lint.HUGE]
    seconds = [v for v, _ in bad if v.value == -lint.HUGE]
    assert seconds  # fields whose huge value approved get their huge negative one
    for second in seconds:
        firsts = [verdict for v, verdict in bad if (v.kind, v.item, v.path) == (second.kind, second.item,
                                                                               second.path)
                  and v.value == lint.HUGE]
        assert firsts == ["approve"]
