"""gate as a GitHub App: the App's JWT, installation tokens (cached, never logged), and a small REST client.

- The JWT is RS256 (PyJWT), issued 60 s in the past (clock drift) and valid for 9 minutes (GitHub allows 10).
- An installation token is cached per installation until TOKEN_MARGIN_S before its `expires_at`; a 401
  with a cached token drops it and mints one new token, once (a token revoked or expired mid-flight).
- Retryable failures (5xx, 429, timeouts, dropped connections) are retried with backoff within a bounded
  budget: at most `retries` more attempts and `budget_s` seconds per request. The review POST is retried too:
  it resends the same state for the same run and environment, so a retry after a lost answer cannot turn
  an approval into a rejection or the reverse.
- Tokens go only to the configured API URL: the artifact's download redirect is followed without them.
- Errors are GitHubAppError with one line naming the operation and GitHub's status; never a token.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import requests

TOKEN_MARGIN_S = 300.0          # a cached token is replaced this long before GitHub expires it
JWT_BACKDATE_S = 60             # GitHub: set iat 60 s in the past against clock drift
JWT_LIFETIME_S = 540            # GitHub allows at most 10 minutes
RETRY_STATUSES = frozenset({500, 502, 503, 504, 429})
USER_AGENT = "gate-serve"
API_VERSION = "2022-11-28"


class GitHubAppError(Exception):
    """GitHub could not be asked or refused; the message is one line, without credentials."""

    def __init__(self, message: str, status: int | None = None, retryable: bool = False) -> None:
        from gate.secrets import mask

        super().__init__(mask(" ".join(message.split())))
        self.status = status
        self.retryable = retryable


class TooLarge(GitHubAppError):
    """A download went over its cap."""


@dataclass
class CachedToken:
    value: str
    expires: float   # time.time() seconds


def app_jwt(app_id: int, private_key: bytes, now: float | None = None) -> str:
    import jwt

    issued = int(now if now is not None else time.time()) - JWT_BACKDATE_S
    return jwt.encode({"iat": issued, "exp": issued + JWT_BACKDATE_S + JWT_LIFETIME_S, "iss": str(app_id)},
                      private_key, algorithm="RS256")


class GitHubApp:
    """One App, many installations; thread-safe (every decision worker shares it)."""

    def __init__(self, app_id: int, private_key: bytes, api_url: str, *, timeout_s: float = 10.0,
                 retries: int = 3, budget_s: float = 30.0,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.app_id, self._key = app_id, private_key
        self.api_url = api_url.rstrip("/")
        self.timeout_s, self.retries, self.budget_s = timeout_s, retries, budget_s
        self._tokens: dict[int, CachedToken] = {}
        self._lock = threading.Lock()
        self._mint_locks: dict[int, threading.Lock] = {}
        self._local = threading.local()
        self._on_error = on_error or (lambda operation: None)
        self.key_loaded = bool(private_key)

    # --- sessions and tokens -----------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            # no proxy or netrc credentials from the environment for the App's calls
            session.trust_env = False
            session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/vnd.github+json",
                                    "X-GitHub-Api-Version": API_VERSION})
            self._local.session = session
        return session

    def installation_token(self, installation_id: int, renew: bool = False) -> str:
        """A token for the installation: cached until TOKEN_MARGIN_S before it expires."""
        with self._lock:
            mint_lock = self._mint_locks.setdefault(installation_id, threading.Lock())
        with mint_lock:  # one mint per installation at a time: 25 deliveries at once make one token
            with self._lock:
                cached = self._tokens.get(installation_id)
            if cached and not renew and cached.expires - TOKEN_MARGIN_S > time.time():
                return cached.value
            body = self._call("POST", f"/app/installations/{installation_id}/access_tokens",
                              "apps.create-installation-access-token", auth=f"Bearer {self._jwt()}",
                              expect=(201,))
            token, expires = body.get("token") if isinstance(body, dict) else None, None
            if isinstance(body, dict) and isinstance(body.get("expires_at"), str):
                try:
                    expires = datetime.fromisoformat(body["expires_at"]).timestamp()
                except ValueError:
                    expires = None
            if not isinstance(token, str) or not token or expires is None:
                raise GitHubAppError("apps.create-installation-access-token: GitHub's answer has no token or"
                                     " expires_at")
            from gate.secrets import register

            register(token)
            with self._lock:
                self._tokens[installation_id] = CachedToken(token, expires)
            return token

    def cached(self, installation_id: int) -> CachedToken | None:
        with self._lock:
            return self._tokens.get(installation_id)

    def seed(self, installation_id: int, token: CachedToken) -> None:
        """Use a token minted elsewhere (the server process hands its token to a worker process)."""
        from gate.secrets import register

        register(token.value)
        with self._lock:
            self._tokens[installation_id] = token

    def adopt(self, installation_id: int, token: CachedToken) -> None:
        """Take a token a worker minted after a 401, unless a fresher one is already held."""
        from gate.secrets import register

        register(token.value)
        with self._lock:
            held = self._tokens.get(installation_id)
            if held is None or held.expires <= token.expires:
                self._tokens[installation_id] = token

    def forget_token(self, installation_id: int, token: str) -> None:
        with self._lock:
            cached = self._tokens.get(installation_id)
            if cached and cached.value == token:
                del self._tokens[installation_id]

    def _jwt(self) -> str:
        return app_jwt(self.app_id, self._key)

    # --- requests as an installation -----------------------------------------------------------------

    def request(self, installation_id: int, method: str, path: str, operation: str, *,
                params: Mapping[str, Any] | None = None, json: Any = None, expect: tuple[int, ...] = (200,),
                raw: bool = False, accept: str | None = None) -> Any:
        """Call the API as the installation; a 401 mints one new token and tries once more."""
        token = self.installation_token(installation_id)
        try:
            return self._call(method, path, operation, auth=f"token {token}", params=params, json=json,
                              expect=expect, raw=raw, accept=accept)
        except GitHubAppError as exc:
            if exc.status != 401:
                raise
        self.forget_token(installation_id, token)
        token = self.installation_token(installation_id, renew=True)
        return self._call(method, path, operation, auth=f"token {token}", params=params, json=json,
                          expect=expect, raw=raw, accept=accept)

    def _call(self, method: str, path: str, operation: str, *, auth: str,
              params: Mapping[str, Any] | None = None,
              json: Any = None, expect: tuple[int, ...] = (200,), raw: bool = False,
              accept: str | None = None) -> Any:
        url = self.api_url + path
        headers = {"Authorization": auth, **({"Accept": accept} if accept else {})}
        deadline = time.monotonic() + self.budget_s
        attempt = 0
        while True:
            try:
                response = self._session().request(method, url, params=params, json=json,
                                                   allow_redirects=False,
                                                    timeout=self.timeout_s, headers=headers)
            except requests.exceptions.Timeout:
                failure = GitHubAppError(f"{operation}: {_host(url)} did not answer within "
                                         f"{self.timeout_s:g} s",
                                         retryable=True)
            except requests.exceptions.ConnectionError as exc:
                failure = GitHubAppError(f"{operation}: cannot reach {_host(url)} ({_cause(exc)})",
                                         retryable=True)
            except requests.exceptions.RequestException as exc:
                raise GitHubAppError(f"{operation}: {_cause(exc)}") from None
            else:
                if response.status_code in expect:
                    if raw:
                        return response
                    if response.status_code == 204 or not response.content:
                        return None
                    try:
                        return response.json()
                    except ValueError:
                        raise GitHubAppError(f"{operation}: GitHub's answer is not JSON") from None
                failure = GitHubAppError(f"{operation}: GitHub answered {response.status_code}"
                                         f" {_message(response)}", status=response.status_code,
                                         retryable=response.status_code in RETRY_STATUSES)
            self._on_error(operation)
            if not failure.retryable or attempt >= self.retries:
                raise failure
            pause = min(0.2 * 2 ** attempt, 4.0) * random.uniform(0.5, 1.0)
            if time.monotonic() + pause > deadline:
                raise failure
            time.sleep(pause)
            attempt += 1

    # --- downloads ---------------------------------------------------------------------------------

    def download(self, installation_id: int, path: str, operation: str, cap: int) -> bytes:
        """A 302-redirected download (artifacts): the API answers with a Location, fetched without the token,
        read in chunks and abandoned at cap + 1 bytes."""
        response = self.request(installation_id, "GET", path, operation, expect=(302,), raw=True)
        location = response.headers.get("Location")
        if not location or urlsplit(location).scheme not in ("https", "http"):
            raise GitHubAppError(f"{operation}: GitHub's redirect has no usable Location")
        deadline = time.monotonic() + self.budget_s
        attempt = 0
        while True:
            try:
                return self._fetch_capped(location, operation, cap)
            except GitHubAppError as exc:
                if not exc.retryable or attempt >= self.retries or time.monotonic() > deadline:
                    raise
                self._on_error(operation)
                time.sleep(min(0.2 * 2 ** attempt, 4.0) * random.uniform(0.5, 1.0))
                attempt += 1

    def _fetch_capped(self, location: str, operation: str, cap: int) -> bytes:
        blob = requests.Session()
        blob.trust_env = False
        try:
            with blob.get(location, stream=True, timeout=self.timeout_s, allow_redirects=False,
                          headers={"User-Agent": USER_AGENT}) as response:
                if response.status_code != 200:
                    raise GitHubAppError(f"{operation}: the download answered {response.status_code}",
                                         status=response.status_code,
                                         retryable=response.status_code in RETRY_STATUSES)
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > cap:
                    raise TooLarge(f"{operation}: the artifact is {int(declared):,} bytes, over the cap of "
                                   f"{cap:,}")
                chunks, size = [], 0
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > cap:
                        raise TooLarge(f"{operation}: the artifact is over the cap of {cap:,} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except requests.exceptions.Timeout:
            raise GitHubAppError(f"{operation}: the download did not answer within {self.timeout_s:g} s",
                                 retryable=True) from None
        except requests.exceptions.RequestException as exc:
            raise GitHubAppError(f"{operation}: the download failed ({_cause(exc)})",
                                 retryable=True) from None
        finally:
            blob.close()


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _cause(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc) or type(exc).__name__
    return text.split("(Caused by")[0].strip()[:200]


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    message = body.get("message") if isinstance(body, dict) else None
    return f"({str(message)[:200]})" if message else ""
