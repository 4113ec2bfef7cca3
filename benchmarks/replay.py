"""Replaying recorded decisions: gate's replay path against a bare regopy loop, in one run.

Builds --count (default 10 000) distinct decisions of the bundled example release (claims-triage,
15 evidence items; each decision's stress-run p95, error rate and version differ), appends them to a
decision log through the file store (the real path: lock, seal, fsync, head), then times, in this
one process:

- bare:  one regopy Interpreter with the policy modules and data.threshold loaded once;
         for each input, prepared as JSON text beforehand: set_input_term(text), then (--bare)
         "query": query("data.gate"), which compiles the modules again at every query, or
         "bundle": the deny and warn sets gate asks for, built once into a regopy bundle and asked
         with query_bundle (the fastest loop regopy allows, and gate's own way since it has bundles);
         "both" runs both loops on every chunk and records from the bundle's answers.
- gate:  what `gate impact` does for one side: read the log through the store and verify the whole
         chain, then for each record: the input to JSON text (timestamps normalised), the guard's
         data check, the same compiled interpreter's query, findings, advisory rules, waivers,
         outcome (gate.evaluate.judge).

The two loops run on alternating chunks of --chunk decisions (bare, record, gate), so contention on a
shared machine hits both alike; gate's reading and verifying of the whole log is timed at the end and
added to gate. Prints wall and CPU seconds, ms per decision, and gate / bare; the target is <= 1.5x.
gate replays on one engine for the whole run (--engine, default embedded: a forked worker that compiled
the policies once, each answer bounded by the engine timeout); gate's CPU is its own process's, the
worker's is in the wall time. On opa-local gate replays a chunk of records at once (gate.replay.compare
does, REPLAY_CHUNK), which the engine asks in batches (--batch-size inputs per query, --lanes queries in
flight at once: gate.engine.opa.batch); --batch-size 1 --lanes 1 is the one-query-per-decision loop.
Also checks that every replayed outcome equals the outcome recorded.

    python benchmarks/replay.py [--count 10000] [--chunk 200] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "claims-triage" / "ready" / "gate.yaml"
NOW = "2026-11-26T12:00:00Z"


def example_input():
    from gate import runner
    from gate.config import load_config

    config = load_config(EXAMPLE)

    class Args:
        now, version, commit = NOW, None, None

    context = runner.make_context(config, Args())
    prepared = runner.prepare(config)
    evidence, skipped = runner.gather(config, context)
    from gate.evaluate import build_input

    return config, prepared, build_input(context, config.service, evidence, skipped)


def variant(base: dict, i: int) -> dict:
    """Decision i: the same release, another commit, another stress run (p95 400-899 ms, errors 0-1.49%)."""
    doc = json.loads(json.dumps(base))
    doc["context"]["commit"] = f"{i:040x}"
    for item in doc["evidence"]["load_test"]:
        if item["data"]["scenario"] == "stress":
            item["data"]["latency_ms"]["p95"] = 400 + (i * 7919) % 500 + (i % 100) / 100
            item["data"]["error_rate"] = round(((i * 104729) % 150) / 10000, 4)
    return doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=200)  # gate.replay.REPLAY_CHUNK
    parser.add_argument("--keep", type=Path, help="keep the decision log in this folder")
    parser.add_argument("--engine", default="embedded",
                        help="the engine gate replays on (embedded, opa-local)")
    parser.add_argument("--batch-size", type=int, help="opa-local: inputs per query (default: gate's)")
    parser.add_argument("--lanes", type=int, help="opa-local: batches in flight at once (default: gate's)")
    parser.add_argument("--bare", choices=("both", "bundle", "query"), default="both",
                        help="embedded: the bare regopy loop(s) to time (see above)")
    args = parser.parse_args()

    import regopy

    from gate import auditlog, jsonsafe
    from gate.engine.opa import batch
    from gate.engine.session import open_engine
    from gate.evaluate import judge
    from gate.replay import Side, context_of
    from gate.stores.file import FileStore

    batch.BATCH_SIZE = args.batch_size or batch.BATCH_SIZE
    batch.LANES = args.lanes or batch.LANES
    config, prepared, base = example_input()
    work = Path(tempfile.mkdtemp(prefix="gate-replay-"))
    store = FileStore(work / "decisions.jsonl")
    inputs = [variant(base, i) for i in range(args.count)]
    recorder = Side("recorder", config.threshold_path, prepared.policies)
    threshold = recorder.threshold("production")

    texts = [jsonsafe.dumps(jsonsafe.for_engines(doc)) for doc in inputs]
    data = {"threshold": threshold.data}
    # gate's engine for the whole run (what `gate impact` holds per side)
    stack = contextlib.ExitStack()
    engine = stack.enter_context(open_engine(config, prepared.policies, data, args.engine, announce=False))

    if args.engine == "embedded":
        # bare: one regopy interpreter, inputs as JSON text prepared before timing
        interpreter = regopy.Interpreter()
        for module in prepared.policies.modules:
            interpreter.add_module(str(module.path), module.source)
        interpreter.add_data_json(jsonsafe.dumps(data))

        from gate.engine.findings import findings_query

        bundle = interpreter.build(findings_query(prepared.policies))

        def bare_query(lo: int, hi: int) -> list[str]:
            out = []
            for text in texts[lo:hi]:
                interpreter.set_input_term(text)
                out.append(json.dumps(json.loads(str(interpreter.query("data.gate")))["expressions"][0]))
            return out

        def bare_bundle(lo: int, hi: int) -> list[str]:
            out = []
            for text in texts[lo:hi]:
                interpreter.set_input_term(text)
                out.append(json.dumps(json.loads(str(interpreter.query_bundle(bundle)))["expressions"][0]))
            return out

        loops = {"query": {"bare": bare_query}, "bundle": {"bare": bare_bundle},
                 "both": {"bare": bare_bundle, "bare (query)": bare_query}}[args.bare]
    else:
        # bare: the same OPA server gate's engine started, asked over one keep-alive session with the
        # request bodies prepared before timing (what a hand-written loop of OPA queries would do)
        import requests

        engine.evaluate(inputs[0])  # the server is up and holds the policies and data
        server = engine.engine.server
        url = server.url.rstrip("/") + "/v1/data/gate"
        headers = {"Content-Type": "application/json",
                   **({"Authorization": f"Bearer {engine.engine.local.token}"}
                                                          if getattr(engine.engine, "local", None) else {})}
        bodies = [('{"input":' + text + "}").encode() for text in texts]
        session = requests.Session()

        def bare_http(lo: int, hi: int) -> list[str]:
            out = []
            for body in bodies[lo:hi]:
                answer = session.post(url, data=body, headers=headers, timeout=30)
                answer.raise_for_status()
                out.append(json.dumps(answer.json()["result"]))
            return out

        loops = {"bare": bare_http}

    # recording (not timed): each decision judged from the bare loop's answer, appended through the store
    append_s = 0.0
    sealed: list[dict] = []

    def record(lo: int, answers: list[str]) -> None:
        nonlocal append_s
        for doc, text in zip(inputs[lo:], answers):
            result = json.loads(text)
            outcome, findings, _, notes = judge(result, threshold.rules, context_of(doc), True)
            t = time.perf_counter()
            sealed.append(store.append({
                "decision_id": f"bench-{doc['context']['commit'][-8:]}", "path": "gate",
                "labels": {"app": "gate", "service": "claims-triage", "profile": "production"},
                "input": doc, "context": doc["context"],
                "result": {"outcome": outcome, "findings": [f.to_dict() for f in findings], "waived": [],
                           "notes": notes}}))
            append_s += time.perf_counter() - t

    # gate: what `gate impact` does for one side, a chunk of records at once, on the engine held for the
    # whole run
    side = Side("working tree", config.threshold_path, prepared.policies, engine=engine)
    mismatches = 0

    def gate(records: list[dict]) -> None:
        nonlocal mismatches
        for rec, replay in zip(records, side.replay_many(records)):
            mismatches += replay.outcome != auditlog.outcome(rec)

    record(0, loops["bare"](0, min(20, args.count)))  # warm every path
    for extra in list(loops)[1:]:
        loops[extra](0, min(20, args.count))
    gate(sealed[:20])
    store.path.unlink()
    store.head_path.unlink()
    sealed.clear()
    mismatches, append_s = 0, 0.0
    totals = {name: [0.0, 0.0] for name in (*loops, "gate")}

    def timed(name: str, fn, *a):
        w, c = time.perf_counter(), time.process_time()
        out = fn(*a)
        totals[name][0] += time.perf_counter() - w
        totals[name][1] += time.process_time() - c
        return out

    started = time.perf_counter()
    for lo in range(0, args.count, args.chunk):
        hi = min(lo + args.chunk, args.count)
        answers = timed("bare", loops["bare"], lo, hi)
        for extra in list(loops)[1:]:
            timed(extra, loops[extra], lo, hi)
        record(lo, answers)
        timed("gate", gate, sealed[lo:hi])
        print(f"  {hi} / {args.count}  {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    # gate reads the records from the store and verifies the whole chain before replaying them
    check = timed("gate", store.verify)
    read = check
    assert check.ok and len(check.records) == args.count, check.problems[:3]
    assert [r["hash"] for r in read.records] == [r["hash"] for r in sealed]
    w = time.perf_counter()
    store.verify()
    read_wall = time.perf_counter() - w

    stack.close()
    size = store.path.stat().st_size
    (gw, gc), n = totals["gate"], args.count
    print(f"decisions replayed      : {n} distinct inputs, one log of {size / 1e6:.1f} MB"
          f" (appended at {append_s / n * 1000:.2f} ms each, fsync'd)")
    names = {"bare": "OPA HTTP"} if args.engine != "embedded" else {
        "bare": f"regopy {args.bare if args.bare != 'both' else 'bundle'}", "bare (query)": "regopy query"}
    for loop in loops:
        bw, bc = totals[loop]
        print(f"bare loop ({names[loop]:<13}): {bw:8.1f} s wall {bc:8.1f} s CPU   {bw / n * 1000:6.1f} "
              "ms/decision")
    from gate.engine.embedded import EmbeddedEngine

    how = (f", batches of {batch.BATCH_SIZE} on {batch.LANES} lanes" if args.engine != "embedded"
           else f", {EmbeddedEngine.LANES} workers (their CPU is not in gate's)")
    print(f"gate replay ({args.engine:<9})    : {gw:8.1f} s wall {gc:8.1f} s CPU   {gw / n * 1000:6.1f} "
          f"ms/decision{how}"
          f"   (reading + verifying the log: {read_wall:.2f} s)")
    for loop in loops:
        bw, bc = totals[loop]
        print(f"gate / {names[loop]:<16}: {gw / bw:.3f}x wall, {gc / bc:.3f}x CPU   (target <= 1.5x)")
    print(f"replayed outcome = recorded outcome: {n - mismatches} of {n}")
    approvals = sum(1 for r in read.records if auditlog.outcome(r) == "approve")
    print(f"recorded outcomes       : {approvals} approve, {n - approvals} block")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        shutil.copytree(work, args.keep, dirs_exist_ok=True)
    shutil.rmtree(work)
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
