"""One GitHub REST client for every gate_github feature: base URL, token, timeouts, retries, rate limits,
pagination and error messages live here and nowhere else.

github3.py provides the authenticated session (token auth, GitHub's media type, user agent, the
GitHub Enterprise URL convention); this module adds what a gate needs on top:

- every failure is a ``GitHubError`` with one line that names the request, GitHub's status and message,
  and what to do; never the token, never a traceback;
- 5xx answers, timeouts and dropped connections are retried a bounded number of times;
- a rate limit is waited out when it resets within ``max_wait_s``, else reported (``RateLimited``);
- lists follow the ``Link: <...>; rel="next"`` header to the end, or fail: never silently partial.

``request()`` takes any method and JSON body, so other features (check runs, PR comments) reuse it.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from gate.collector import display_url

PUBLIC_API = "https://api.github.com"
DEFAULTS = {"timeout_s": 10.0, "retries": 2, "backoff_s": 1.0, "max_wait_s": 60.0, "max_pages": 100}
SECONDARY_LIMIT_WAIT_S = 60.0  # GitHub: without retry-after or a reset time, wait at least a minute
MIN_RATE_LIMIT_WAIT_S = 1.0    # the least gate waits on a rate limit, whatever Retry-After says
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})


class GitHubError(Exception):
    """GitHub could not be asked, or did not answer as documented. The message is one line."""

    def __init__(self, message: str, status: int | None = None) -> None:
        from gate.collector import mask

        super().__init__(mask(" ".join(message.split())))
        self.status = status


class Unauthorized(GitHubError):
    pass


class Forbidden(GitHubError):
    pass


class NotFound(GitHubError):
    pass


class RateLimited(GitHubError):
    pass


class Unavailable(GitHubError):
    pass


@dataclass
class Settings:
    """Where and how to reach GitHub. ``from_env`` decides which URL may receive the token."""

    api_url: str = PUBLIC_API
    token: str | None = None
    timeout_s: float = DEFAULTS["timeout_s"]
    retries: int = DEFAULTS["retries"]
    backoff_s: float = DEFAULTS["backoff_s"]
    max_wait_s: float = DEFAULTS["max_wait_s"]
    max_pages: int = DEFAULTS["max_pages"]

    @classmethod
    def from_options(cls, options: Mapping[str, Any], environ: Mapping[str, str] | None = None,
                     credential: Any = None) -> Settings:
        """Settings from a collector's options and the environment.

        The token is GITHUB_TOKEN. It is sent only to the API the CI environment names (GITHUB_API_URL,
        set by GitHub Actions and GitHub Enterprise runners) or, outside CI, to the one gate.yaml names:
        a pull request that edits gate.yaml cannot send the token somewhere else.

        A credential (gate.Credential, lent by gate serve for one decision) replaces both: its token, sent
        only to its URL, whatever the environment holds.
        """
        from gate import ConfigError
        from gate.collector import register_secret as register

        env = os.environ if environ is None else environ
        if credential is not None:
            env = {"GITHUB_TOKEN": credential.token, "GITHUB_API_URL": credential.url}
        token = env.get("GITHUB_TOKEN") or None
        register(token)
        configured = options.get("api_url")
        enterprise = options.get("enterprise_url")
        if configured is not None and enterprise is not None:
            raise ConfigError("evidence options 'api_url' and 'enterprise_url': set one of them, not both")
        if enterprise is not None:
            configured = _text(enterprise, "enterprise_url").rstrip("/") + "/api/v3"
        elif configured is not None:
            configured = _text(configured, "api_url").rstrip("/")
        from_env = (env.get("GITHUB_API_URL") or "").rstrip("/") or None
        if configured and from_env and configured != from_env:
            raise ConfigError(f"evidence option 'api_url': {display_url(configured)} differs from "
                              f"GITHUB_API_URL {display_url(from_env)};"
                              " gate sends GITHUB_TOKEN only to the API the CI environment names")
        api_url = configured or from_env or PUBLIC_API
        if urlsplit(api_url).scheme not in ("https", "http") or not urlsplit(api_url).netloc:
            raise ConfigError("evidence option 'api_url': expected an http(s) URL, got "
                              f"{display_url(api_url)!r}")
        values: dict[str, Any] = {}
        for key, default in DEFAULTS.items():
            value = options.get(key, default)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"evidence option {key!r}: expected a number >= 0, got {value!r}")
            values[key] = type(default)(value)
        if values["timeout_s"] <= 0 or values["max_pages"] < 1:
            raise ConfigError("evidence options 'timeout_s' and 'max_pages' must be above 0")
        return cls(api_url=api_url, token=token, **values)


def _text(value: Any, name: str) -> str:
    from gate import ConfigError

    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"evidence option {name!r}: expected a URL, got {value!r}")
    return value.strip()


@dataclass
class RateStatus:
    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None


@dataclass
class GitHubClient:
    settings: Settings
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    rate: RateStatus = field(default_factory=RateStatus)
    waited_s: float = 0.0
    _digest: Any = field(default_factory=hashlib.sha256)
    _session: Any = None

    @property
    def session(self) -> Any:
        """github3.py's session: token auth, GitHub's media type and user agent; made on first use."""
        if self._session is None:
            import github3

            if self.settings.api_url == PUBLIC_API:
                gh = github3.GitHub(token=self.settings.token or "")
            else:
                gh = github3.GitHubEnterprise(_host_of(self.settings.api_url),
                                              token=self.settings.token or "")
            gh.session.base_url = self.settings.api_url
            from gate.collector import body_deadline

            # a trickle is a timeout
            gh.session.hooks["response"].append(body_deadline(self.settings.timeout_s))
            self._session = gh.session
        return self._session

    def digest(self) -> str:
        """sha256 of every response body read so far: the evidence digest of what was verified."""
        return "sha256:" + self._digest.hexdigest()

    def url(self, path: str) -> str:
        return path if "://" in path else self.settings.api_url + "/" + path.lstrip("/")

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
                ok: tuple[int, ...] = (200,), retry: bool | None = None) -> Any:
        """One API call; returns the requests.Response of a status in ``ok``, else raises GitHubError.

        5xx answers and timeouts are retried for idempotent methods only (a retried POST could create a
        second comment), unless ``retry`` says otherwise; a rate limit is waited out for any method,
        since GitHub refused the request without acting on it.
        """
        import requests

        from gate.collector import mask_deep

        json = mask_deep(json) if json is not None else None  # a report posted to GitHub is output too

        retries = self.settings.retries if (retry if retry is not None
                                            else method.upper() in IDEMPOTENT) else 0
        url = self.url(path)
        what = f"{method} {_shown(url, self.settings.api_url)}"
        failures = 0
        while True:
            try:
                response = self.session.request(method, url, params=params, json=json,
                                                timeout=(min(self.settings.timeout_s, 10.0),
                                                         self.settings.timeout_s),
                                                allow_redirects=True)
            except requests.Timeout:
                problem = f"GitHub did not answer {what} within {self.settings.timeout_s:g} s"
            except requests.ConnectionError as exc:
                problem = (f"cannot reach GitHub at {display_url(self.settings.api_url)} for {what}: "
                           f"{_reason(exc)}")
            except requests.RequestException as exc:
                raise GitHubError(f"{what} failed: {type(exc).__name__}") from None
            else:
                self._note_rate(response)
                if response.status_code in ok:
                    self._digest.update(response.content)
                    return response
                wait = self._rate_limit_wait(response)
                if wait is not None:
                    self._wait_out(wait, what, response)
                    continue
                if response.status_code < 500:
                    raise _error_for(response, what)
                problem = f"GitHub answered {response.status_code} {_message(response)} to {what}"
            failures += 1
            if failures > retries:
                attempts = f"{failures} attempt{'s' if failures > 1 else ''}"
                raise Unavailable(f"{problem} ({attempts}); gate cannot verify this on GitHub now")
            self.sleep(self.settings.backoff_s * (2 ** (failures - 1)))

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return _json_of(self.request("GET", path, params=params), path)

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every item of a list endpoint, following Link rel="next"; more than max_pages is an error."""
        query = {"per_page": 100, **(params or {})}
        url: str | None = self.url(path)
        items: list[Any] = []
        pages = 0
        while url:
            if pages >= self.settings.max_pages:
                raise GitHubError(f"GET {_shown(self.url(path), self.settings.api_url)} has more than"
                                  f" {self.settings.max_pages} pages; gate does not verify on a partial list"
                                  " (raise evidence option 'max_pages')")
            response = self.request("GET", url, params=query)
            page = _json_of(response, path)
            if not isinstance(page, list):
                raise GitHubError(f"GET {_shown(url, self.settings.api_url)}: expected a JSON list, got"
                                  f" {type(page).__name__}")
            items.extend(page)
            pages += 1
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries the query
            if url and _host_of(url) != _host_of(self.settings.api_url):
                raise GitHubError(f"GitHub's next-page link leads to another host ({urlsplit(url).netloc});"
                                  " gate sends the token only to the configured API")
        return items

    def _note_rate(self, response: Any) -> None:
        headers = response.headers
        for name, attr in (("X-RateLimit-Limit", "limit"), ("X-RateLimit-Remaining", "remaining"),
                           ("X-RateLimit-Reset", "reset")):
            value = headers.get(name)
            if value is not None and value.strip().isdigit():
                setattr(self.rate, attr, int(value))

    def _rate_limit_wait(self, response: Any) -> float | None:
        """Seconds to wait when the response is a rate limit (primary or secondary), else None."""
        if response.status_code not in (403, 429):
            return None
        headers = response.headers
        retry_after = headers.get("Retry-After")
        if retry_after is not None and retry_after.strip().isdigit():
            return float(retry_after)
        remaining = headers.get("X-RateLimit-Remaining")
        reset = headers.get("X-RateLimit-Reset")
        if remaining is not None and remaining.strip() == "0":
            if reset is not None and reset.strip().isdigit():
                return max(0.0, int(reset) - self.clock()) + 1.0
            return SECONDARY_LIMIT_WAIT_S
        if "rate limit" in _message(response).lower():
            return SECONDARY_LIMIT_WAIT_S
        return None

    def _wait_out(self, wait: float, what: str, response: Any) -> None:
        # At least a second between rate-limited attempts: a server answering "Retry-After: 0" every time
        # would otherwise be asked again and again, without end and without using up max_wait_s.
        wait = max(wait, MIN_RATE_LIMIT_WAIT_S)
        budget = self.settings.max_wait_s - self.waited_s
        if wait > budget:
            reset = self.rate.reset
            when = (f"; it resets at {datetime.fromtimestamp(reset, UTC).isoformat()}"
                    if reset and response.headers.get("X-RateLimit-Remaining", "").strip() == "0" else "")
            raise RateLimited(f"GitHub rate limit reached on {what} "
                              f"({response.status_code}{_limit_text(self.rate)})"
                              f"{when}; waiting {wait:.0f} s would exceed the {self.settings.max_wait_s:g} s "
                              "gate"
                              " waits (evidence option 'max_wait_s'); nothing was verified",
                              response.status_code)
        self.waited_s += wait
        self.sleep(wait)


def _limit_text(rate: RateStatus) -> str:
    if rate.limit is None:
        return ""
    return f", {rate.remaining if rate.remaining is not None else '?'} of {rate.limit} requests left"


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _shown(url: str, api_url: str) -> str:
    """A request as a person reads it: the API path without the base URL and query."""
    path = urlsplit(url).path
    base = urlsplit(api_url).path.rstrip("/")
    return path[len(base):] if base and path.startswith(base) else path


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Connection reset",
                   "Remote end closed", "certificate verify failed"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


def _message(response: Any) -> str:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return response.reason or ""
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return body["message"][:200]
    return response.reason or ""


def _json_of(response: Any, path: str) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):
        raise GitHubError(f"GitHub answered {path} with a body that is not JSON") from None


def _error_for(response: Any, what: str) -> GitHubError:
    status = response.status_code
    message = _message(response)
    if status == 401:
        return Unauthorized(f"GitHub refused the token on {what} (401 {message}); check GITHUB_TOKEN", status)
    if status == 403:
        return Forbidden(f"GitHub forbids {what} (403 {message}); the token lacks the permission"
                         " (pull requests: read; members: read for team membership)", status)
    if status == 404:
        return NotFound(f"GitHub has no {what} (404 {message}): it does not exist, or the token "
                        "cannot see it",
                        status)
    return GitHubError(f"GitHub answered {status} {message} to {what}", status)
