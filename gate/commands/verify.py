"""`gate verify`: at deploy time, check the signed decision for the artifact about to ship.

Exit 0 only when every signature is valid under a trusted key (--key), a subject is the artifact,
the result is PASSED, the policy digest is the expected one (--policy-digest, or the threshold and
policies that --config names), the decision is younger than --max-age, and the service and profile
match. Anything else: exit 1 with one line naming each field that failed. An attestation that cannot
be read or is malformed: exit 2.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from gate.errors import ConfigError

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("verify", help="check a signed decision for an artifact before deploying it")
    p.add_argument("--artifact", required=True, metavar="FILE|sha256:HEX",
                   help="the artifact about to be deployed")
    p.add_argument("--attestation", required=True, type=Path, metavar="FILE",
                   help="the DSSE envelope gate evaluate --sign wrote")
    p.add_argument("--key", required=True, action="append", metavar="PUBKEY.pem|env:NAME",
                   help="a trusted public key (Ed25519 or ECDSA P-256, PEM); repeat for several")
    p.add_argument("--policy-digest", metavar="sha256:HEX",
                   help="the expected digest of threshold + policies (default: computed from --config)")
    p.add_argument("--config", "-c", type=Path,
                   help="gate.yaml whose threshold and policies are expected; also the default service and "
                        "profile")
    p.add_argument("--max-age", default="24h",
                   help="the decision must be younger than this (default 24h): 30m, 6h, 2d")
    p.add_argument("--service", help="the service being deployed (default: gate.yaml's)")
    p.add_argument("--profile",
                   help="the profile the decision must have been taken under (default: gate.yaml's)")
    p.add_argument("--now", help="verify as of this RFC 3339 time instead of the clock (replays)")
    p.set_defaults(run=run)


def run(args) -> int:
    from gate.attest import artifact_sha256, load_public_key
    from gate.verification import Expected, check, parse_max_age, read_attestation

    expected = Expected(
        artifact_sha256=artifact_sha256(args.artifact),
        keys=[load_public_key(spec) for spec in args.key],
        max_age=parse_max_age(args.max_age),
        now=_now(args.now),
        **_policy_and_release(args),
    )
    attestation = read_attestation(args.attestation)
    failures = check(attestation, expected)
    if failures:
        print(f"gate: verify: {args.attestation} does not approve this deployment: {'; '.join(failures)}",
              file=sys.stderr)
        return 1
    gate = attestation.gate
    print(f"gate: verified {args.attestation}: {gate['service']} {gate.get('version') or ''} approved under"
          f" profile {gate['profile']} (decision {gate['decisionId']} at "
          f"{attestation.predicate['timeVerified']}),"
          f" artifact sha256:{expected.artifact_sha256}, policy {expected.policy_digest}")
    return 0


def _policy_and_release(args) -> dict[str, str]:
    """The expected policy digest, service and profile: from the flags, else from --config."""
    config = None
    if args.config is not None and (args.policy_digest is None or not args.service or not args.profile):
        from gate import runner

        config = runner.load(args)
    if args.policy_digest is not None:
        digest = args.policy_digest.lower()
        if not _DIGEST.match(digest):
            raise ConfigError(f"--policy-digest {args.policy_digest!r}: expected sha256:<64 hex digits>")
    elif config is not None:
        digest = _config_policy_digest(config)
    else:
        raise ConfigError("gate verify needs the expected policy: --policy-digest sha256:HEX or --config "
                          "gate.yaml")
    service = args.service or (config.service_name if config else None)
    profile = args.profile or (config.profile if config else None)
    if not service or not profile:
        raise ConfigError("gate verify needs the service and profile deployed: --service and --profile, or "
                          "--config")
    return {"policy_digest": digest, "service": service, "profile": profile}


def _config_policy_digest(config) -> str:
    from gate import runner
    from gate.attest import policy_digest

    prepared = runner.prepare(config)
    return policy_digest(prepared.policies.digest, prepared.threshold.digest)


def _now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    from gate.timeutil import parse_timestamp

    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise ConfigError(f"--now: {exc}") from None
