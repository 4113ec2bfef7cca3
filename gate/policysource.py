"""The threshold from a protected ref: the release being gated does not choose what judges it (issue #17).

gate.yaml lives in the release's working tree, so only part of it can be the release's to say:

- from the release (the working tree): the evidence list, and service.version and service.commit;
- from the protected ref (`--policy-ref`, the Action's `policy-ref`, else gate.yaml `policy_source.ref`):
  everything that judges the evidence: profile, threshold, policies, waivers, engine, decision_log,
  plugins (the GitHub teams that verify sign-offs are there), workspace, and the rest of service
  (expected_peak_rps sets the load the stability audit asks for; build_team, who may own production).

The ref's gate.yaml and the files it names are written from git (`git archive` of the ref's commit, after
a `git fetch --depth=1 origin <ref>` when the clone is shallow or lacks the ref) into a private folder that
mirrors the repository, and loaded from there with gate's own loaders; a path outside the repository is
refused. Where the release's copies differ, the decision says so, one line per file, and what the
release's own threshold, policies and waivers would have decided on the same input.
"""

from __future__ import annotations

import dataclasses
import io
import subprocess
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.config import Config, library_dir, load_config
from gate.errors import ConfigError, GateError
from gate.model import Decision
from gate.threshold import threshold_of, with_threshold

# gate.yaml's fields that judge the release, and so come from the protected ref
JUDGING_FIELDS = ("profile", "policies", "threshold", "waivers", "engine", "decision_log", "plugins",
                  "workspace")
RELEASE_SERVICE_FIELDS = ("version", "commit")  # the rest of service is the protected ref's
ENGINE_FILES = ("ca_cert", "client_cert", "client_key")
GIT_TIMEOUT_S = 120


@dataclass(frozen=True)
class Compared:
    """One file as the protected ref has it and as the release has it (repository-relative paths)."""

    what: str                      # gate.yaml, threshold, policies, waivers
    protected: str | None          # path at the ref, None when it names none
    protected_digest: str | None
    release: str | None
    release_digest: str | None
    fields: tuple[str, ...] = ()   # gate.yaml: the judging fields that differ

    @property
    def differs(self) -> bool:
        return bool(self.fields) if self.what == "gate.yaml" else \
            (self.protected, self.protected_digest) != (self.release, self.release_digest)

    def line(self, ref: str) -> str:
        if self.what == "gate.yaml":
            return (f"gate.yaml: the release's {self.release} differs from {ref}'s in "
                    f"{', '.join(self.fields)};"
                    f" {ref}'s are used")
        theirs = f"{self.release} ({_short(self.release_digest)})" if self.release else "none"
        ours = f"{self.protected} ({_short(self.protected_digest)})" if self.protected else "none"
        return f"{self.what}: the release's {theirs} differs from {ref}'s {ours}; {ref}'s are used"

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"file": self.what, "differs": self.differs,
                               "protected": {"path": self.protected, "digest": self.protected_digest},
                               "release": {"path": self.release, "digest": self.release_digest}}
        if self.what == "gate.yaml":
            doc["fields"] = list(self.fields)
        return doc


@dataclass
class Protected:
    """What gate acts on (config, from the ref) beside what the release has (release, the working tree)."""

    ref: str
    origin: str
    commit: str
    config: Config
    release: Config
    compared: list[Compared] = field(default_factory=list)

    @property
    def differing(self) -> list[Compared]:
        return [c for c in self.compared if c.differs]

    def context_entry(self) -> dict[str, str]:
        """input.context.policy_source: what policies see (main.policy_from_working_tree)."""
        return {"ref": self.ref, "commit": self.commit}


def _short(digest: str | None) -> str:
    return (digest or "none").removeprefix("sha256:")[:12]


# --- git ----------------------------------------------------------------------------------------------


def git(root: Path, *args: str, binary: bool = False, check: bool = True) -> Any:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=GIT_TIMEOUT_S,
                              check=False, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise ConfigError("policy_source: reading the threshold from a git ref needs git on PATH") from None
    except subprocess.TimeoutExpired:
        raise GateError(f"git {args[0]} took longer than {GIT_TIMEOUT_S} s") from None
    if check and done.returncode != 0:
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise GateError(f"git {' '.join(args[:2])}: {last}")
    if not check:
        return done
    return done.stdout if binary else done.stdout.decode("utf-8", "replace").strip()


def resolve_ref(top: Path, ref: str) -> str:
    """The commit of ``ref``: fetched from origin in CI, or when the clone is shallow (as actions/checkout
    makes it by default: neither the default branch nor its history) or lacks the ref; else as the clone
    has it. In CI the release's own build steps ran in this checkout first and could have moved a local
    branch, so its refs are not taken at their word there."""
    from gate.engine.trust import in_ci

    if ref.startswith("-"):
        raise ConfigError(f"policy ref {ref!r}: a ref does not start with '-'")
    answer = git(top, "rev-parse", "--is-shallow-repository", check=False)
    shallow = answer.returncode != 0 or answer.stdout.strip() == b"true"
    if not in_ci() and not shallow:
        found = git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
                    check=False)
        if found.returncode == 0:
            return found.stdout.decode().strip()
    # --depth=1 only where the clone is shallow already: it would make a full clone shallow
    depth = ["--depth=1"] if shallow else []
    fetched = git(top, "fetch", "--quiet", "--no-tags", *depth, "origin", "--", ref, check=False)
    if fetched.returncode != 0:
        last = (fetched.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise ConfigError(f"policy ref {ref!r}: not in this clone, and `git fetch "
                          f"{' '.join(depth + ['origin', ref])}`"
                          f" failed ({last}); name a branch or tag of origin")
    return git(top, "rev-parse", "--verify", "FETCH_HEAD^{commit}")


def repository_top(path: Path) -> Path:
    done = git(path, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0:
        raise ConfigError(f"{path}: not inside a git repository, so there is no protected ref to read the "
                          "threshold"
                          " from (policy_source, --policy-ref)")
    return Path(done.stdout.decode().strip()).resolve()


def _exists(top: Path, commit: str, relative: str) -> bool:
    return git(top, "cat-file", "-e", f"{commit}:{relative}", check=False).returncode == 0


def _extract(top: Path, commit: str, relatives: list[str], target: Path) -> None:
    if not relatives:
        return
    archive = git(top, "archive", "--format=tar", commit, "--", *relatives, binary=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")  # no absolute paths, no links out of the folder


# --- the protected configuration ----------------------------------------------------------------------


def protect(release: Config, ref: str, origin: str, target: Path, profile: str | None = None) -> Protected:
    """The configuration gate acts on: the judging fields of gate.yaml at ``ref`` and the files they
    name, written under ``target``; the evidence, version and commit of ``release``."""
    top = repository_top(release.root)
    relative = _relative(release.path.resolve(), top)
    if relative is None:
        raise ConfigError(f"{release.path}: outside the git repository {top}")
    commit = resolve_ref(top, ref)
    if not _exists(top, commit, relative):
        raise ConfigError(f"{relative}: does not exist at {ref} ({commit[:12]}): gate reads the threshold, "
                          "policies"
                          f" and waivers from {ref}'s gate.yaml, so merge gate's configuration to "
                          f"{ref} first")
    _extract(top, commit, [relative], target)
    at_ref = load_config(target / relative, profile)
    engine, certificates = _engine_at_ref(at_ref, target, ref)
    wanted = _files_at_ref(at_ref, target, ref) + certificates
    _extract(top, commit, [p for p in wanted if _exists(top, commit, p)], target)
    for path in (at_ref.threshold_path, *at_ref.policy_paths):
        if not path.exists():
            shown = _relative(path, target) or path
            raise ConfigError(f"{shown}: named by {ref}'s gate.yaml, and it does not exist at {ref} "
                              f"({commit[:12]})")
    service = {**at_ref.service,
               **{k: release.service[k] for k in RELEASE_SERVICE_FIELDS if k in release.service}}
    trusted = dataclasses.replace(
        release, service=service, profile=at_ref.profile, policy_paths=at_ref.policy_paths,
        threshold_path=at_ref.threshold_path, waivers_path=at_ref.waivers_path,
        decision_log=at_ref.decision_log, plugins=at_ref.plugins, policy_ref=ref, protected_engine=engine)
    protected = Protected(ref, origin, commit, trusted, release)
    protected.compared = compare(protected, at_ref, top, target, relative)
    return protected


def _relative(path: Path, top: Path) -> str | None:
    try:
        return path.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        return None


def _files_at_ref(at_ref: Config, target: Path, ref: str) -> list[str]:
    """Repository-relative paths of the threshold, policies and waivers the ref's gate.yaml names; the
    library shipped with gate is gate's own, anything else outside the repository is refused."""
    library = library_dir().resolve()
    out = []
    for what, path in (("threshold", at_ref.threshold_path), *(("policies", p) for p in at_ref.policy_paths),
                       ("waivers", at_ref.waivers_path)):
        if path is None or path.resolve() == library or library in path.resolve().parents:
            continue
        inside = _relative(path, target)
        if inside is None:
            raise ConfigError(f"{ref}'s gate.yaml: field {what!r}: {path} is outside the repository; a "
                              "threshold"
                              " read from a protected ref must be in that ref")
        out.append(inside)
    return out


def _engine_at_ref(at_ref: Config, target: Path, ref: str) -> tuple[dict[str, Any], list[str]]:
    """The ref's engine section, and the repository-relative certificate files it names (read from the
    ref with the rest, so that the release cannot swap the CA the OPA server is checked against)."""
    engine, files = dict(at_ref.engine), []
    for key in ENGINE_FILES:
        if not engine.get(key) or Path(str(engine[key])).is_absolute():
            continue  # an absolute path is the runner's, outside the repository
        path = (at_ref.root / str(engine[key])).resolve()
        inside = _relative(path, target)
        if inside is None:
            raise ConfigError(f"{ref}'s gate.yaml: field 'engine.{key}': {engine[key]} is outside the "
                              "repository")
        engine[key], files = str(path), [*files, inside]
    return engine, files


# --- what differs -------------------------------------------------------------------------------------


def compare(protected: Protected, at_ref: Config, top: Path, target: Path, relative: str) -> list[Compared]:
    from gate.loader import load_document

    release, trusted = protected.release, protected.config
    release_doc = load_document(release.path).data or {}
    ref_doc = load_document(target / relative).data or {}
    fields = [k for k in JUDGING_FIELDS if release_doc.get(k) != ref_doc.get(k)]
    def strip(service: Any) -> dict[str, Any]:
        return {k: v for k, v in (service or {}).items() if k not in RELEASE_SERVICE_FIELDS}

    if strip(release_doc.get("service")) != strip(ref_doc.get("service")):
        fields.append("service")
    out = [Compared("gate.yaml", relative, at_ref.digest, relative, release.digest, tuple(fields))]

    def shown(path: Path | None, base: Path) -> str | None:
        if path is None:
            return None
        library = library_dir().resolve()
        if path.resolve() == library or library in path.resolve().parents:
            return f"gate's library {path.name}"
        return _relative(path, base) or str(path)

    out.append(Compared("threshold", shown(trusted.threshold_path, target),
                        _file_digest(trusted.threshold_path),
                        shown(release.threshold_path, top), _file_digest(release.threshold_path)))
    out.append(Compared("policies", ", ".join(shown(p, target) or "" for p in trusted.policy_paths),
                        _policies_digest(trusted.policy_paths),
                        ", ".join(shown(p, top) or "" for p in release.policy_paths),
                        _policies_digest(release.policy_paths)))
    out.append(Compared("waivers", shown(trusted.waivers_path, target), _file_digest(trusted.waivers_path),
                        shown(release.waivers_path, top), _file_digest(release.waivers_path)))
    return out


def _file_digest(path: Path | None) -> str | None:
    if path is None or not path.is_file():
        return None
    from gate.loader import read_bytes, sha256_digest

    return sha256_digest(read_bytes(path))


def _policies_digest(paths: tuple[Path, ...]) -> str | None:
    from gate.policyset import load_policies

    try:
        return load_policies(tuple(paths)).digest
    except GateError:
        return None  # the release's policies do not load: they differ, and the verdict below says why


# --- policy ref required ------------------------------------------------------------------------------


def require_ref(config: Config, environ: Mapping[str, str] | None = None) -> str | None:
    """The threshold in force demands a protected ref (audit.require_policy_ref) and gate would read the
    working tree's: in CI, exit 2; outside CI (a person at a terminal, who controls the checkout and gate
    alike), a note for the report. Returns that note, or None."""
    from gate.engine.trust import in_ci

    audit = threshold_of(config).data.get("audit") or {}
    if audit.get("require_policy_ref") is not True:
        return None
    if in_ci(environ):
        raise ConfigError(
            f"{config.path}: profile {config.profile} requires the threshold, policies and waivers from a "
            "protected"
            " git ref (threshold audit.require_policy_ref: true), and none was given: pass --policy-ref "
            "main (the"
            " Action's policy-ref does, by default the repository's default branch) or set "
            "policy_source.ref in"
            " gate.yaml; evaluating them from the working tree would let the release loosen its own "
            "threshold")
    return (f"not judged from a protected ref: profile {config.profile} requires one "
            "(audit.require_policy_ref; in CI"
            " this is exit 2), and gate read the threshold and policies of the working tree; pass "
            "--policy-ref")


# --- the report -----------------------------------------------------------------------------------------


def annotate(decision: Decision, protected: Protected, manager: Any = None) -> Decision:
    """The decision with one note per differing file, what the release's own threshold would have
    decided, and decision.policy_source (the digests of both sides) for the record."""
    notes = [c.line(protected.ref) for c in protected.differing]
    entry: dict[str, Any] = {"ref": protected.ref, "from": protected.origin, "commit": protected.commit,
                             "files": [c.to_dict() for c in protected.compared]}
    if protected.differing:
        verdict, line = release_verdict(decision, protected, manager)
        entry["release_verdict"] = verdict
        notes.append(line)
    return dataclasses.replace(decision, notes=tuple(notes) + tuple(decision.notes), policy_source=entry)


def release_verdict(decision: Decision, protected: Protected, manager: Any = None) -> tuple[dict[str, Any],
                                                                                            str]:
    """The release's own threshold, policies and waivers on the same input, replayed as `gate impact`
    replays (on the embedded engine, with the protected configuration's engine timeout: the release does
    not set the bound its own policies run under); a failure is reported, never a change of the decision."""
    from gate.engine.session import open_engine
    from gate.policyset import load_policies
    from gate.replay import Change, Replay, Side

    release, ref = protected.release, protected.ref
    try:
        extra: list[Path] = []
        if manager is not None:
            for paths in manager.hook.gate_policy_paths(config=release):
                extra.extend(Path(p) for p in paths or [])
        with open_engine(protected.config, None, None, "embedded", manager) as engine:
            side = Side("the release", release.threshold_path,
                        load_policies(tuple(release.policy_paths) + tuple(extra)), release.waivers_path,
                        engine)
            doc = dict(decision.input)
            doc["context"] = {**(doc.get("context") or {}), "environment": release.profile,
                              "policy_source": None}
            replay = side.replay({"input": doc, "labels": {"profile": release.profile}})
    except GateError as exc:
        return ({"outcome": None, "error": str(exc)},
                f"the release's own threshold, policies and waivers could not be evaluated: {exc}")
    if replay.outcome is None:
        reason = "; ".join(replay.notes) or "no reason given"
        return {"outcome": None,
                "error": reason}, f"the release's own threshold could not be evaluated: {reason}"
    ours = Replay(decision.outcome, list(decision.findings), [f for f, _ in decision.waived], [])
    change = Change({}, ours, replay)
    verdict = {"outcome": replay.outcome, "profile": release.profile,
               "would_deny": sorted({f.rule for f in change.added}),
               "would_stop_denying": sorted({f.rule for f in change.removed})}
    line = (f"with the release branch's threshold, policies and waivers (profile {release.profile}) this "
            "decision"
            f" would be {replay.outcome}; with {ref}'s it is {decision.outcome}")
    if verdict["would_stop_denying"]:
        line += f"; it would stop denying {', '.join(verdict['would_stop_denying'])}"
    if verdict["would_deny"]:
        line += f"; it would deny {', '.join(verdict['would_deny'])}"
    return verdict, line


def working_tree(config: Config, args: Any, target: Path) -> tuple[Config, Protected | str | None]:
    """`gate evaluate`'s entry: the configuration from the policy ref when one is named (the command
    line first, then gate.yaml policy_source), else the working tree's if the threshold allows it (with
    a note for the report when it allows it only outside CI)."""
    ref = getattr(args, "policy_ref", None) or None
    origin = "--policy-ref"
    if ref is None and config.policy_ref:
        ref, origin = config.policy_ref, "gate.yaml policy_source (the release's own gate.yaml)"
    if ref is None:
        config = with_threshold(config)  # read once: require_ref looks at it, runner.prepare judges with it
        return config, require_ref(config)
    protected = protect(config, ref, origin, target, getattr(args, "profile", None))
    return protected.config, protected


def scratch() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="gate-policy-ref-")
