"""Every `test_*` rule in policies/*_test.rego, run as its own pytest case on both engines.

The embedded engine (regopy) runs every case; the real OPA binary (OPA_BIN, else `opa` on PATH) runs the
same cases through `opa test --format json` and is skipped, with the reason, when there is none. The
shipped policies must give the same answers on both (docs/input-document.md).

data.threshold is policies/threshold.yaml with the production profile deep-merged over the defaults,
exactly as gate loads it.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
PROFILE = "production"

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.M)
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.M)


def deep_merge(base: dict[str, Any], override: dict[str, Any] | None) -> dict[str, Any]:
    out = dict(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def threshold_data(profile: str = PROFILE) -> dict[str, Any]:
    doc = yaml.safe_load((POLICIES / "threshold.yaml").read_text(encoding="utf-8"))
    return {"threshold": deep_merge(doc["defaults"], doc["profiles"][profile])}


def to_json(value: Any) -> str:
    """JSON without exponent notation: regopy's add_data_json rejects 1e-05 and the like."""
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return json.dumps(value)
    if isinstance(value, float):
        assert math.isfinite(value), value
        text = repr(value)
        return text if "e" not in text and "E" not in text else f"{value:.20f}".rstrip("0").rstrip(".")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    raise TypeError(f"not JSON: {value!r}")


def discover() -> list[tuple[str, str]]:
    """(package, rule) for every test_* rule of every policies/*_test.rego."""
    cases = []
    for path in sorted(POLICIES.glob("*_test.rego")):
        source = path.read_text(encoding="utf-8")
        package = _PACKAGE.search(source).group(1)
        cases += [(package, rule) for rule in dict.fromkeys(_TEST_RULE.findall(source))]
    return cases


CASES = discover()
IDS = [f"{package.removeprefix('gate.')}.{rule}" for package, rule in CASES]


def test_every_policy_has_tests():
    tested = {package.removesuffix("_test") for package, _ in CASES}
    for path in POLICIES.glob("*.rego"):
        source = path.read_text(encoding="utf-8")
        package = _PACKAGE.search(source).group(1)
        if path.name.endswith("_test.rego") or package == "gate.lib":
            continue
        assert package in tested, f"{path.name}: package {package} has no {path.stem}_test.rego"


_FUNCTION = re.compile(r"^([a-z_][\w]*)\(", re.M)


def test_function_names_are_unique_across_packages():
    """regopy 1.5.2 mixes up functions of the same name in different packages (a different arity
    crashes the process), so every function name, tests included, belongs to one package."""
    owner: dict[str, str] = {}
    for path in sorted(POLICIES.glob("*.rego")):
        source = path.read_text(encoding="utf-8")
        package = _PACKAGE.search(source).group(1)
        for name in set(_FUNCTION.findall(source)):
            assert owner.setdefault(name, package) == package, (
                f"function {name} is defined in both {owner[name]} and {package} ({path.name}); rename one"
            )


# --- regopy --------------------------------------------------------------------------------------------


# regopy keeps the memory of every query on an interpreter (hundreds of MB a query on this library),
# so each test package is evaluated once, whole, in a child process that gives its memory back.
_WORKER = """
import json, sys
import regopy
request = json.load(sys.stdin)
interp = regopy.Interpreter()
for name, source in request["modules"]:
    interp.add_module(name, source)
interp.add_data_json(request["data"])
out = {}
for package in request["packages"]:
    out[package] = json.loads(str(interp.query("data." + package)))
json.dump(out, sys.stdout)
"""


@cache
def regopy_package(package: str) -> Any:
    pytest.importorskip("regopy")
    modules = [(path.name, path.read_text(encoding="utf-8")) for path in sorted(POLICIES.glob("*.rego"))]
    request = json.dumps({"modules": modules, "data": to_json(threshold_data()), "packages": [package]})
    run = subprocess.run([sys.executable, "-c", _WORKER], input=request, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, f"regopy worker failed on data.{package}: {run.stderr.strip()[-500:]}"
    result = json.loads(run.stdout)[package]
    return result.get("expressions", [None])[0] if isinstance(result, dict) else None


@pytest.mark.parametrize(("package", "rule"), CASES, ids=IDS)
def test_regopy(package: str, rule: str):
    values = regopy_package(package)
    assert isinstance(values, dict), f"data.{package} is undefined on regopy"
    value = values.get(rule)
    assert value is not None, f"data.{package}.{rule} is undefined on regopy (a test that fails is undefined)"
    assert value is True, f"data.{package}.{rule} is {value!r} on regopy, expected true"


# --- OPA -----------------------------------------------------------------------------------------------


def opa_binary() -> str | None:
    named = os.environ.get("OPA_BIN")
    if named and Path(named).is_file():
        return named
    return shutil.which("opa")


@lru_cache(maxsize=1)
def opa_results(tmp: str) -> dict[tuple[str, str], dict[str, Any]]:
    data_file = Path(tmp) / "threshold.json"
    data_file.write_text(json.dumps(threshold_data()), encoding="utf-8")
    run = subprocess.run(
        [opa_binary(), "test", str(POLICIES), str(data_file), "--format", "json"],
        capture_output=True, text=True, timeout=300,
    )
    if not run.stdout.strip():
        pytest.fail(f"opa test produced no report (exit {run.returncode}): {run.stderr.strip()}")
    report = json.loads(run.stdout)
    return {(r["package"].removeprefix("data."), r["name"]): r for r in report}


@pytest.fixture(scope="module")
def opa_report(tmp_path_factory):
    if opa_binary() is None:
        pytest.skip("no OPA binary: set OPA_BIN or put `opa` on PATH (CI does) to run the policy "
                    "tests on OPA")
    return opa_results(str(tmp_path_factory.mktemp("opa")))


@pytest.mark.opa
@pytest.mark.parametrize(("package", "rule"), CASES, ids=IDS)
def test_opa(opa_report, package: str, rule: str):
    result = opa_report.get((package, rule))
    assert result is not None, f"opa test did not run data.{package}.{rule}"
    assert not result.get("error"), f"data.{package}.{rule} errored on OPA: {result['error']}"
    assert not result.get("fail"), f"data.{package}.{rule} failed on OPA"
    assert not result.get("skip"), f"data.{package}.{rule} was skipped on OPA"
