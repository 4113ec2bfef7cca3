"""One OPA server, several gate runs: every run pushes its policies and threshold, then queries. Another run
can push between the two. gate marks what it pushes and checks, in the answer itself (one evaluation, one
snapshot of the server), that the policies and data evaluated were its own; else it pushes again, and
after three rounds it says so (exit 3). Before this, the run silently used the other run's threshold.

All against a real `opa run --server` (OPA v1.18.1)."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest

from gate.engine.opa import OpaEngine, OpaServer, free_port
from gate.errors import EngineError
from tests.engine.conftest import in_memory

RULE = "package gate.main\n\ndeny contains \"over the limit\" if input.value > data.threshold.limit\n"
STRICT = {"threshold": {"limit": 10}}
LOOSE = {"threshold": {"limit": 100}}
INPUT = {"value": 50}   # denied under STRICT, approved under LOOSE


@pytest.fixture
def opa_url(opa_bin) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen([opa_bin, "run", "--server", "--addr", f"127.0.0.1:{port}",
                                "--skip-version-check",
                                "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError("opa run --server did not start") from None
            time.sleep(0.05)
    yield url
    process.terminate()
    process.wait(timeout=5)


def engine(url: str) -> OpaEngine:
    return OpaEngine(OpaServer(url, timeout_s=5, retries=0))


def test_the_answer_is_the_policies_own_without_what_gate_added(opa_url):
    result = engine(opa_url).evaluate(INPUT, in_memory({"main.rego": RULE}), STRICT)
    assert result == {"main": {"deny": ["over the limit"]}}


def test_a_threshold_pushed_by_another_run_in_between_is_noticed_and_pushed_again(opa_url):
    policies = in_memory({"main.rego": RULE})
    strict, loose = engine(opa_url), engine(opa_url)
    strict.prepare(policies, STRICT)         # run A pushes while it collects evidence
    loose.evaluate(INPUT, policies, LOOSE)   # run B pushes its looser threshold and decides
    # run A has pushed already and would only query: the server now holds B's limit of 100
    assert strict.evaluate(INPUT, policies, STRICT) == {"main": {"deny": ["over the limit"]}}


def test_policies_replaced_by_another_run_in_between_are_noticed_and_pushed_again(opa_url):
    mine = in_memory({"main.rego": RULE})
    theirs = in_memory({"main.rego": "package gate.main\n\ndeny contains \"never\" if false\n"})
    a, b = engine(opa_url), engine(opa_url)
    a.prepare(mine, STRICT)
    b.evaluate(INPUT, theirs, STRICT)        # same policy id gate/main.rego, other content
    assert a.evaluate(INPUT, mine, STRICT) == {"main": {"deny": ["over the limit"]}}


def test_a_run_that_keeps_being_overwritten_gives_up_with_exit_3(opa_url):
    policies = in_memory({"main.rego": RULE})
    a, b = engine(opa_url), engine(opa_url)
    query = a.server.query

    def b_pushes_first(*args, **kwargs):
        b._pushed = None
        b.push(policies, LOOSE)              # the other run wins the race every time
        return query(*args, **kwargs)

    a.server.query = b_pushes_first
    with pytest.raises(EngineError) as refused:
        a.evaluate(INPUT, policies, STRICT)
    message = str(refused.value)
    assert refused.value.exit_code == 3
    assert "the threshold data was changed between gate's push and its query, 3 times running" in message
    assert "--engine opa-local" in message and "--opa-preloaded" in message and "\n" not in message


def test_threshold_values_survive_the_check_exactly(opa_url):
    """The data check compares the server's data with a Rego literal of the same JSON text: numbers that
    JSON writes in exponent form, big integers, unicode and nested lists must compare equal on OPA."""
    data = {"threshold": {"limit": 10, "tiny": 1e-7, "huge": 1.5e300, "big": 2**64 + 1,
                          "name": "Ärzte \"Team\" ✓", "list": [[], {}, None, True, -0.0], "empty": {}}}
    result = engine(opa_url).evaluate(INPUT, in_memory({"main.rego": RULE}), data)
    assert result == {"main": {"deny": ["over the limit"]}}


def test_data_written_by_a_client_that_marks_nothing_is_noticed(opa_url):
    """An older gate, or a script, that PUTs data.threshold without pushing a check module."""
    policies = in_memory({"main.rego": RULE})
    a = engine(opa_url)
    a.prepare(policies, STRICT)
    engine(opa_url).server.put_data("threshold", LOOSE["threshold"])
    assert a.evaluate(INPUT, policies, STRICT) == {"main": {"deny": ["over the limit"]}}


def test_a_data_value_too_large_to_compare_is_only_required_present(opa_url):
    """gate lint's batches of variants (megabytes) are not compiled into the check module; the threshold
    is."""
    big = {"variants": ["x" * 1000] * 300}
    a = engine(opa_url)
    policies = in_memory({"main.rego": RULE})
    a.prepare(policies, {**STRICT, "gate_lint": big})
    pushed = a.server.list_policies()["gate/.pushed-data-check"]
    assert "present, not compared" in pushed and len(pushed) < 2000
    # still caught: the threshold is compared
    engine(opa_url).server.put_data("threshold", LOOSE["threshold"])
    assert a.evaluate(INPUT, policies, {**STRICT, "gate_lint": big}) == {"main": {"deny": ["over the limit"]}}
