"""A local GitHub for what gate posts: check runs, commit statuses, issue comments, and the issues
gate watch keeps.

Routes come from the operation files in shared/github-api/ (checks.create, checks.update,
repos.create-commit-status, issues.list-comments, issues.create-comment, issues.update-comment,
issues.list-for-repo, issues.create, issues.update).
Request bodies are validated against each operation's requestBody schema, response bodies are
GitHub's own examples with the fields a test cares about replaced, validated against the response
schema; any mismatch lands in ``errors`` and fails the test. Lists page with per_page/page and a Link
header, as GitHub does; the issue list honours the ``state`` and ``labels`` filters as GitHub does, and
holds pull requests too (with their ``pull_request`` key).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import jsonschema

from tests.plugins.gate_github.fake_github import openapi_to_jsonschema

OPERATIONS = ("checks.create", "checks.update", "repos.create-commit-status", "issues.list-comments",
              "issues.create-comment", "issues.update-comment", "issues.list-for-repo", "issues.create",
              "issues.update")


@dataclass
class Call:
    op: str
    method: str
    path: str
    body: Any


class FakeGitHubWrites:
    def __init__(self, shared: Path, token: str) -> None:
        self.token = token
        self.ops = {name: json.loads((shared / "github-api" / f"{name}.json").read_text())
                    for name in OPERATIONS}
        self.routes = [(name, op["method"],
                        re.compile("^" + re.sub(r"\{\w+\}", r"([^/]+)", op["path"]) + "$"))
                       for name, op in self.ops.items()]
        self.calls: list[Call] = []
        self.errors: list[str] = []
        self.check_runs: dict[int, dict[str, Any]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.comments: dict[int, list[dict[str, Any]]] = {}
        self.issues: dict[int, dict[str, Any]] = {}  # number -> issue or pull request, as GitHub lists it
        self.fail: dict[str, int] = {}  # operation -> status to answer instead
        self.fail_message: str | None = None  # the message of those answers, when a test needs a given one
        self._next_id = 5000
        self.server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeGitHubWrites:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake.serve(self, "GET")

            def do_POST(self) -> None:
                fake.serve(self, "POST")

            def do_PATCH(self) -> None:
                fake.serve(self, "PATCH")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def add_comment(self, number: int, body: str, login: str = "reviewer") -> dict[str, Any]:
        comment = self._example("issues.create-comment", "201")
        self._next_id += 1
        comment.update({"id": self._next_id, "body": body})
        comment["user"]["login"] = login
        self.comments.setdefault(number, []).append(comment)
        return comment

    def add_issue(self, title: str, body: str | None, labels: tuple[str, ...] = (), *, state: str = "open",
                  login: str = "reviewer", pull_request: bool = False) -> dict[str, Any]:
        """An issue (or, with pull_request, a pull request) someone else made; numbers are shared, as on
        GitHub."""
        issue = self._example("issues.create", "201")
        self._next_id += 1
        number = max(self.issues, default=0) + 1
        url = f"https://api.github.com/repos/acme/claims-triage/issues/{number}"
        issue.update({"id": self._next_id, "number": number, "title": title, "body": body, "state": state,
                      "state_reason": "completed" if state == "closed" else None,
                      "closed_at": "2026-11-20T09:00:00Z" if state == "closed" else None,
                      "closed_by": None, "locked": False, "active_lock_reason": None, "assignee": None,
                      "assignees": [], "milestone": None, "url": url,
                      "html_url": f"https://github.com/acme/claims-triage/issues/{number}",
                      "labels": [self._label(name) for name in labels]})
        issue["user"]["login"] = login
        links = issue.pop("pull_request")
        if pull_request:
            issue["pull_request"] = {key: value.replace("octocat/Hello-World", "acme/claims-triage")
                                     .replace("1347", str(number)) if isinstance(value, str) else value
                                     for key, value in links.items()}
        self.issues[number] = issue
        return issue

    def _label(self, name: str) -> dict[str, Any]:
        label = self._example("issues.create", "201")["labels"][0]
        label.update({"id": 208045000 + sum(name.encode()), "name": name, "description": None,
                      "url": f"https://api.github.com/repos/acme/claims-triage/labels/{name}",
                      "default": False})
        return label

    # --- serving ------------------------------------------------------------------------------------

    def _example(self, op: str, status: str) -> Any:
        example = next(iter(self.ops[op]["responses"][status]["examples"].values()))
        # most operation files wrap the example in {"value": ...}; issues.create and issues.update do not
        return copy.deepcopy(example.get("value", example))

    def _send(self, handler, status: int, body: Any, op: str | None = None,
              headers: dict | None = None) -> None:
        if op is not None:
            schema = self.ops[op]["responses"][str(status)]["schema"]
            try:
                jsonschema.Draft4Validator(openapi_to_jsonschema(schema)).validate(body)
            except jsonschema.ValidationError as exc:
                self.errors.append(f"{op} {status} response: {exc.message}")
        raw = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(raw)

    def serve(self, handler, method: str) -> None:
        try:
            self.handle(handler, method)
        except Exception as exc:  # noqa: BLE001 - a bug in the fake must fail the test, not look like a network fault
            self.errors.append(f"fake failed on {method} {handler.path}: {type(exc).__name__}: {exc}")
            self._send(handler, 500, {"message": "fake failed"})

    def handle(self, handler, method: str) -> None:
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        auth = handler.headers.get("Authorization", "")
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return self._send(handler, 401,
                              {"message": "Bad credentials", "documentation_url": "https://docs.github.com"})
        for op, op_method, pattern in self.routes:  # noqa: B007 - the matching route's op is used below
            match = pattern.match(url.path)
            if match and op_method == method:
                break
        else:
            return self._send(handler, 404,
                              {"message": "Not Found", "documentation_url": "https://docs.github.com"})
        body = json.loads(raw) if raw else None
        self.calls.append(Call(op, method, url.path, body))
        request_schema = self.ops[op].get("requestBody", {}).get("content", {}).get("application/json",
                                                                                    {}).get("schema")
        if request_schema is not None:
            try:
                jsonschema.Draft4Validator(openapi_to_jsonschema(request_schema)).validate(body)
            except jsonschema.ValidationError as exc:
                self.errors.append(f"{op} request: {exc.message}")
        if op in self.fail:
            status = self.fail[op]
            return self._send(handler, status, {"message": self.fail_message or f"fault {status}",
                                                "documentation_url": "https://docs.github.com"})
        getattr(self, "_" + op.replace(".", "_").replace("-", "_"))(handler, match.groups(), body,
                                                                    parse_qs(url.query))

    def _checks_create(self, handler, groups, body, query) -> None:
        run = self._example("checks.create", "201")
        self._next_id += 1
        run.update({"id": self._next_id, "name": body["name"], "head_sha": body["head_sha"],
                    "status": body.get("status", "queued"), "conclusion": body.get("conclusion"),
                    "external_id": body.get("external_id")})
        run["output"].update({"title": body["output"]["title"], "summary": body["output"]["summary"],
                              "annotations_count": len(body["output"].get("annotations", []))})
        self.check_runs[run["id"]] = run
        self._send(handler, 201, run, "checks.create")

    def _checks_update(self, handler, groups, body, query) -> None:
        run = self.check_runs.get(int(groups[2]))
        if run is None:
            return self._send(handler, 404, {"message": "Not Found"})
        run["output"]["annotations_count"] += len(body.get("output", {}).get("annotations", []))
        self._send(handler, 200, run, "checks.update")

    def _repos_create_commit_status(self, handler, groups, body, query) -> None:
        status = self._example("repos.create-commit-status", "201")
        self._next_id += 1
        status.update({"id": self._next_id, "state": body["state"], "context": body.get("context", "default"),
                       "description": body.get("description"), "target_url": body.get("target_url")})
        self.statuses.append({**status, "sha": groups[2]})
        self._send(handler, 201, status, "repos.create-commit-status")

    def _issues_list_comments(self, handler, groups, body, query) -> None:
        self._page(handler, self.comments.get(int(groups[2]), []), query, "issues.list-comments")

    def _issues_create_comment(self, handler, groups, body, query) -> None:
        comment = self.add_comment(int(groups[2]), body["body"], login="github-actions[bot]")
        self._send(handler, 201, comment, "issues.create-comment")

    def _issues_update_comment(self, handler, groups, body, query) -> None:
        for comments in self.comments.values():
            for comment in comments:
                if comment["id"] == int(groups[2]):
                    comment["body"] = body["body"]
                    return self._send(handler, 200, comment, "issues.update-comment")
        self._send(handler, 404, {"message": "Not Found"})

    def _page(self, handler, items: list, query: dict, op: str) -> None:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = int(query.get("page", ["1"])[0])
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(items):
            kept = "".join(f"&{name}={quote(values[0])}" for name, values in query.items()
                           if name not in ("per_page", "page"))
            path = handler.path.split("?")[0]
            headers["Link"] = f'<{self.base_url}{path}?per_page={per_page}&page={page + 1}{kept}>; rel="next"'
        self._send(handler, 200, chunk, op, headers)

    def _issues_list_for_repo(self, handler, groups, body, query) -> None:
        state = query.get("state", ["open"])[0]
        if state not in ("open", "closed", "all"):
            return self._send(handler, 422, {"message": "Validation Failed",
                                             "documentation_url": "https://docs.github.com"})
        wanted = [name.strip() for name in query.get("labels", [""])[0].split(",") if name.strip()]
        items = [issue for issue in self.issues.values()
                 if state in ("all", issue["state"])
                 and all(name in {label["name"] for label in issue["labels"]} for name in wanted)]
        newest_first = query.get("direction", ["desc"])[0] != "asc"
        items.sort(key=lambda issue: issue["number"], reverse=newest_first)
        self._page(handler, items, query, "issues.list-for-repo")

    def _issues_create(self, handler, groups, body, query) -> None:
        names = [label if isinstance(label, str) else label["name"] for label in body.get("labels", [])]
        issue = self.add_issue(str(body["title"]), body.get("body"), tuple(names),
                               login="github-actions[bot]")
        self._send(handler, 201, issue, "issues.create",
                   {"Location": f"{self.base_url}/repos/{groups[0]}/{groups[1]}/issues/{issue['number']}"})

    def _issues_update(self, handler, groups, body, query) -> None:
        issue = self.issues.get(int(groups[2]))
        if issue is None:
            return self._send(handler, 404, {"message": "Not Found"})
        if body.get("title") is not None:
            issue["title"] = str(body["title"])
        if "body" in body:
            issue["body"] = body["body"]
        if "labels" in body:
            issue["labels"] = [self._label(label if isinstance(label, str) else label["name"])
                               for label in body["labels"]]
        state = body.get("state")
        if state is not None and state != issue["state"]:  # state_reason is ignored unless the state changes
            issue["state"] = state
            if state == "closed":
                issue["state_reason"] = body.get("state_reason") or "completed"
                issue["closed_at"] = "2026-11-27T12:00:00Z"
            else:
                issue["state_reason"] = "reopened"
                issue["closed_at"] = None
        self._send(handler, 200, issue, "issues.update")
