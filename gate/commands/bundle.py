"""`gate bundle build`: the policies and the threshold as an OPA bundle, ready for `opa run -s -b`.
`gate bundle inspect`: the builtins and constructs each policy uses, and what the embedded engine refuses.

The bundle holds policies/<file>.rego (test files left out), threshold/data.json (data.threshold for the
profile), gate/canary.rego (the canary gate checks in every answer, bound to these policies, this data and
the revision: gate.engine.canary) and a .manifest (revision = the git commit, roots gate and threshold).
With --signing-key it also holds .signatures.json: a JWS over every file's SHA-256, as OPA verifies with
--verification-key. The tarball is reproducible: the same inputs give the same bytes. Where an opa binary
is at hand, the policies are first compiled under gate's capabilities (gate/engine/capabilities.py), so no
bundle gate writes uses a builtin the sandbox refuses, however it is spelled.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gate import runner
from gate.errors import ConfigError

ROOTS = ["gate", "threshold"]
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "HS256", "HS384", "HS512")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("bundle",
                              help="build an OPA bundle of the policies and threshold; inspect policies")
    actions = p.add_subparsers(dest="bundle_action", metavar="ACTION")
    build = actions.add_parser("build",
                               help="write an OPA bundle tarball (.manifest, optional .signatures.json)")
    build.add_argument("--config", "-c", default="gate.yaml", type=Path,
                       help="gate.yaml (default: ./gate.yaml)")
    build.add_argument("--profile",
                       help="threshold profile to bundle (default: gate.yaml's, else production)")
    build.add_argument("--output", "-o", type=Path, default=Path("bundle.tar.gz"),
                       help="default: bundle.tar.gz")
    build.add_argument("--revision", help="manifest revision (default: the git commit of the policies)")
    build.add_argument("--signing-key", type=Path,
                       help="sign the bundle: PEM private key (RS/PS/ES) or HMAC secret file (HS)")
    build.add_argument("--signing-alg", default="RS256", choices=ALGORITHMS,
                       help="JWS algorithm (default RS256, as opa)")
    build.add_argument("--key-id", default="default", help="key id in the signature (opa's default: default)")
    build.add_argument("--scope",
                       help="optional scope claim, checked by OPA against the verification key's scope")
    build.set_defaults(run=run_build)
    inspect = actions.add_parser("inspect",
                                 help="list each policy's builtins and constructs as JSON, with what "
                                                 "the embedded engine refuses")
    inspect.add_argument("--config", "-c", default="gate.yaml", type=Path)
    inspect.add_argument("--profile")
    inspect.set_defaults(run=run_inspect)
    p.set_defaults(run=lambda args: _usage(p))


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_build(args) -> int:
    from gate.commands.check import capabilities_checked

    config = runner.load(args)
    prepared = runner.prepare(config)
    sandbox = capabilities_checked(prepared.policies)
    files = bundle_files(prepared, revision=args.revision or git_revision(config, prepared))
    if args.signing_key:
        files[".signatures.json"] = signatures(files, args.signing_key, args.signing_alg, args.key_id,
                                               args.scope)
    write_bundle(files, args.output)
    modules = sum(1 for name in files if name.startswith("policies/"))
    manifest = json.loads(files[".manifest"])
    signed = f", signed ({args.signing_alg}, key id {args.key_id})" if args.signing_key else ", unsigned"
    print(f"gate: wrote {args.output}: {modules} policy module(s), data.threshold (profile "
          f"{prepared.threshold.profile}),"
          f" revision {manifest['revision']}{signed}; {sandbox}", file=sys.stderr)
    return 0


def run_inspect(args) -> int:
    from gate import guard

    config = runner.load(args)
    prepared = runner.prepare(config)
    json.dump(guard.report(prepared.policies.modules), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def canonical_json(value: Any) -> bytes:
    """JSON as OPA hashes it for signatures: sorted keys, no spaces, UTF-8 (no HTML escapes), and the
    line and paragraph separators escaped as Go always does (checked against opa in test_bundle.py)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").encode("utf-8")


def bundle_files(prepared: Any, revision: str) -> dict[str, bytes]:
    """name in the tarball -> content. Policy names are relative to the folder the modules share."""
    from gate.engine import canary
    from gate.engine.opa import POLICY_PREFIX, policy_id

    files: dict[str, bytes] = {}
    for policy in prepared.policies.modules:
        name = "policies/" + policy_id(policy.path, prepared.policies).removeprefix(POLICY_PREFIX)
        files[name] = policy.source.encode("utf-8")
    files[canary.BUNDLE_FILE] = canary.bundle_module(prepared.policies.digest,
                                                     {"threshold": prepared.threshold.data},
                                                     revision).encode("utf-8")
    files["threshold/data.json"] = canonical_json(json.loads(_plain_json(prepared.threshold.data)))
    files[".manifest"] = canonical_json({
        "revision": revision,
        "roots": ROOTS,
        "rego_version": 1,
        "metadata": {"gate": {"profile": prepared.threshold.profile,
                              "policy_digest": prepared.policies.digest,
                              "threshold_digest": prepared.threshold.digest}},
    })
    return files


def _plain_json(value: Any) -> str:
    from gate import jsonsafe

    return jsonsafe.dumps(value)


def file_hash(name: str, content: bytes) -> str:
    """SHA-256 as OPA computes it: JSON files over their canonical form, other files over their bytes."""
    import hashlib

    if name.endswith(".json") or name == ".manifest":
        return hashlib.sha256(canonical_json(json.loads(content))).hexdigest()
    return hashlib.sha256(content).hexdigest()


def signatures(files: dict[str, bytes], key_path: Path, algorithm: str, key_id: str,
               scope: str | None) -> bytes:
    import jwt

    try:
        key = key_path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"--signing-key: {key_path}: {exc.strerror}") from None
    payload: dict[str, Any] = {
        "files": [{"name": name, "hash": file_hash(name, content), "algorithm": "SHA-256"}
                  for name, content in sorted(files.items())],
        "keyid": key_id,
    }
    if scope:
        payload["scope"] = scope
    try:
        token = jwt.encode(payload, key if algorithm.startswith("HS") else key.decode("utf-8"),
                           algorithm=algorithm, headers={"kid": key_id})
    except (ValueError, TypeError, jwt.exceptions.PyJWTError) as exc:
        raise ConfigError(f"--signing-key: {key_path} cannot sign with {algorithm}: "
                          f"{type(exc).__name__}") from None
    return canonical_json({"signatures": [token]})


def git_revision(config: Any, prepared: Any) -> str:
    """The commit of the policies and threshold, "-dirty" when they differ from it. Files shipped with
    gate are pinned by gate's version instead ("+gate-0.1.0"): they live outside the repository."""
    from gate.config import library_dir
    from gate.version import gate_version

    shipped_root = library_dir().resolve()
    paths = [Path(p.path).resolve()
             for p in prepared.policies.modules] + [Path(prepared.threshold.path).resolve()]
    own = [p for p in paths if not p.is_relative_to(shipped_root)]
    library = f"gate-{gate_version()}" if len(own) < len(paths) else ""
    if not own:
        return library
    commit, top, dirty = _git_state(Path(config.root), own)
    outside = next((p for p in own if not p.is_relative_to(top)), None)
    if outside is not None:
        raise ConfigError(f"bundle build: {outside} is outside the git checkout {top} and not shipped with "
                          "gate, so"
                          " the commit does not pin it; pass --revision")
    return commit + ("-dirty" if dirty else "") + (f"+{library}" if library else "")


def _git_state(root: Path, paths: list[Path]) -> tuple[str, Path, bool]:
    """(HEAD, the work tree's top, whether any of paths inside it differs from HEAD)."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True,
                              timeout=10).stdout.strip()

    try:
        commit, top = git("rev-parse", "HEAD"), Path(git("rev-parse", "--show-toplevel")).resolve()
        inside = [str(p) for p in paths if p.is_relative_to(top)]
        dirty = bool(inside) and bool(git("status", "--porcelain", "--", *inside))
    except (OSError, subprocess.SubprocessError):
        raise ConfigError("bundle build: the revision is the git commit, and this is not a git checkout;"
                          " pass --revision") from None
    return commit, top, dirty


def write_bundle(files: dict[str, bytes], output: Path) -> None:
    """A reproducible .tar.gz (sorted names, zero times and owners), written whole or not at all."""
    import gzip
    import io
    import os
    import tarfile
    import tempfile

    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(files[name]), 0o644, 0
            tar.addfile(info, io.BytesIO(files[name]))
    target = output.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gate-bundle-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
            gz.write(raw.getvalue())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
