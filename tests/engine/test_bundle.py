"""`gate bundle build`: an OPA bundle of the policies and threshold that real OPA loads, verifies when
signed, and evaluates to the same decision as gate's own engines (`--opa-preloaded`)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from gate.cli import main
from gate.commands.bundle import bundle_files, canonical_json, file_hash, signatures, write_bundle
from tests.conftest import EXAMPLE_NOW, said
from tests.engine.conftest import REPO

EXAMPLE = REPO / "examples" / "claims-triage"


@pytest.fixture
def project(tmp_path) -> Path:
    """A git checkout holding the policy library, threshold and the blocked example."""
    root = tmp_path / "project"
    shutil.copytree(REPO / "policies", root / "policies", ignore=shutil.ignore_patterns("*_test.rego"))
    shutil.copytree(EXAMPLE / "blocked" / "evidence", root / "evidence")
    # the example's own threshold (its declared override) gives way to the library's, committed here
    config = re.sub(r"(?m)^threshold:.*\n", "", (EXAMPLE / "blocked" / "gate.yaml").read_text())
    (root / "gate.yaml").write_text(config + "policies: policies\nthreshold: policies/threshold.yaml\n")
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "release"], check=True)
    return root


def head(root: Path) -> str:
    return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_bundle_holds_policies_threshold_and_a_manifest_with_the_commit(project, capsys):
    out = project / "bundle.tar.gz"
    assert main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(out)]) == 0
    files = members(out)
    shipped = sorted(f"policies/{p.name}" for p in (REPO / "policies").glob("*.rego")
                     if not p.stem.endswith("_test"))
    assert sorted(files) == [".manifest", "gate/canary.rego", *shipped, "threshold/data.json"]
    assert "policies/technical.rego" in shipped
    manifest = json.loads(files[".manifest"])
    assert manifest["revision"] == head(project)
    # the canary every answer must carry names the revision and is bound to these policies and this data
    assert f'revision := "{head(project)}"' in files["gate/canary.rego"].decode()
    assert ('policy_digest := '
            f'"{manifest["metadata"]["gate"]["policy_digest"]}"') in files["gate/canary.rego"].decode()
    assert manifest["roots"] == ["gate", "threshold"]
    assert manifest["metadata"]["gate"]["profile"] == "production"
    assert files["policies/lib.rego"] == (project / "policies" / "lib.rego").read_bytes()
    assert json.loads(files["threshold/data.json"])["technical"]["p95_latency_ms"] == 800
    assert "unsigned" in capsys.readouterr().err


def test_the_bundle_is_reproducible_and_a_local_edit_marks_it_dirty(project):
    first, second = project / "a.tar.gz", project / "b.tar.gz"
    main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(first)])
    main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(second)])
    assert first.read_bytes() == second.read_bytes()
    with (project / "policies" / "lib.rego").open("a") as fh:
        fh.write("\n# edited\n")
    main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(second)])
    assert json.loads(members(second)[".manifest"])["revision"] == head(project) + "-dirty"


def test_outside_git_the_revision_must_be_given(project, capsys):
    shutil.rmtree(project / ".git")
    assert main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(project / "b.tar.gz")]) == 2
    assert "pass --revision" in capsys.readouterr().err
    assert main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(project / "b.tar.gz"),
                 "--revision", "v2.4.0"]) == 0
    assert json.loads(members(project / "b.tar.gz")[".manifest"])["revision"] == "v2.4.0"


@pytest.fixture
def rsa_keys(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private, public = tmp_path / "private.pem", tmp_path / "public.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def test_a_signed_bundle_carries_a_jws_over_every_file(project, rsa_keys):
    import jwt

    private, public = rsa_keys
    out = project / "signed.tar.gz"
    assert main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(out), "--signing-key",
                 str(private)]) == 0
    files = members(out)
    [token] = json.loads(files.pop(".signatures.json"))["signatures"]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, public.read_text(), algorithms=["RS256"])
    assert claims["keyid"] == "default"
    signed = {f["name"]: f["hash"] for f in claims["files"]}
    assert signed == {name: file_hash(name, content) for name, content in files.items()}
    assert signed["policies/lib.rego"] == hashlib.sha256(files["policies/lib.rego"]).hexdigest()


def _opa_verifies(opa_bin: str, bundle: Path, key: str, alg: str = "RS256") -> subprocess.CompletedProcess:
    """`opa build -b` verifies the bundle's signatures before it writes anything (message on stdout)."""
    return subprocess.run([opa_bin, "build", "-b", str(bundle), "--verification-key", key, "--signing-alg",
                           alg,
                           "-o", str(bundle.with_suffix(".checked.tar.gz"))], capture_output=True, text=True,
                          check=False)


def test_real_opa_verifies_the_signature_and_catches_tampering(project, rsa_keys, opa_bin):
    private, public = rsa_keys
    out = project / "signed.tar.gz"
    main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(out), "--signing-key", str(private)])
    verified = _opa_verifies(opa_bin, out, str(public))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    files = members(out)
    files["threshold/data.json"] = files["threshold/data.json"].replace(b'"p95_latency_ms":800',
                                                                        b'"p95_latency_ms":9999')
    tampered = project / "tampered.tar.gz"
    write_bundle(files, tampered)
    refused = _opa_verifies(opa_bin, tampered, str(public))
    assert refused.returncode != 0 and ("threshold/data.json: digest "
                                        "mismatch") in refused.stdout + refused.stderr


def test_hmac_signatures_and_odd_json_hash_as_opa_hashes_them(tmp_path, opa_bin):
    """HS256, and data whose canonical JSON needs care: <, >, &, non-ASCII, big and tiny numbers."""
    prepared = SimpleNamespace(
        policies=SimpleNamespace(modules=[SimpleNamespace(path=tmp_path / "p.rego",
                                                          source="package gate.p\n\nx := 1\n")],
                                 digest="sha256:0"),
        threshold=SimpleNamespace(data={"note": "a < b && c > d", "name": "Zürich ✓", "big": 2**64 + 1,
                                        "tiny": 1e-7,
                                        "separator": "\u2028", "nested": {"b": [1, 2.5], "a": None}},
                                  profile="production", digest="sha256:1"))
    files = bundle_files(prepared, revision="test")
    secret = tmp_path / "secret"
    secret.write_bytes(b"a-shared-secret-of-enough-length")
    files[".signatures.json"] = signatures(files, secret, "HS256", "default", None)
    out = tmp_path / "hs.tar.gz"
    write_bundle(files, out)
    verified = _opa_verifies(opa_bin, out, "a-shared-secret-of-enough-length", "HS256")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_canonical_json_sorts_keys_and_keeps_text_as_utf8():
    assert canonical_json({"b": "<&>", "a": "é\u2028"}) == '{"a":"é\\u2028","b":"<&>"}'.encode()


def test_a_bad_signing_key_is_one_line_naming_the_file(project, capsys, tmp_path):
    key = tmp_path / "not-a-key.pem"
    key.write_text("not a key")
    assert main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(tmp_path / "b.tar.gz"),
                 "--signing-key", str(key)]) == 2
    err = capsys.readouterr().err
    assert f"{key} cannot sign with RS256" in err and len(said(err)) == 1
    assert not (tmp_path / "b.tar.gz").exists()


def _serve_bundle(opa_bin: str, bundle: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen([opa_bin, "run", "--server", "--addr", f"127.0.0.1:{port}",
                                "--skip-version-check",
                                "--log-level", "error", "-b", str(bundle)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    import urllib.request

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health?bundles", timeout=1).read()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError("opa did not start with the bundle")


def test_opa_serving_the_bundle_decides_like_the_embedded_engine(project, opa_bin, capsys):
    from gate.engine.opa import free_port

    out = project / "bundle.tar.gz"
    main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(out)])
    port = free_port()
    server = _serve_bundle(opa_bin, out, port)
    try:
        args = ["evaluate", "-c", str(project / "gate.yaml"), "-f", "json", "--now", EXAMPLE_NOW]
        code_opa = main([*args, "--engine", "opa", "--opa-url", f"http://127.0.0.1:{port}",
                         "--opa-preloaded"])
        from_opa = json.loads(capsys.readouterr().out)
    finally:
        server.kill()
        server.wait()
    code_embedded = main([*args, "--engine", "embedded"])
    embedded = json.loads(capsys.readouterr().out)
    assert code_opa == code_embedded == 1
    assert from_opa["engine"] == f"opa (preloaded, bundle revision {head(project)})"
    assert from_opa["findings"] == embedded["findings"]


def test_bundle_inspect_lists_builtins_and_constructs(project, capsys):
    assert main(["bundle", "inspect", "-c", str(project / "gate.yaml")]) == 0
    report = {Path(m["path"]).name: m for m in json.loads(capsys.readouterr().out)}
    assert "sprintf" in report["lib.rego"]["builtins"]
    assert report["lib.rego"]["embedded_refuses"] == []


def test_write_bundle_leaves_nothing_behind_on_failure(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("gzip.GzipFile", broken)
    with pytest.raises(OSError):
        write_bundle({"a.rego": b"package a\n"}, tmp_path / "out.tar.gz")
    assert list(tmp_path.iterdir()) == []


def test_in_a_repository_using_the_shipped_policies_the_revision_pins_both(tmp_path, capsys):
    """A normal repository after `gate init`: threshold.yaml is its own, the policies ship with gate."""
    from gate.auditlog import gate_version

    root = tmp_path / "service"
    assert main(["init", str(root), "--service", "claims-triage", "--yes"]) == 0
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "gate init"], check=True)
    out = tmp_path / "bundle.tar.gz"
    assert main(["bundle", "build", "-c", str(root / "gate.yaml"), "-o",
                 str(out)]) == 0, capsys.readouterr().err
    files = members(out)
    assert json.loads(files[".manifest"])["revision"] == f"{head(root)}+gate-{gate_version()}"
    assert "policies/main.rego" in files
    with (root / "threshold.yaml").open("a") as fh:
        fh.write("\n# edited\n")
    assert main(["bundle", "build", "-c", str(root / "gate.yaml"), "-o", str(out)]) == 0
    assert json.loads(members(out)[".manifest"])["revision"] == f"{head(root)}-dirty+gate-{gate_version()}"


def test_a_policy_outside_the_checkout_and_not_shipped_needs_a_revision(project, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(project / "policies", elsewhere)
    text = (project / "gate.yaml").read_text().replace("policies: policies\n", f"policies: {elsewhere}\n")
    (project / "gate.yaml").write_text(text + "workspace:\n  allow_outside: true\n")
    code = main(["bundle", "build", "-c", str(project / "gate.yaml"), "-o", str(project / "b.tar.gz")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{elsewhere}" in err and "outside the git checkout" in err and "pass --revision" in err
