"""What a decision reads from GitHub: the rules from the default branch, the evidence from the run's artifact.

- gate.yaml, the threshold, the waivers and any policies come from the repository's default branch
  (repos.get-content with ref=<default branch>), never from the commit being deployed: the people
  whose release is gated cannot loosen the threshold in the same change.
- The evidence comes from the run's artifact (actions.list-workflow-run-artifacts, then
  actions.download-artifact's redirect): GitHub must say the artifact belongs to this run and its
  head_sha; the zip is size-capped before and while it downloads, and extracted member by member with
  every path checked (no absolute path, no '..', no link, nothing outside the folder) and the total
  size and file count capped while reading, not from the zip's own (forgeable) header.
"""

from __future__ import annotations

import base64
import io
import json
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from gate.serve.github_app import GitHubApp, GitHubAppError
from gate.serve.webhook import Request

MANIFEST = "gate-evidence.json"   # written by the workflow step `gate init --server` adds: {"commit": ...}
MAX_TREE_DEPTH = 8


class Refused(Exception):
    """The run cannot be decided on what it supplied (the reason is said in the rejection)."""


@dataclass(frozen=True)
class Caps:
    artifact_bytes: int
    extracted_bytes: int
    artifact_files: int
    repo_file_bytes: int


def repo_file(app: GitHubApp, req: Request, path: str, ref: str, cap: int) -> bytes | list[dict[str, Any]]:
    """A file's bytes, or a directory's entries, at ref. A missing file is Refused, naming it."""
    try:  # the object media type: a folder is {"type": "dir", "entries": [...]}, as the description documents
        body = app.request(req.installation_id, "GET",
                           f"/repos/{req.owner}/{req.repo}/contents/{quote(path)}",
                           "repos.get-content", params={"ref": ref}, accept="application/vnd.github.object")
    except GitHubAppError as exc:
        if exc.status == 404:
            raise Refused(f"{path} is not on the default branch {ref}") from None
        raise
    if isinstance(body, dict) and body.get("type") == "dir" and isinstance(body.get("entries"), list):
        return body["entries"]
    if not isinstance(body, dict) or body.get("type") != "file":
        raise Refused(f"{path} on {ref} is not a file or a folder")
    size = body.get("size")
    if not isinstance(size, int) or size > cap:
        raise Refused(f"{path} on {ref} is {size} bytes, over the cap of {cap:,} (limits.repo_file_bytes)")
    if body.get("encoding") != "base64" or not isinstance(body.get("content"), str):
        raise Refused(f"{path} on {ref}: GitHub sent no base64 content")
    try:
        raw = base64.b64decode(body["content"], validate=False)
    except ValueError:
        raise Refused(f"{path} on {ref}: the content is not base64") from None
    if len(raw) != size:
        raise Refused(f"{path} on {ref}: {len(raw)} bytes read, GitHub said {size}")
    return raw


def repo_tree(app: GitHubApp, req: Request, path: str, ref: str, caps: Caps, suffix: str = ".rego",
              depth: int = 0, found: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Every file ending in suffix under path at ref (or path itself when it is a file)."""
    found = {} if found is None else found
    content = repo_file(app, req, path, ref, caps.repo_file_bytes)
    if isinstance(content, bytes):
        found[path] = content
        return found
    if depth >= MAX_TREE_DEPTH:
        raise Refused(f"{path} on {ref} is nested deeper than {MAX_TREE_DEPTH} folders")
    for entry in content:
        name, kind = entry.get("path"), entry.get("type")
        if not isinstance(name, str) or not inside_repo(name):
            raise Refused(f"{path} on {ref}: GitHub listed an entry with an unusable path")
        if kind == "dir":
            repo_tree(app, req, name, ref, caps, suffix, depth + 1, found)
        elif kind == "file" and name.endswith(suffix):
            found[name] = repo_file(app, req, name, ref, caps.repo_file_bytes)  # type: ignore[assignment]
        if len(found) > caps.artifact_files:
            raise Refused(f"{path} on {ref} holds more than {caps.artifact_files} files")
    return found


def inside_repo(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and not path.startswith("/") and ".." not in parts and "\\" not in path


def evidence_artifact(app: GitHubApp, req: Request, head_sha: str, name: str, caps: Caps) -> bytes:
    """The zip of the run's artifact called name, after GitHub confirms it is this run's, about head_sha."""
    body = app.request(req.installation_id, "GET",
                       f"/repos/{req.owner}/{req.repo}/actions/runs/{req.run_id}/artifacts",
                       "actions.list-workflow-run-artifacts", params={"name": name, "per_page": 100})
    artifacts = body.get("artifacts") if isinstance(body, dict) else None
    if not isinstance(artifacts, list):
        raise GitHubAppError("actions.list-workflow-run-artifacts: GitHub's answer has no artifacts list")
    named = [a for a in artifacts if isinstance(a, dict) and a.get("name") == name]
    if not named:
        raise Refused(f"the run has no artifact named {name!r}: add the evidence upload step (gate init "
                      "--server)")
    if len(named) > 1:
        raise Refused(f"the run has {len(named)} artifacts named {name!r}; gate decides on exactly one")
    artifact = named[0]
    if artifact.get("expired"):
        raise Refused(f"the artifact {name!r} has expired")
    run = artifact.get("workflow_run") or {}
    if run.get("id") != req.run_id or run.get("head_sha") != head_sha:
        raise Refused(f"the artifact {name!r} is from run {run.get('id')} at {str(run.get('head_sha'))[:12]},"
                      f" not run {req.run_id} at {head_sha[:12]}")
    size = artifact.get("size_in_bytes")
    if not isinstance(size, int) or size > caps.artifact_bytes:
        raise Refused(f"the artifact {name!r} is {size} bytes, over the cap of {caps.artifact_bytes:,}"
                      " (limits.artifact_bytes)")
    from gate.serve.github_app import TooLarge

    try:
        return app.download(req.installation_id,
                            f"/repos/{req.owner}/{req.repo}/actions/artifacts/{int(artifact['id'])}/zip",
                            "actions.download-artifact", caps.artifact_bytes)
    except TooLarge as exc:
        raise Refused(f"{exc} (limits.artifact_bytes)") from None


def extract(archive: bytes, dest: Path, caps: Caps) -> list[str]:
    """Unpack a zip into dest, refusing any member that could land outside it; returns the member paths."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(archive))
    except zipfile.BadZipFile:
        raise Refused("the evidence artifact is not a zip archive") from None
    root = dest.resolve()
    written: list[str] = []
    total = 0
    with zf:
        members = zf.infolist()
        if len(members) > caps.artifact_files:
            raise Refused(f"the evidence artifact holds {len(members)} entries, over the cap of "
                          f"{caps.artifact_files}"
                          " (limits.artifact_files)")
        for info in members:
            name = info.filename
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise Refused(f"the evidence artifact holds a link, {name!r}; gate extracts files only")
            if not _safe_member(name):
                raise Refused(f"the evidence artifact's entry {name!r} would be written outside the "
                              "extraction"
                              " folder")
            target = (root / name).resolve()
            if not (target == root or root in target.parents):
                raise Refused(f"the evidence artifact's entry {name!r} would be written outside the "
                              "extraction"
                              " folder")
            if info.is_dir():
                try:
                    target.mkdir(parents=True, exist_ok=True)
                except OSError as exc:  # a file of that name came first
                    raise Refused(f"the evidence artifact's entry {name!r} cannot be extracted:"
                                  f" {type(exc).__name__}") from None
                continue
            total = _write_member(zf, info, target, total, caps)
            written.append(name)
    return written


def _write_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, total: int, caps: Caps) -> int:
    """Copy one member in chunks, counting real bytes against the cap; returns the new total."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as source, open(target, "xb") as sink:  # "x": two entries of one name are refused
            while chunk := source.read(64 * 1024):
                total += len(chunk)
                if total > caps.extracted_bytes:
                    raise Refused(f"the evidence artifact unpacks to more than {caps.extracted_bytes:,} bytes"
                                  " (limits.extracted_bytes)")
                sink.write(chunk)
    except (OSError, zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error, EOFError) as exc:
        raise Refused(f"the evidence artifact's entry {info.filename!r} cannot be extracted:"
                      f" {type(exc).__name__}") from None
    return total


def _safe_member(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\0" in name or ":" in name.split("/")[0]:
        return False
    parts = PurePosixPath(name).parts
    return ".." not in parts and all(part not in ("", ".") for part in parts if part)


def manifest_commit(folder: Path) -> str:
    """The commit the artifact says it is about (gate-evidence.json at its root)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise Refused(f"the evidence artifact has no {MANIFEST} naming its commit (the step gate init "
                      "--server"
                      " adds writes it)")
    try:
        data = json.loads(path.read_bytes()[:65536])
    except (ValueError, UnicodeDecodeError):
        raise Refused(f"the evidence artifact's {MANIFEST} is not JSON") from None
    commit = data.get("commit") if isinstance(data, dict) else None
    if not isinstance(commit, str) or not commit:
        raise Refused(f"the evidence artifact's {MANIFEST} has no commit")
    return commit
