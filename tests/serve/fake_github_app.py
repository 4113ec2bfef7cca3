"""A local GitHub for `gate serve`: the App's side of the API, answering as tests/reference/github-api/ says.

Built on tests/plugins/gate_github/fake_github.py (its response validation, faults, rate headers and error
bodies), adding: installation tokens (apps.create-installation-access-token, authenticated with the App's
RS256 JWT, verified here with the App's public key), workflow runs, run artifacts and their 302 download
to a blob URL that refuses credentials, repository content per ref (the object media type), and the
review answer (actions.review-custom-gates-for-run, its request body validated). FakeGitHub's own
operations (pull requests, reviews, team members, issues) answer an installation token, as GitHub does. Every
response body is validated against the operation's schema for its status; a mismatch lands in ``errors``.

Deliveries are counted here: ``answers`` lists every review GitHub took, so a test (and the load
benchmark) can tell "answered exactly once" from "answered twice" or "never".
"""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import re
import secrets
import threading
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema

from tests.plugins.gate_github.fake_github import FakeGitHub, Fault, Request, openapi_to_jsonschema

APP_OPERATIONS = {
    "apps.create-installation-access-token": "POST",
    "actions.get-workflow-run": "GET",
    "actions.list-workflow-run-artifacts": "GET",
    "actions.download-artifact": "GET",
    "actions.review-custom-gates-for-run": "POST",
    "repos.get-content": "GET",
}
WEBHOOK = "deployment-protection-rule.requested"


@dataclass
class Artifact:
    id: int
    name: str
    archive: bytes
    run_id: int
    head_sha: str
    size: int | None = None       # what the listing says (default: the archive's length)
    expired: bool = False


@dataclass
class Run:
    id: int
    owner: str
    repo: str
    head_sha: str
    head_branch: str
    artifacts: list[Artifact] = field(default_factory=list)


@dataclass
class Answer:
    run_id: int
    environment: str
    state: str
    comment: str
    at: float


class FakeGitHubApp(FakeGitHub):
    def __init__(self, shared: Path, app_id: int, public_key: bytes, token_ttl_s: float = 3600.0) -> None:
        super().__init__(shared, token="unused-by-the-app-fake")
        for name in APP_OPERATIONS:
            self.ops[name] = json.loads((shared / "github-api" / f"{name}.json").read_text())
        self.webhook_op = json.loads((shared / "github-api" / f"{WEBHOOK}.json").read_text())
        self.app_routes = [(name, APP_OPERATIONS[name], _template(self.ops[name]["path"]))
                           for name in APP_OPERATIONS]
        self.app_id, self.public_key, self.token_ttl_s = app_id, public_key, token_ttl_s
        self.tokens: dict[str, float] = {}           # installation token -> expiry (time.time())
        self.tokens_minted = 0
        # "owner/repo" -> {"default_branch", "files": {ref: {path: bytes}}}
        self.repos: dict[str, dict[str, Any]] = {}
        self.runs: dict[int, Run] = {}
        self.blobs: dict[str, bytes] = {}
        self.answers: list[Answer] = []
        self.pending: set[tuple[int, str]] = set()
        self.content_refs: list[str] = []
        self._lock = threading.Lock()
        self._next = iter(range(70_000, 10**9))
        self.on_request: Any = None                  # callable(method, path), run as each request arrives

    # --- the state a test sets up -------------------------------------------------------------------

    def add_repo(self, full_name: str, default_branch: str, files: dict[str, dict[str, bytes]]) -> None:
        self.repos[full_name] = {"default_branch": default_branch, "files": files}

    def add_run(self, full_name: str, head_sha: str, head_branch: str = "release") -> Run:
        owner, repo = full_name.split("/")
        run = Run(next(self._next), owner, repo, head_sha, head_branch)
        self.runs[run.id] = run
        return run

    def add_artifact(self, run: Run, archive: bytes, name: str = "gate-evidence", **kw: Any) -> Artifact:
        artifact = Artifact(next(self._next), name, archive, kw.pop("run_id", run.id),
                            kw.pop("head_sha", run.head_sha), **kw)
        run.artifacts.append(artifact)
        return artifact

    def expire_tokens(self) -> None:
        """Every installation token issued so far stops working (GitHub: 401 Bad credentials)."""
        with self._lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def answers_for(self, run_id: int) -> list[Answer]:
        return [a for a in self.answers if a.run_id == run_id]

    def api_requests(self, pattern: str = "") -> list[Request]:
        return [r for r in self.requests if re.search(pattern, r.path)]

    # --- serving ------------------------------------------------------------------------------------

    def start(self) -> FakeGitHubApp:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        try:
            self._app_handle(handler, method)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake fails the test, it is not a network fault
            self.errors.append(f"fake failed on {method} {handler.path}: {type(exc).__name__}: {exc}")
            self._send(handler, 500, self._basic_error("fake failed", "500"), None)

    def _app_handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        auth = handler.headers.get("Authorization")
        with self._lock:
            self.requests.append(Request(method, parts.path, query, auth))
        if self.on_request is not None:
            self.on_request(method, parts.path)
        for fault in self.faults:
            if re.search(fault.path,
                         f"{method} {parts.path}") and (fault.times is None or fault.hits < fault.times):
                fault.hits += 1
                # GitHub never acted: the answer comes after the client gave up, or never
                if fault.kind == "slow":
                    self._stop.wait(fault.delay)
                    return None
                if fault.kind == "expire":
                    self.expire_tokens()
                    break
                return self._fault(handler, fault)
        if parts.path.startswith("/_blob/"):
            return self._blob(handler, parts.path.removeprefix("/_blob/"), auth)
        for name, op_method, pattern in self.app_routes:
            match = pattern.fullmatch(parts.path)
            if match and op_method == method:
                params = {k: unquote(v) for k, v in match.groupdict().items()}
                if name == "apps.create-installation-access-token":
                    return self._mint(handler, params, auth)
                if not self._token_ok(auth):
                    return self._send(handler, 401, self._basic_error("Bad credentials", "401"), None)
                return getattr(self, "_" + name.split(".")[1].replace("-", "_"))(handler, params, query, raw)
        # FakeGitHub's operations (pull requests, reviews, teams, issues), as the installation
        if method == "GET":
            for name, pattern in self.routes:
                match = pattern.fullmatch(parts.path)
                if match:
                    if not self._token_ok(auth):
                        return self._send(handler, 401, self._basic_error("Bad credentials", "401"), None)
                    return self._route(handler, name, match.groupdict(), query, parts.path)
        return self._send(handler, 404, self._basic_error("Not Found", "404"), None)

    # --- authentication ---------------------------------------------------------------------------------

    def _mint(self, handler, params: dict[str, str], auth: str | None) -> None:
        import jwt

        name = "apps.create-installation-access-token"
        if not auth or not auth.startswith("Bearer "):
            return self._send(handler, 401, self._basic_error("A JSON web token could not be decoded", "401"),
                              name)
        try:
            claims = jwt.decode(auth.removeprefix("Bearer "), self.public_key, algorithms=["RS256"],
                                options={"require": ["iat", "exp", "iss"]}, leeway=5)
        except jwt.PyJWTError as exc:
            return self._send(handler, 401, self._basic_error(f"'{type(exc).__name__}' JWT", "401"), name)
        if str(claims["iss"]) != str(self.app_id) or claims["exp"] - claims["iat"] > 600:
            return self._send(handler, 401,
                              self._basic_error("'Expiration time' claim is too far in the future",
                                                              "401"), name)
        token = "ghs_" + secrets.token_urlsafe(27)
        expires = time.time() + self.token_ttl_s
        with self._lock:
            self.tokens[token] = expires
            self.tokens_minted += 1
        body = self._example_of(name, "201")
        body.update({"token": token,
                     "expires_at": datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
        return self._send(handler, 201, body, name)

    def _token_ok(self, auth: str | None) -> bool:
        if not auth or not auth.startswith("token "):
            return False
        expires = self.tokens.get(auth.removeprefix("token "))
        return expires is not None and expires > time.time()

    # --- the operations -----------------------------------------------------------------------------------

    def _get_workflow_run(self, handler, params, query, raw) -> None:
        name = "actions.get-workflow-run"
        run = self.runs.get(int(params["run_id"]))
        if run is None or (run.owner, run.repo) != (params["owner"], params["repo"]):
            return self._send(handler, 404, self._basic_error("Not Found", "404"), None)
        body = self._example_of(name, "200")
        body.update({"id": run.id, "head_sha": run.head_sha, "head_branch": run.head_branch,
                     "html_url": f"https://github.example/{run.owner}/{run.repo}/actions/runs/{run.id}"})
        body["head_commit"]["id"] = run.head_sha
        return self._send(handler, 200, body, name)

    def _list_workflow_run_artifacts(self, handler, params, query, raw) -> None:
        name = "actions.list-workflow-run-artifacts"
        run = self.runs.get(int(params["run_id"]))
        if run is None:
            return self._send(handler, 404, self._basic_error("Not Found", "404"), None)
        wanted = query.get("name", [None])[0]
        template = self._example_of(name, "200")["artifacts"][0]
        items = []
        for artifact in run.artifacts:
            if wanted and artifact.name != wanted:
                continue
            item = copy.deepcopy(template)
            item.update(
                {
                    "id": artifact.id,
                    "name": artifact.name,
                    "expired": artifact.expired,
                    "size_in_bytes": artifact.size if artifact.size is not None else len(artifact.archive),
                    "archive_download_url": f"{self.base_url}/repos/{run.owner}/{run.repo}/actions/artifacts/"
                    f"{artifact.id}/zip",
                    "digest": "sha256:" + hashlib.sha256(artifact.archive).hexdigest(),
                }
            )
            item["workflow_run"].update({"id": artifact.run_id, "head_sha": artifact.head_sha,
                                         "head_branch": run.head_branch})
            items.append(item)
        return self._send(handler, 200, {"total_count": len(items), "artifacts": items}, name)

    def _download_artifact(self, handler, params, query, raw) -> None:
        found = [a for run in self.runs.values() for a in run.artifacts if a.id == int(params["artifact_id"])]
        if not found or params["archive_format"] != "zip":
            return self._send(handler, 404, self._basic_error("Not Found", "404"), None)
        key = secrets.token_urlsafe(16)
        self.blobs[key] = found[0].archive
        handler.send_response(302)
        handler.send_header("Location", f"{self.base_url}/_blob/{key}?sig=fake")
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return None

    def _blob(self, handler, key: str, auth: str | None) -> None:
        if auth:  # the storage behind the redirect must never receive GitHub credentials
            self.errors.append("the artifact download was sent an Authorization header")
        data = self.blobs.pop(key, None)
        if data is None:
            handler.send_response(404)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/zip")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (a download over its cap)

    def _get_content(self, handler, params, query, raw) -> None:
        name = "repos.get-content"
        repo = self.repos.get(f"{params['owner']}/{params['repo']}")
        if repo is None:
            return self._send(handler, 404, self._basic_error("Not Found", "404"), name)
        ref = query.get("ref", [repo["default_branch"]])[0]
        with self._lock:
            self.content_refs.append(ref)
        files = repo["files"].get(ref, {})
        path = params["path"].strip("/")
        if path in files:
            data = files[path]
            body = self._entry(name, path, "file", len(data))
            body.update({"encoding": "base64", "content": base64.encodebytes(data).decode("ascii")})
            return self._send(handler, 200, body, name)
        children = sorted({p[len(path) + 1:].split("/")[0] for p in files if p.startswith(path + "/")})
        if not children:
            return self._send(handler, 404, self._basic_error("Not Found", "404"), name)
        body = self._entry(name, path, "dir", 0)
        body["entries"] = [self._entry(name, f"{path}/{c}", "file" if f"{path}/{c}" in files else "dir",
                                       len(files.get(f"{path}/{c}", b""))) for c in children]
        return self._send(handler, 200, body, name)

    def _entry(self, name: str, path: str, kind: str, size: int) -> dict[str, Any]:
        example = self.ops[name]["responses"]["200"]["examples"][
            "response-if-content-is-a-directory-github-object"
        ]
        entry = copy.deepcopy(example["entries"][0])
        entry.update({"type": kind, "size": size, "name": path.rsplit("/", 1)[-1], "path": path})
        return entry

    def _review_custom_gates_for_run(self, handler, params, query, raw) -> None:
        name = "actions.review-custom-gates-for-run"
        try:
            body = json.loads(raw)
        except ValueError:
            return self._send(handler, 400, self._basic_error("Problems parsing JSON", "400"), None)
        schema = self.ops[name]["requestBody"]["content"]["application/json"]["schema"]
        for error in jsonschema.Draft4Validator(openapi_to_jsonschema(schema)).iter_errors(body):
            self.errors.append(f"{name} request: {error.message[:200]}")
        run_id = int(params["run_id"])
        with self._lock:
            self.answers.append(Answer(run_id, body.get("environment_name"), body.get("state"),
                                       body.get("comment", ""), time.monotonic()))
            self.pending.discard((run_id, body.get("environment_name")))
        if len(body.get("comment", "")) > 1024:
            self.errors.append(f"{name}: a comment of {len(body['comment'])} characters")
        handler.send_response(204)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
        return None

    def _example_of(self, op: str, status: str) -> Any:
        examples = self.ops[op]["responses"][status]["examples"]
        value = next(iter(examples.values()))
        return copy.deepcopy(value["value"] if isinstance(value, dict) and set(value) == {"value"} else value)

    # --- webhook deliveries, as GitHub sends them ------------------------------------------------------

    def delivery(self, run: Run, environment: str = "production", installation_id: int = 4242,
                 sha: str | None = None) -> dict[str, Any]:
        """A deployment-protection-rule.requested payload: every required field from the documented schema,
        with this run's values; validated against that schema before it is returned."""
        schema = self.webhook_op["requestBody"]["content"]["application/json"]["schema"]
        payload = {key: example_of(schema["properties"][key]) for key in
                   ("deployment", "repository", "organization", "installation", "sender")}
        repo = self.repos[f"{run.owner}/{run.repo}"]
        payload["repository"].update({"name": run.repo, "full_name": f"{run.owner}/{run.repo}",
                                      "default_branch": repo["default_branch"]})
        payload["repository"]["owner"]["login"] = run.owner
        payload["installation"]["id"] = installation_id
        payload["sender"]["login"] = "release-bot"
        payload["deployment"].update({"sha": sha or run.head_sha, "ref": run.head_branch,
                                      "environment": environment})
        payload.update({
            "action": "requested", "environment": environment, "event": "push", "sha": sha or run.head_sha,
            "ref": f"refs/heads/{run.head_branch}", "pull_requests": [],
            "deployment_callback_url": f"https://api.github.com/repos/{run.owner}/{run.repo}/actions/runs/{run.id}"
                                       "/deployment_protection_rule",
        })
        errors = [e.message
                  for e in jsonschema.Draft4Validator(openapi_to_jsonschema(schema)).iter_errors(payload)]
        assert not errors, f"the delivery does not follow the documented payload: {errors[:3]}"
        self.pending.add((run.id, environment))
        return payload


def example_of(schema: Any) -> Any:
    """A value for an OpenAPI schema: its example where it gives one, else the least value of its type."""
    if not isinstance(schema, dict):
        return None
    if "example" in schema and schema.get("type") != "object":
        return copy.deepcopy(schema["example"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return example_of(schema[key][0])
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = example_of(part)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if schema.get("nullable") and schema.get("type") not in ("object", "string", "integer", "boolean"):
        return None
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {key: example_of(props.get(key, {})) for key in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "string":
        if "enum" in schema:
            return schema["enum"][0]
        return {"uri": "https://api.github.com/x",
                "date-time": "2026-12-01T00:00:00Z"}.get(schema.get("format"), "x")
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return False
    return None


def zip_of(files: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A zip as actions/upload-artifact makes one; links become symlink entries (to test they are refused)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (0o120777 << 16)
            zf.writestr(info, target)
    return buffer.getvalue()


def _template(path: str) -> re.Pattern[str]:
    pattern = re.escape(path)
    pattern = pattern.replace(r"\{path\}", r"(?P<path>.+)")
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern))


__all__ = ["Answer", "Artifact", "FakeGitHubApp", "Fault", "Run", "example_of", "zip_of"]
