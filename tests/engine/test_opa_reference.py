"""Real OPA judges the shipped library: `opa check --strict` (OPA v1 syntax and type rules that regopy
does not enforce, unused variables and imports) and `opa fmt --diff` (the canonical layout) must both
be silent. The Rego unit tests run under `opa test` in tests/policies/test_rego_units.py."""

from __future__ import annotations

import subprocess

from tests.engine.conftest import REPO

POLICIES = REPO / "policies"


def test_opa_check_strict_accepts_the_shipped_library(opa_bin):
    run = subprocess.run([opa_bin, "check", "--strict", str(POLICIES)], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, f"opa check --strict policies/ failed:\n{run.stdout}{run.stderr}"


def test_opa_fmt_finds_nothing_to_change(opa_bin):
    run = subprocess.run([opa_bin, "fmt", "--diff", str(POLICIES)], capture_output=True, text=True,
                         check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "", ("opa fmt --diff policies/ wants changes (run `opa fmt -w "
                              f"policies/`):\n{run.stdout}")


def test_opa_check_strict_does_catch_what_regopy_lets_through(opa_bin, tmp_path):
    """The check is not a formality: v0 syntax and an unused variable pass regopy, not OPA."""
    (tmp_path / "loose.rego").write_text("package gate.loose\n\nallow { x := 1; true }\n")
    run = subprocess.run([opa_bin, "check", "--strict", str(tmp_path)], capture_output=True, text=True,
                         check=False)
    assert run.returncode != 0
