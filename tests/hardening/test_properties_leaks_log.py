"""Property tests for issue 27 items 7 and 8 (tally groups "leaks" and "log").

log:   a decision log with a random edit before its head (a byte changed, a line deleted, two lines
       swapped, a line duplicated) refuses the next append with one line naming the log and a line:
       never appended, never a traceback.
leaks: a random URL with credentials (userinfo, secret-looking query parameters) as the decision-log
       store's URL never appears in stdout, stderr, the report or the decision record, whatever the
       store makes of it (a receiver that takes the record, a port where nothing listens).
"""

from __future__ import annotations

import socket
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.auditlog import AuditError
from gate.cli import main
from gate.stores.file import FileStore
from gate.testing import Workspace

from ..conftest import EXAMPLE_NOW
from ..core.helpers import release
from ..stores.test_http import Receiver
from .strategies import FUZZ, tally

EDITS = ("flip", "delete", "swap", "duplicate")


def build_log(folder, count: int) -> FileStore:
    store = FileStore(folder / "d.jsonl")
    for i in range(count):
        store.append({"decision_id": f"d{i}", "result": {"outcome": "approve" if i % 2 else "block"},
                      "input": {"i": i, "note": "x" * (i * 7 % 40)}})
    return store


def edit(raw: bytes, how: str, data) -> bytes:
    lines = raw.splitlines(keepends=True)
    if how == "flip":
        # never the final newline: that is a torn line, not an edit
        i = data.draw(st.integers(0, len(raw) - 2))
        new = data.draw(st.integers(0, 255).filter(lambda b: b != raw[i]))
        return raw[:i] + bytes([new]) + raw[i + 1:]
    i = data.draw(st.integers(0, len(lines) - 2))  # before the head: the last record stays where it was
    if how == "delete":
        return b"".join(lines[:i] + lines[i + 1:])
    if how == "swap":
        j = data.draw(st.integers(i + 1, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
        return b"".join(lines)
    return b"".join(lines[:i + 1] + [lines[i]] + lines[i + 1:])


@FUZZ
@given(data=st.data())
def test_an_append_after_any_edit_before_the_head_is_refused_and_nothing_is_appended(tmp_path_factory, data):
    store = build_log(tmp_path_factory.mktemp("log"), data.draw(st.integers(2, 8)))
    how = data.draw(st.sampled_from(EDITS))
    edited = edit(store.read_bytes(), how, data)
    store.path.write_bytes(edited)
    try:
        store.append({"decision_id": "after-the-edit"})
    except AuditError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith(f"{store.where}: ")
        assert "line " in message or "record " in message, message
        assert store.read_bytes() == edited, "the refused append changed the log"
        tally("log", f"file store: append after a mid-log {how}", "refused")
        return
    tally("log", f"file store: append after a mid-log {how}", "accepted", edit=how)
    raise AssertionError(f"an append after a {how} was accepted")


SECRET_ALPHABET = string.ascii_letters + string.digits + "-_."
# never a common word
secret_values = st.text(SECRET_ALPHABET, min_size=12, max_size=30).map(lambda s: "Zq" + s)
query_names = st.sampled_from(["token", "access_token", "api_key", "key", "sig", "signature", "password",
                               "secret", "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token",
                               "client_secret", "auth", "sessionid"])


@st.composite
def credentialed_urls(draw, host: str) -> tuple[str, list[str]]:
    """A URL to ``host`` with credentials in the userinfo, the query or both, and the secret values."""
    secrets: list[str] = []
    userinfo = ""
    if draw(st.booleans()):
        user, password = draw(secret_values), draw(secret_values)
        userinfo = f"{user}:{password}@" if draw(st.booleans()) else f"{password}@"
        secrets.append(password)
    params = []
    for name in draw(st.lists(query_names, min_size=0 if userinfo else 1, max_size=3, unique=True)):
        value = draw(secret_values)
        params.append(f"{name}={value}")
        secrets.append(value)
    if draw(st.booleans()):
        params.insert(draw(st.integers(0, len(params))), "tenant=claims")
    path = draw(st.sampled_from(["/logs", "/v1/logs", "/"]))
    return f"http://{userinfo}{host}{path}" + ("?" + "&".join(params) if params else ""), secrets


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def receiver():
    """One receiver for every example: shutting one down waits out its poll interval (0.5 s)."""
    r = Receiver()
    yield r
    r.close()


@FUZZ
@given(data=st.data())
def test_credentials_in_the_decision_log_url_are_in_no_output(tmp_path_factory, data, capsys, receiver):
    reachable = data.draw(st.sampled_from([True, True, True, False]))  # unreachable waits out 2 retries
    receiver.events.clear()
    host = receiver.url.removeprefix("http://") if reachable else f"127.0.0.1:{closed_port()}"
    url, secrets = data.draw(credentialed_urls(host))
    fmt = data.draw(st.sampled_from(["text", "json", "markdown", "junit", "sarif"]))
    ws = Workspace(tmp_path_factory.mktemp("leak"))
    config = release(ws, extra={"decision_log": {"store": "http", "url": url}})
    report = ws.root / f"report.{fmt}"
    capsys.readouterr()
    code = main(["evaluate", "-c", str(config), "-f", fmt, "-o", str(report), "--now", EXAMPLE_NOW])
    out, err = capsys.readouterr()
    outputs = [out, err, report.read_text() if report.exists() else "", str(receiver.events)]
    found = [s for s in secrets for text in outputs if s in text]
    outcome = {0: "accepted", 1: "blocked", 3: "exit-3"}.get(code, "crash")
    subject = f"decision-log url ({'receiver' if reachable else 'nothing listening'})"
    tally("leaks", subject, "crash" if found else outcome, leaked=len(found), format=fmt)
    assert not found, f"{url} leaked {found}"
    assert code == (0 if reachable else 3), (code, err)
    assert len(receiver.events) == (1 if reachable else 0)
