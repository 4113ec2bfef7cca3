"""`gate init --server`: the release workflow uploads the evidence artifact gate serve decides from."""

from __future__ import annotations

import yaml

from gate.cli import main


def _steps(root):
    workflow = yaml.safe_load((root / ".github" / "workflows" / "release-gate.yml").read_text())
    return workflow["jobs"]["gate"]["steps"]


def test_init_server_adds_the_evidence_upload_before_the_gate(tmp_path):
    assert main(["init", str(tmp_path), "--yes", "--server", "--service", "claims-triage"]) == 0
    steps = _steps(tmp_path)
    names = [s.get("name") for s in steps]
    upload = steps[names.index("Upload the evidence for gate serve")]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["name"] == "gate-evidence"
    assert upload["with"]["path"] == "${{ runner.temp }}/gate-evidence/"
    stage = steps[names.index("Stage the evidence for gate serve")]
    assert "gate-evidence.json" in stage["run"] and "$COMMIT" in stage["run"]
    assert stage["env"]["COMMIT"] == "${{ github.event.pull_request.head.sha || github.sha }}"
    assert names.index("Upload the evidence for gate serve") < names.index("Gate the release")


def test_init_without_server_has_no_upload(tmp_path):
    assert main(["init", str(tmp_path), "--yes", "--service", "claims-triage"]) == 0
    assert "Upload the evidence for gate serve" not in [s.get("name") for s in _steps(tmp_path)]
