"""The model-quality release stories, end to end through `gate evaluate`, read the way a reviewer reads
them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from gate.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
WORSE = SCENARIOS / "production-sample-worse-on-one-input-type"
NOW = "2026-11-26T12:00:00Z"


def decide(config: Path, capsys) -> tuple[int, dict, str]:
    code = main(["evaluate", "-c", str(config), "-f", "json", "--now", NOW, "--engine", "embedded"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_the_block_names_the_slice_both_figures_and_both_datasets(capsys):
    code, decision, _ = decide(WORSE / "gate.yaml", capsys)
    assert code == 1
    (finding,) = [f for f in decision["findings"] if f["rule"] == "technical.slice_below_floor"]
    message = finding["message"]
    assert "slice input_type=scanned_pdf" in message
    assert "74.44%" in message and "97.78%" in message  # production and pilot figures of the slice
    assert ("claims-2026-11-production-sample "
            "(sha256:") in message and "pilot-curated-2026-06 (sha256:" in message
    assert finding["observed"] == 0.7444 and finding["expected"] == 0.85


def test_the_regenerated_predictions_are_the_committed_ones(tmp_path):
    """make_predictions.py is deterministic: the files the stories read are the ones it writes."""
    import runpy

    copy = tmp_path / WORSE.name
    shutil.copytree(WORSE, copy)
    (tmp_path / "evaluated-only-on-the-pilot" / "predictions").mkdir(parents=True)
    runpy.run_path(str(copy / "make_predictions.py"), run_name="__main__")
    for name in ("pilot.csv", "production-sample.csv"):
        assert (copy / "predictions" / name).read_bytes() == (WORSE / "predictions" / name).read_bytes()


@pytest.mark.parametrize(("replace", "reason"), [
    ("claim_id,input_type,label,prediction,confidence\nC1,web_form,,adjuster,0.9\n",
     "column 'label': missing label"),
    ("claim_id,input_type,label,prediction,confidence\nC1,web_form,adjuster,adjuster,NaN\n", "got NaN"),
])
def test_an_unreadable_production_sample_blocks_and_never_approves(tmp_path, capsys, replace, reason):
    copy = tmp_path / "story"
    shutil.copytree(WORSE, copy)
    (copy / "predictions" / "production-sample.csv").write_text(replace)
    code, decision, err = decide(copy / "gate.yaml", capsys)
    assert code == 1 and decision["outcome"] == "block" and "Traceback" not in err
    (skipped,) = decision["skipped"]
    assert skipped["origin"] == "predictions/production-sample.csv" and reason in skipped["reason"]
    denied = {f["rule"] for f in decision["findings"] if f["level"] == "deny"}
    assert {"main.skipped_evidence", "technical.no_production_evaluation"} <= denied


def test_an_unknown_slice_column_in_gate_yaml_blocks(tmp_path, capsys):
    copy = tmp_path / "story"
    shutil.copytree(WORSE, copy)
    config = yaml.safe_load((copy / "gate.yaml").read_text())
    config["evidence"][2]["options"]["slices"] = ["channel"]
    (copy / "gate.yaml").write_text(yaml.safe_dump(config))
    code, decision, _ = decide(copy / "gate.yaml", capsys)
    assert code == 1
    assert "column 'channel' (options.slices) is not in the header" in decision["skipped"][0]["reason"]


def test_a_production_sample_without_a_role_is_a_configuration_error(tmp_path, capsys):
    copy = tmp_path / "story"
    shutil.copytree(WORSE, copy)
    config = yaml.safe_load((copy / "gate.yaml").read_text())
    del config["evidence"][2]["options"]["dataset"]["role"]
    (copy / "gate.yaml").write_text(yaml.safe_dump(config))
    code = main(["evaluate", "-c", str(copy / "gate.yaml"), "--now", NOW, "--engine", "embedded"])
    err = capsys.readouterr().err
    assert code == 2 and "options.dataset.role" in err and "Traceback" not in err
