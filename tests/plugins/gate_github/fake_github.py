"""A local GitHub REST API for tests, answering as /work/shared/github-api/ describes it.

- Routes are the operations' `path` templates from the description files; bodies are built from each
  operation's own example (deep-copied, then the fields a test cares about replaced) and every body the
  fake sends is validated against the operation's response schema for that status (OpenAPI 3.0:
  `nullable: true` = null allowed, `x-*` ignored). A response that does not validate is recorded in
  ``errors`` and fails the test (see the fixture in conftest.py).
- Lists paginate as GitHub does: `per_page` (default 30, at most 100) and `page`, with a `Link` header
  carrying rel="next"/"last"/"first"/"prev" absolute URLs.
- Every response carries the X-RateLimit-* headers; faults inject 401/403/404/5xx, primary and secondary
  rate limits, and answers slower than the client's timeout.
- Authentication: `Authorization: token <token>` (github3.py's form) or `Bearer`; anything else is 401.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jsonschema

OPERATIONS = {
    "pulls.get": "pulls.get.json",
    "pulls.list-reviews": "pulls.list-reviews.json",
    "repos.list-pull-requests-associated-with-commit": "repos.list-pull-requests-associated-with-commit.json",
    "teams.list-members-in-org": "teams.list-members-in-org.json",
    "teams.get-membership-for-user-in-org": "teams.get-membership-for-user-in-org.json",
    "issues.list-for-repo": "issues.list-for-repo.json",
    "rate-limit.get": "rate-limit.get.json",
}


def openapi_to_jsonschema(node: Any) -> Any:
    """OpenAPI 3.0 schema object -> JSON Schema (draft 4 semantics): nullable -> null allowed, x-* dropped."""
    if isinstance(node, list):
        return [openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: openapi_to_jsonschema(v) for k, v in node.items()
           if not k.startswith("x-") and k not in ("nullable", "example", "examples", "discriminator")}
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


@dataclass
class Fault:
    """What to answer instead, for requests whose path matches `path` (a regex), `times` times (None:
    always)."""

    path: str
    status: int = 500
    kind: str = "error"            # error | rate_limit | secondary | slow
    reset_in: float = 3600         # rate_limit: seconds until X-RateLimit-Reset
    retry_after: int | None = None  # secondary: Retry-After header
    delay: float = 0.0             # slow: seconds before answering
    times: int | None = None
    page: int | None = None        # only on this page of a list
    hits: int = 0


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


class FakeGitHub:
    def __init__(self, shared: Path, token: str, prefix: str = "") -> None:
        self.shared = shared
        self.token = token
        self.prefix = prefix.rstrip("/")
        self.ops = {name: json.loads((shared / "github-api" / f).read_text())
                    for name, f in OPERATIONS.items()}
        self.error_responses = json.loads((shared / "github-api" / "error-responses.json").read_text())
        self.routes = [(name, _template(op["path"])) for name, op in self.ops.items()]
        self.pulls: dict[int, dict[str, Any]] = {}
        self.commit_pulls: dict[str, list[int]] = {}
        self.reviews: dict[int, list[dict[str, Any]]] = {}
        self.teams: dict[tuple[str, str], list[str]] = {}
        self.issues: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.requests: list[Request] = []
        self.errors: list[str] = []
        self.rate = {"limit": 5000, "remaining": 4990, "reset": int(time.time()) + 3600}
        self._ids = iter(range(1000, 10**9))
        self._stop = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    # --- the state a test sets up, in GitHub's shapes -------------------------------------------------

    def user(self, login: str) -> dict[str, Any]:
        user = self._example("pulls.list-reviews")[0]["user"]
        uid = zlib.crc32(login.encode()) % 10**8  # the same person has the same id on every call
        for key, value in list(user.items()):
            if isinstance(value, str) and "octocat" in value:
                user[key] = value.replace("octocat", login)
        user.update({"login": login, "id": uid, "node_id": f"U_{uid}"})
        return user

    def add_pull(self, number: int, head_sha: str, *, merged: bool = False,
                 merge_commit_sha: str | None = None,
                 state: str = "open", commits: tuple[str, ...] = ()) -> dict[str, Any]:
        pull = self._example("pulls.get")
        pull["requested_teams"] = []  # GitHub's own example lacks the required `type` here (a known quirk)
        base = self.base_url
        pull.update({
            "number": number, "id": next(self._ids), "state": state, "merged": merged,
            "merged_at": "2026-11-25T15:00:00Z" if merged else None,
            "closed_at": "2026-11-25T15:00:00Z" if merged or state == "closed" else None,
            "merge_commit_sha": merge_commit_sha,
            "url": f"{base}/repos/acme/claims-triage/pulls/{number}",
            "html_url": f"https://github.example/acme/claims-triage/pull/{number}",
        })
        pull["head"]["sha"] = head_sha
        self.pulls[number] = pull
        for sha in {head_sha, *commits, *([merge_commit_sha] if merge_commit_sha else [])}:
            self.commit_pulls.setdefault(sha, []).append(number)
        self.reviews.setdefault(number, [])
        return pull

    def add_review(self, number: int, login: str | None, state: str, commit_id: str | None,
                   submitted_at: str | None = "2026-11-25T10:00:00Z") -> dict[str, Any]:
        review = self._example("pulls.list-reviews")[0]
        rid = next(self._ids)
        review.update({"id": rid, "node_id": f"PRR_{rid}", "state": state, "commit_id": commit_id,
                       "user": self.user(login) if login else None})
        if submitted_at is None:
            review.pop("submitted_at", None)
        else:
            review["submitted_at"] = submitted_at
        self.reviews[number].append(review)
        return review

    def add_team(self, org: str, slug: str, logins: list[str]) -> None:
        self.teams[(org, slug.lower())] = list(logins)

    def add_issue(self, number: int, *, body: str | None, labels: list[str],
                  closed_at: str | None = "2026-10-14T17:00:00Z",
                  assignees: list[str] = (), state: str = "closed", state_reason: str | None = "completed",
                  pull_request: bool = False) -> dict[str, Any]:
        issue = self._example("issues.list-for-repo")[0]
        label = issue["labels"][0]
        issue.update({
            "number": number, "id": next(self._ids), "state": state, "state_reason": state_reason,
            "body": body, "closed_at": closed_at,
            "html_url": f"https://github.example/acme/claims-triage/issues/{number}",
            "url": f"{self.base_url}/repos/acme/claims-triage/issues/{number}",
            "labels": [{**label, "id": next(self._ids), "name": name} for name in labels],
            "assignees": [self.user(a) for a in assignees],
            "assignee": self.user(assignees[0]) if assignees else None,
        })
        if not pull_request:
            issue.pop("pull_request", None)
        self.issues.append(issue)
        return issue

    def fail(self, path: str, status: int = 500, **kw: Any) -> Fault:
        fault = Fault(path=path, status=status, **kw)
        self.faults.append(fault)
        return fault

    # --- serving ----------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self.server is not None, "start() the fake first"
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}{self.prefix}"

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake._handle(self, "POST")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _example(self, op: str) -> Any:
        examples = self.ops[op]["responses"]["200"]["examples"]
        return copy.deepcopy(next(iter(examples.values()))["value"])

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        self.requests.append(Request(method, parts.path, query, handler.headers.get("Authorization")))
        path = parts.path
        if self.prefix:
            if not path.startswith(self.prefix + "/"):
                return self._send(handler, 404, self._basic_error("Not Found", "404"), None)
            path = path[len(self.prefix):]
        auth = handler.headers.get("Authorization") or ""
        if auth not in (f"token {self.token}", f"Bearer {self.token}"):
            return self._send(handler, 401, self._basic_error("Bad credentials", "401"), None)
        page = _int(query.get("page", ["1"])[0], 1)
        for fault in self.faults:
            if re.search(fault.path, path) and (fault.page is None or fault.page == page) and (
                    fault.times is None or fault.hits < fault.times):
                fault.hits += 1
                if fault.kind == "slow":
                    self._stop.wait(fault.delay)
                    break
                return self._fault(handler, fault)
        if method != "GET":
            return self._send(handler, 404, self._basic_error("Not Found", "404"), None)
        for name, pattern in self.routes:
            match = pattern.fullmatch(path)
            if match:
                return self._route(handler, name, match.groupdict(), query, path)
        return self._send(handler, 404, self._basic_error("Not Found", "404"), None)

    def _route(self, handler, name: str, params: dict[str, str], query: dict[str, list[str]],
               path: str) -> None:
        if name == "pulls.get":
            pull = self.pulls.get(int(params["pull_number"]))
            if pull is None:
                return self._send(handler, 404, self._basic_error("Not Found", "404"), name)
            return self._send(handler, 200, pull, name)
        if name == "pulls.list-reviews":
            number = int(params["pull_number"])
            if number not in self.pulls:
                return self._send(handler, 404, self._basic_error("Not Found", "404"), None)
            return self._list(handler, name, self.reviews[number], query, path)
        if name == "repos.list-pull-requests-associated-with-commit":
            numbers = self.commit_pulls.get(params["commit_sha"], [])
            simple = [self._simple_pull(self.pulls[n]) for n in numbers]
            return self._list(handler, name, simple, query, path)
        if name == "teams.list-members-in-org":
            members = self.teams.get((params["org"], params["team_slug"].lower()))
            if members is None:
                return self._send(handler, 404, self._basic_error("Not Found", "404"), None)
            item = self._example(name)[0]
            people = [{**item, **self.user(login), "role": "member", "inherited": False}
                      for login in members]
            return self._list(handler, name, people, query, path)
        if name == "teams.get-membership-for-user-in-org":
            members = self.teams.get((params["org"], params["team_slug"].lower())) or []
            if params["username"] not in members:
                return self._send(handler, 404, None, name)
            body = {"url": f"{self.base_url}/teams/1/memberships/{params['username']}", "role": "member",
                    "state": "active"}
            return self._send(handler, 200, body, name)
        if name == "issues.list-for-repo":
            state = query.get("state", ["open"])[0]
            wanted = set(filter(None, query.get("labels", [""])[0].split(",")))
            issues = [i for i in self.issues if (state == "all" or i["state"] == state)
                      and wanted <= {label["name"] for label in i["labels"]}]
            return self._list(handler, name, issues, query, path)
        if name == "rate-limit.get":
            body = self._example(name)
            body["resources"]["core"].update(self.rate)
            return self._send(handler, 200, body, name)
        return self._send(handler, 404, self._basic_error("Not Found", "404"), None)

    def _simple_pull(self, pull: dict[str, Any]) -> dict[str, Any]:
        item_schema = self.ops["repos.list-pull-requests-associated-with-commit"]["responses"]["200"][
            "schema"
        ]["items"]
        allowed = set(item_schema["properties"])
        return {k: v for k, v in pull.items() if k in allowed}

    def _list(self, handler, name: str, items: list[Any], query: dict[str, list[str]], path: str) -> None:
        per_page = min(max(_int(query.get("per_page", ["30"])[0], 30), 1), 100)
        page = max(_int(query.get("page", ["1"])[0], 1), 1)
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []

        def link(number: int, rel: str) -> str:
            q = {k: v[0] for k, v in query.items()}
            q.update({"per_page": str(per_page), "page": str(number)})
            return f'<{self.base_url}{path}?{urlencode(q)}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers = {"Link": ", ".join(links)} if links else {}
        return self._send(handler, 200, chunk, name, headers)

    def _fault(self, handler, fault: Fault) -> None:
        if fault.kind == "rate_limit":
            reset = int(time.time() + fault.reset_in)
            body = self._basic_error("API rate limit exceeded for user ID 1. If you reach out to GitHub "
                                     "Support"
                                     " for help, please include the request ID.", str(fault.status))
            return self._send(handler, fault.status, body, None,
                              {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
        if fault.kind == "secondary":
            body = self._basic_error("You have exceeded a secondary rate limit. Please wait a few minutes"
                                     " before you try again.", str(fault.status))
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return self._send(handler, fault.status, body, None, headers)
        messages = {401: "Bad credentials", 403: "Resource not accessible by integration", 404: "Not Found",
                    500: "Internal Server Error", 502: "Server Error", 503: "Service Unavailable"}
        body = self._basic_error(messages.get(fault.status, "Error"), str(fault.status))
        return self._send(handler, fault.status, body, None)

    def _basic_error(self, message: str, status: str) -> dict[str, Any]:
        return {"message": message, "documentation_url": "https://docs.github.com/rest", "status": status}

    def _send(self, handler, status: int, body: Any, op: str | None,
              headers: dict[str, str] | None = None) -> None:
        self._validate(status, body, op)
        raw = b"" if body is None else json.dumps(body).encode("utf-8")
        if self._stop.is_set():
            return
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(raw)))
            sent = {"X-RateLimit-Limit": str(self.rate["limit"]),
                    "X-RateLimit-Remaining": str(self.rate["remaining"]),
                    "X-RateLimit-Reset": str(self.rate["reset"]), **(headers or {})}
            for key, value in sent.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def _validate(self, status: int, body: Any, op: str | None) -> None:
        if body is None:
            return
        if op is not None and str(status) in self.ops[op]["responses"]:
            schema = self.ops[op]["responses"][str(status)].get("schema")
        else:
            schema = self.error_responses["schemas"]["basic-error"]
        if schema is None:
            self.errors.append(f"{op} {status}: the description has no body for this status, the fake sent "
                               "one")
            return
        validator = jsonschema.Draft4Validator(openapi_to_jsonschema(schema))
        for error in validator.iter_errors(body):
            self.errors.append(f"{op} {status}: {'/'.join(map(str, error.absolute_path))}: "
                               f"{error.message[:200]}")


def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)))


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default

