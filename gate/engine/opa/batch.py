"""Many decisions in one OPA query, on a few connections at once (gate impact, replay: issue 23).

A warm server spends about 9 ms evaluating one of gate's decisions and 1-5 ms more on the request around
it (HTTP, parsing the input, serialising the answer, gate's own JSON work). A command that replays
thousands of recorded decisions sends them in batches: one ad-hoc query per batch,

    x := [[i, a] | some i, d in input.batch; a := <what a decision reads> with input as d]

where <what a decision reads> is the deny and warn sets and the canary (gate.engine.findings), or the
whole data.gate where that query cannot be built. Each answer carries its index, so an input the
policies leave undefined is missing from the answer, never another input's answer shifted into its
place; each carries its own canary, bound to its own nonce. Batches go out on LANES connections at once
(OPA evaluates each on its own core).

It fails closed: a batch the server does not answer (killed, timed out, a runtime error on one input) is
asked again input by input on the engine's ordinary path, which restarts a server that died and
reports the input that fails. benchmarks/replay.py measures batch sizes and lanes against the loop.
"""

from __future__ import annotations

import json
import queue
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from gate import jsonsafe
from gate.engine import canary
from gate.errors import EngineError

BATCH_SIZE = 25   # inputs per query: ~0.25 s of OPA's time, far within the engine timeout
LANES = 2         # batches in flight at once: the cores OPA can use beside gate


def query(reads: str) -> str:
    """The ad-hoc query that evaluates `reads` once per input of input.batch, answers indexed."""
    return f"x := [[i, a] | some i, d in input.batch; a := {reads} with input as d]"


def input_text(doc: Any, nonce: str) -> str:
    """One input as the engine gets it (gate.jsonsafe.for_engines), with its canary nonce, as JSON text;
    a jsonsafe.Composed input is already engine text, its parts written once for many inputs."""
    try:
        if isinstance(doc, jsonsafe.Composed):
            return doc.text({canary.NONCE_FIELD: json.dumps(nonce)})
        engine_doc = jsonsafe.for_engines(doc)
        if not isinstance(engine_doc, dict):
            raise EngineError("cannot hand the input to the engine: expected an object, got "
                              f"{type(engine_doc).__name__}")
        return jsonsafe.dumps({**engine_doc, canary.NONCE_FIELD: nonce})
    except (ValueError, TypeError) as exc:
        raise EngineError(f"cannot hand the input to the engine: {exc}") from None


def body(query_text: str, texts: Iterable[str]) -> bytes:
    """The request: the inputs are pasted in as the text they are (never parsed and dumped again)."""
    return ('{"query":' + json.dumps(query_text) + ',"input":{"batch":[' + ",".join(texts)
            + "]}}").encode()


def answers(bindings: Any, count: int, where: str) -> list[Any]:
    """Each input's answer, by index; None for an input the query left undefined (its own error later)."""
    if not isinstance(bindings, list) or len(bindings) != 1 or not isinstance(bindings[0], dict):
        raise EngineError(f"{where} answered a batch query with {type(bindings).__name__}, expected one "
                          "binding of x")
    rows = bindings[0].get("x")
    if not isinstance(rows, list):
        raise EngineError(f"{where} answered a batch query without its list of answers")
    out: list[Any] = [None] * count
    for row in rows:
        if (isinstance(row, list) and len(row) == 2 and isinstance(row[0], int)
                and not isinstance(row[0], bool) and 0 <= row[0] < count and out[row[0]] is None):
            out[row[0]] = row[1]
        else:
            raise EngineError(f"{where} answered a batch query with a row gate did not ask for")
    return out


def run(chunks: Sequence[Sequence[int]], ask: Callable[[int, Sequence[int]], list[Any]],
        lanes: int) -> list[list[Any] | EngineError]:
    """ask(lane, chunk) for every chunk, at most `lanes` at a time, each lane (a connection) used by one
    thread at a time; a chunk's EngineError is its result."""
    free: queue.SimpleQueue[int] = queue.SimpleQueue()
    for lane in range(max(1, lanes)):
        free.put(lane)

    def one(chunk: Sequence[int]) -> list[Any] | EngineError:
        lane = free.get()
        try:
            return ask(lane, chunk)
        except EngineError as exc:
            return exc
        finally:
            free.put(lane)

    if lanes <= 1 or len(chunks) <= 1:
        return [one(chunk) for chunk in chunks]
    from concurrent.futures import ThreadPoolExecutor  # not on gate evaluate's start-up path

    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="gate-opa-batch") as pool:
        return list(pool.map(one, chunks))
