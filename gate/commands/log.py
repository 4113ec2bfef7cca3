"""`gate log verify|show|repair|restore`: read the decision log from the store gate.yaml configures.

verify  exit 0 when every record and link holds, 1 naming each broken record by its number.
show    the decisions, filtered by service, profile, outcome and date.
repair  cut a torn last line after a crash (kept aside), never a complete record (file store).
restore write a past decision's archived gate.yaml and evidence files into a folder, to re-run it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from gate import auditlog, runner
from gate.errors import ConfigError, GateError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("log", help="verify, show or repair the decision log")
    sub = p.add_subparsers(dest="log_command", metavar="ACTION", parser_class=type(p))

    def common(q) -> None:
        q.add_argument("--config", "-c", default="gate.yaml", type=Path,
                       help="gate.yaml (default: ./gate.yaml)")
        q.add_argument("--file", type=Path, help="read this JSON Lines log instead of the configured store")

    v = sub.add_parser("verify", help="check the hash chain; exit 1 naming each broken record")
    common(v)
    v.add_argument("--expect", metavar="SEQ:HASH", action="append", default=[],
                   help="a record number and hash known from elsewhere (a job summary): must be in the log")
    v.set_defaults(run=run_verify)

    s = sub.add_parser("show", help="list decisions, filtered")
    common(s)
    s.add_argument("--service")
    s.add_argument("--profile")
    s.add_argument("--outcome", choices=("approve", "block", "clear", "findings", "undecided"),
                   help="approve or block (decisions); clear, findings or undecided (gate watch runs)")
    s.add_argument("--since", help="on or after this date or RFC 3339 time")
    s.add_argument("--until", help="on or before this date (the whole day) or RFC 3339 time")
    s.add_argument("--decision", help="one decision id")
    s.add_argument("--limit", type=int, help="only the last N matching decisions")
    s.add_argument("--format", "-f", choices=("text", "json"), default="text",
                   help="text (a line each) or json (the records, one per line)")
    s.set_defaults(run=run_show)

    r = sub.add_parser("repair", help="cut a torn last line after a crash; never a complete record")
    common(r)
    r.set_defaults(run=run_repair)

    o = sub.add_parser("restore", help="write a decision's archived gate.yaml and evidence into a folder")
    common(o)
    o.add_argument("decision", help="decision id")
    o.add_argument("--to", type=Path, required=True, help="folder to write into (created)")
    o.set_defaults(run=run_restore)
    p.set_defaults(run=lambda args: _usage(p))


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def open_store(args) -> Any:
    """The store to read: --file, else gate.yaml's decision_log.store."""
    from gate.stores import open_store as open_configured
    from gate.stores.file import FileStore

    if args.file is not None:
        return FileStore(args.file.resolve(), str(args.file))
    config = runner.load(args)
    return open_configured(config)


def run_verify(args) -> int:
    store = open_store(args)
    result = store.verify()
    for text in args.expect:
        problem = _expect(result.records, text)
        if problem:
            result.problems.append(problem)
    for warning in result.warnings:
        print(f"gate: warning: {warning}", file=sys.stderr)
    if result.ok:
        print(f"gate: decision log {store.where}: {len(result.records)} record(s), chain valid;"
              f" last record {result.head.seq} {result.head.hash}")
        for record in filter(auditlog.is_repair, result.records):
            print(f"  {auditlog.describe_repair(record)}")
        return 0
    print(f"gate: decision log {store.where} does not verify: {len(result.problems)} problem(s)")
    for problem in result.problems:
        print(f"  {problem}")
    return 1


def _expect(records: list[Mapping[str, Any]], text: str) -> auditlog.Problem | None:
    seq_text, _, digest = text.partition(":")
    if not seq_text.isdigit() or not digest:
        raise ConfigError(f"--expect: {text!r}; expected SEQ:HASH, e.g. 42:sha256:ab12…")
    seq = int(seq_text)
    for record in records:
        if record.get("seq") == seq:
            if record.get("hash") == digest:
                return None
            return auditlog.Problem(seq,
                                    f"its hash is {record.get('hash')}, not {digest} as expected: rewritten")
    return auditlog.Problem(seq, "is expected (--expect) but the log does not hold it: truncated")


def load_records(store) -> list[dict[str, Any]]:
    result = store.verify()
    if not result.ok:
        print(f"gate: warning: decision log {store.where} does not verify ({result.problems[0]});"
              " run `gate log verify`", file=sys.stderr)
    return result.records


def run_show(args) -> int:
    from gate.timeutil import parse_timestamp

    def moment(text: str | None, field: str, end_of_day: bool = False):
        if not text:
            return None
        try:
            when = parse_timestamp(text)
        except ValueError as exc:
            raise ConfigError(f"--{field}: {exc}") from None
        return when + timedelta(days=1) if end_of_day and len(text.strip()) == 10 else when

    since, until = moment(args.since, "since"), moment(args.until, "until", end_of_day=True)
    store = open_store(args)
    picked = []
    for record in load_records(store):
        labels = record.get("labels") or {}
        if args.service and labels.get("service") != args.service:
            continue
        if args.profile and labels.get("profile") != args.profile:
            continue
        if args.outcome and auditlog.outcome(record) != args.outcome:
            continue
        if args.decision and record.get("decision_id") != args.decision:
            continue
        if since or until:
            try:
                when = parse_timestamp(record.get("timestamp"))
            except ValueError:
                continue
            if (since and when < since) or (until and (when >= until if len(args.until.strip()) == 10
                                                       else when > until)):
                continue
        picked.append(record)
    if args.limit is not None:
        picked = picked[-args.limit:] if args.limit > 0 else []
    out = sys.stdout
    for record in picked:
        if args.format == "json":
            out.write(json.dumps(record, sort_keys=True) + "\n")
        else:
            out.write(summary_line(record) + "\n")
    if args.format == "text":
        print(f"{len(picked)} decision(s) in {store.where}", file=sys.stderr)
    return 0


def summary_line(record: Mapping[str, Any]) -> str:
    if auditlog.is_repair(record):
        return f"{record.get('seq'):>6}  {auditlog.describe_repair(record).partition(': ')[2]}"
    labels = record.get("labels") or {}
    context = record.get("context") or {}
    result = record.get("result") or {}
    findings = result.get("findings") or []
    denies = sum(1 for f in findings if f.get("level") == "deny" and not f.get("advisory"))
    warns = len(findings) - denies
    waived = len(result.get("waived") or [])
    release = f"{labels.get('service')} {context.get('version') or ''}".strip()
    return (f"{record.get('seq'):>6}  {record.get('timestamp')}  {release:<28} "
            f"{labels.get('profile', ''):<11}"
            f" {result.get('outcome')!s:<8} {denies} deny {warns} warn {waived} waived  "
            f"{record.get('decision_id')}")


def run_repair(args) -> int:
    store = open_store(args)
    if not hasattr(store, "repair"):
        raise GateError(f"the {getattr(store, 'name', 'configured')} store has nothing to repair: only the "
                        "file"
                        " store can be left with a torn line")
    done = store.repair()
    for line in done or ["nothing to repair: every line is complete and the head names the last record"]:
        print(f"gate: {line}")
    return 0


def run_restore(args) -> int:
    from gate.archive import restore

    store = open_store(args)
    archive = store.archive() if hasattr(store, "archive") else None
    if archive is None:
        raise GateError(f"the {getattr(store, 'name', 'configured')} store keeps no evidence archive")
    record = next((r for r in load_records(store) if r.get("decision_id") == args.decision), None)
    if record is None:
        raise GateError(f"no decision {args.decision} in {store.where}")
    written = restore(record, archive, args.to)
    now = (record.get("context") or {}).get("now")
    print(f"gate: restored {len(written)} file(s) into {args.to}; re-run with:"
          f" gate evaluate -c {args.to / 'gate.yaml'} --now {now}")
    return 0
