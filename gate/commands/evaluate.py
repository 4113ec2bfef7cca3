"""`gate evaluate`: collect, evaluate, decide. Exit 0 approved, 1 blocked."""

from __future__ import annotations

import dataclasses
import io
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from gate import auditlog, plugins, policysource, runner
from gate.errors import ConfigError
from gate.secrets import mask

if TYPE_CHECKING:
    from gate import attest


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="collect evidence, evaluate the threshold, approve or block")
    runner.add_common_arguments(p)
    p.add_argument("--format", "-f", default="text",
                   help="output format (see `gate plugins`): text, json, markdown, ...")
    p.add_argument("--output", "-o", type=Path, help="write the report here instead of standard output")
    p.add_argument("--policy-ref", metavar="REF",
                   help="read threshold, policies, waivers and profile from this git ref (a protected "
                        "branch or"
                        " tag, e.g. main), never from the working tree; overrides gate.yaml policy_source")
    runner.add_engine_arguments(p)
    p.add_argument("--sign", "--sign-key", dest="sign", metavar="KEY",
                   help="sign the decision as an in-toto attestation with this private key: a PEM file or "
                        "env:NAME"
                        " (Ed25519 or ECDSA P-256; docs/attestations.md)")
    p.add_argument("--subject", action="append", default=[], metavar="FILE|NAME=sha256:HEX",
                   help="an artifact of the release, named in the attestation; repeat for several")
    p.add_argument("--attestation-output", type=Path, metavar="FILE",
                   help="where the signed attestation goes (default: beside --output, else "
                        "gate-attestation.intoto.json)")
    p.set_defaults(run=run)


def run(args) -> int:
    config = runner.apply_engine_arguments(runner.load(args), args)
    renderer = plugins.renderers().get(args.format)
    if renderer is None:
        raise ConfigError(f"--format: unknown format {args.format!r}; known: "
                          f"{', '.join(plugins.renderers().names())}")
    if hasattr(renderer, "ready"):  # a renderer needing an optional extra says so before anything is decided
        renderer.ready()
    attest = _attest() if args.sign or args.subject or args.attestation_output else None
    signing = (attest.signing_request(args.sign, args.subject, args.attestation_output, args.output)
               if attest else None)
    with policysource.scratch() as scratch:
        # from here on, config judges with the protected ref's threshold, policies and waivers (if any)
        config, protected = policysource.working_tree(config, args, Path(scratch))
        context = runner.make_context(config, args)
        if isinstance(protected, policysource.Protected):
            context = dataclasses.replace(context, policy_source=protected.context_entry())
        runner.refuse_pinned_clock(config, context)
        check_workflow(config)
        decision = runner.evaluate(config, context, args.engine)
        if isinstance(protected, policysource.Protected):
            decision = policysource.annotate(decision, protected, plugins.get_manager())
        elif protected:  # outside CI, production from the working tree: said in every report
            decision = dataclasses.replace(decision, notes=(protected, *decision.notes))
        signed = (attest.sign_decision(decision, signing.subjects, signing.key, config)
                  if attest and signing else None)
        if signed:  # the log keeps the envelope, so the record and the attestation name each other
            decision = dataclasses.replace(decision, attestation=signed.record())
        decision = auditlog.retain(decision, config)  # exit 3 when an audit record is required and not kept
        runner.announce(decision, config)
        buffer = io.StringIO()
        renderer.render(decision, buffer)
        write_report(buffer.getvalue(), args.output, protected=_inputs(config, decision))
        if signed and signing:
            publish(signed, signing.output, _inputs(config, decision))
    return 0 if decision.outcome == "approve" else 1


def _attest():
    """gate.attest, loaded only when a signature is asked for: cryptography costs start-up time."""
    from gate import attest

    return attest


def check_workflow(config, command: str = "evaluate") -> None:
    """In GitHub Actions, before evaluating: the job's token must be able to keep the record (exit 2
    naming the permission); a report it cannot post is a warning, as posting it is a side effect."""
    if not os.environ.get("GITHUB_WORKFLOW_REF"):
        return  # not a GitHub Actions job (running_job_problems would say nothing): gate.workflows unloaded
    from gate.stores import DEFAULT_STORE
    from gate.workflows import running_job_problems

    store = str(config.decision_log.get("store") or os.environ.get("GATE_DECISION_LOG_STORE")
                or DEFAULT_STORE)
    blocking, reports = running_job_problems(config, os.environ, store, command)
    for line in reports:
        print(f"gate: warning: {line}", file=sys.stderr)
    if blocking:
        raise ConfigError(blocking[0])


def _inputs(config, decision) -> set[Path]:
    paths = {config.path.resolve(), config.threshold_path.resolve()}
    paths.update((config.root / e.origin).resolve() for e in decision.evidence if "://" not in e.origin)
    return paths


def write_report(text: str, output: Path | None, protected: set[Path] = frozenset()) -> None:
    """Standard output, or a file written whole (temp file + rename): never a half-written report,
    never over a file the user gave gate as input. Secrets are masked either way."""
    text = mask(text)
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = output.resolve()
    if target in protected:
        raise ConfigError(f"--output: {output} is one of gate's inputs; refusing to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gate-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def publish(signed: attest.Signed, target: Path, protected: set[Path]) -> None:
    """The envelope file, written whole and never over an input, and in GitHub Actions the step output
    `attestation`. Unmasked: masking would break the signature, so a secret inside refuses the file."""
    if mask(signed.text) != signed.text:
        raise ConfigError("the attestation would contain a secret value; not written")
    write_report(signed.text, target, protected)
    print(f"gate: signed attestation written to {target} ({signed.digest})", file=sys.stderr)
    if os.environ.get("GITHUB_OUTPUT"):
        delimiter = f"gate_{uuid.uuid4().hex}"
        with open(os.environ["GITHUB_OUTPUT"], "a", encoding="utf-8") as fh:
            fh.write(f"attestation<<{delimiter}\n{target.resolve()}\n{delimiter}\n")
