"""The workflow `gate init` writes: the gate job signs for the artifact, and the deploy job checks that very
signature with `gate verify` before deploying, with the threshold of the default branch."""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from gate.attest import default_output
from gate.cli import main


def test_the_deploy_job_verifies_the_attestation_the_gate_job_signed(tmp_path, capsys):
    assert main(["init", str(tmp_path / "svc"), "--yes", "--action-ref", "acme/gate@v1.2.3"]) == 0
    workflow = yaml.safe_load((tmp_path / "svc/.github/workflows/release-gate.yml").read_text())
    gate_job, deploy = workflow["jobs"]["gate"], workflow["jobs"]["deploy"]
    gate_step = next(s for s in gate_job["steps"] if s.get("id") == "gate")
    upload = next(s for s in gate_job["steps"]
                  if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert gate_step["with"]["signing-key"] == "${{ secrets.GATE_SIGNING_KEY }}"

    verify = next(s for s in deploy["steps"] if " verify " in s.get("run", ""))
    argv = shlex.split(verify["run"])
    args = dict(zip(argv[2::2], argv[3::2], strict=False))
    assert argv[1] == "verify"
    assert args["--artifact"] == gate_step["with"]["subjects"]  # the file the gate job signed for
    download = next(s for s in deploy["steps"]
                    if str(s.get("uses", "")).startswith("actions/download-artifact@"))
    assert download["with"]["name"] == upload["with"]["name"]
    # the action writes the attestation into the report folder under this name
    signed_as = default_output(None, {"GATE_REPORT_DIR": download["with"]["path"]})
    assert Path(args["--attestation"]) == signed_as
    assert (
        args["--key"] == "env:GATE_VERIFY_KEY"
        and verify["env"]["GATE_VERIFY_KEY"] == "${{ vars.GATE_VERIFY_KEY }}"
    )
    assert args["--config"] == "gate.yaml" and args["--max-age"] == "24h"
    checkout = next(s for s in deploy["steps"] if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["ref"] == "${{ github.event.repository.default_branch }}"
    install = next(s for s in deploy["steps"] if "pip\" install" in s.get("run", ""))
    assert install["env"]["GATE_ACTION"] == "acme/gate@v1.2.3"
    names = [s.get("name", s.get("uses")) for s in deploy["steps"]]
    assert names.index(verify["name"]) < names.index("Deploy")
