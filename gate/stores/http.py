"""``store: http``: records POSTed in OPA's decision-log format, so existing log pipelines take them.

```yaml
decision_log:
  store: http
  url: https://logs.example.com/logs        # POST: gzip-compressed JSON array of events (OPA's format)
  token_env: GATE_LOG_TOKEN                  # optional: bearer token, read from this variable
  read_url: https://logs.example.com/gate    # optional: GET returns the records (JSON array or lines)
```

Each record is an event in its own right (decision_id, path, input, result, timestamp, labels, plus
gate's chain fields); the POST goes through gate.oparemote, the client the OPA engine uses.

The chain needs the last record. With ``read_url`` it is read back from the endpoint before every
append, and ``gate log verify|show``, ``gate impact`` and the load-test baseline read from there; a
receiver that answers 409 Conflict to a record whose prev_hash is not its last hash makes concurrent
writers safe: gate reads the new last record, seals again and retries. Without ``read_url`` the chain
continues from a head kept beside gate.yaml (.gate/http-<host>.head), the log cannot be read back,
and a fresh runner starts a new chain at record 1.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gate.chain import Head, Verification, canonical, seal, verify_lines
from gate.errors import AuditError, ConfigError, GateError
from gate.fsutil import exclusive, write_atomically
from gate.secrets import display_url

MAX_ATTEMPTS = 20


class HttpStore:
    name = "http"

    def __init__(self, url: str, head_path: Path, token: str | None = None, read_url: str | None = None,
                 timeout_s: float = 10.0, ca_cert: str | None = None) -> None:
        self.url = url
        self.read_url = read_url
        self.token = token
        self.timeout_s = timeout_s
        self.ca_cert = ca_cert
        self.head_path = head_path
        self.where = f"the decision-log endpoint {display_url(url)}"
        self.shown_read_url = display_url(read_url) if read_url else None

    @classmethod
    def from_config(cls, config: Any, options: Mapping[str, Any]) -> HttpStore:
        url = options.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{config.path}: field 'decision_log.url': the http store needs an http(s) URL "
                              "to"
                              f" POST records to, got {display_url(url) if isinstance(url, str) else url!r}")
        token = None
        if options.get("token_env"):
            token = os.environ.get(str(options["token_env"]))
            if not token:
                raise AuditError(f"decision_log.token_env names {options['token_env']}, which is not set")
        from urllib.parse import urlsplit

        host = urlsplit(url).hostname or "endpoint"
        tag = hashlib.sha256(url.encode()).hexdigest()[:8]
        head = config.root / ".gate" / f"http-{host}-{tag}.head"
        return cls(url, head, token, options.get("read_url"), float(options.get("timeout_s") or 10.0),
                   options.get("ca_cert"))

    # --- reading -----------------------------------------------------------------------------------

    def fetch(self) -> list[dict[str, Any]]:
        """The records at read_url, oldest first."""
        import requests

        from gate.httpbody import body_deadline
        from gate.secrets import mask

        if not self.read_url:
            raise ConfigError("decision_log.read_url is not set: the http store cannot read records back")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = requests.get(self.read_url, headers=headers, timeout=self.timeout_s,
                                    verify=self.ca_cert or True,
                                    hooks={"response": [body_deadline(self.timeout_s)]})
        except requests.exceptions.RequestException as exc:
            raise AuditError(mask(f"cannot read the decision log from {self.shown_read_url}: "
                                  f"{type(exc).__name__}")) from None
        if response.status_code != 200:
            raise AuditError(f"cannot read the decision log from {self.shown_read_url}: HTTP "
                             f"{response.status_code}")
        text = response.text.strip()
        try:
            if text.startswith("["):
                records = json.loads(text)
            else:
                records = [json.loads(line) for line in text.splitlines() if line.strip()]
        except ValueError as exc:
            raise AuditError(f"{self.shown_read_url}: not JSON records: {exc}") from None
        if not all(isinstance(r, dict) for r in records):
            raise AuditError(f"{self.shown_read_url}: expected a JSON array of records (or one per line)")
        return records

    def verify(self, keep: bool = True) -> Verification:
        records = self.fetch()
        lines = [canonical(r) for r in records]  # the receiver may re-encode; the hashes still hold
        head = self.read_head()
        result = verify_lines(lines, b"", head, keep)
        if not records:
            result.warnings.append(f"no decisions recorded yet at {self.shown_read_url}")
        return result

    def read_head(self) -> Head | None:
        try:
            doc = json.loads(self.head_path.read_text())
            return Head(int(doc["seq"]), str(doc["hash"]))
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def _current_head(self) -> Head:
        """The head to chain after. With read_url, every record read back is verified first (they are all
        in hand anyway): an edit, deletion or reordering at the receiver refuses the append."""
        if self.read_url:
            check = verify_lines([canonical(r) for r in self.fetch()], b"", self.read_head(), keep=False)
            if check.problems:
                raise AuditError(f"{self.where}: {check.problems[0]}; no record is appended to a log that "
                                 "does"
                                 " not verify: run `gate log verify`")
            return check.head
        return self.read_head() or Head.empty()

    # --- writing -----------------------------------------------------------------------------------

    def append(self, record: Mapping[str, Any], blobs: Mapping[str, bytes] | None = None) -> dict[str, Any]:
        from gate.oparemote import post_decision_logs

        self.head_path.parent.mkdir(parents=True, exist_ok=True)
        with exclusive(self.head_path.with_suffix(".lock"), what=self.where):
            for attempt in range(1, MAX_ATTEMPTS + 1):
                head = self._current_head()
                _, sealed = seal(record, head)
                try:
                    post_decision_logs(self.url, [sealed], token=self.token, ca_cert=self.ca_cert,
                                       timeout_s=self.timeout_s)
                except GateError as exc:
                    if "HTTP 409" in str(exc) and self.read_url:  # another writer's record came first
                        time.sleep(random.uniform(0, 0.02) * min(attempt, 5))
                        continue
                    raise AuditError(str(exc)) from None
                write_atomically(self.head_path,
                                 json.dumps(Head(sealed["seq"], sealed["hash"]).to_dict()).encode())
                return sealed
        raise AuditError(f"{self.where}: {MAX_ATTEMPTS} records in a row were refused as out of order (409)")
