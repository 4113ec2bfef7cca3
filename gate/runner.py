"""Putting a decision together: config → context → collect → policies + threshold → engine."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gate import plugins
from gate.collect import collect
from gate.config import Config, load_config
from gate.engine.session import open_engine
from gate.errors import ConfigError
from gate.evaluate import decide
from gate.model import Context, Decision, Evidence, Skipped
from gate.policyset import PolicySet, load_policies
from gate.threshold import Threshold, threshold_of
from gate.timeutil import parse_timestamp


def add_common_arguments(parser) -> None:
    parser.add_argument("--config", "-c", default="gate.yaml", type=Path,
                        help="gate.yaml (default: ./gate.yaml)")
    parser.add_argument("--profile", help="threshold profile, e.g. staging or production")
    parser.add_argument("--service-version", "--release", dest="version", help="version being released")
    parser.add_argument("--commit", help="commit being released (default: GITHUB_SHA)")
    parser.add_argument("--now", help="evaluate as of this RFC 3339 time (replays, examples); recorded")


def add_engine_arguments(parser) -> None:
    parser.add_argument("--engine", choices=("auto", "embedded", "opa", "opa-local"),
                        help="auto (default: a configured OPA server, else a local opa binary, else "
                             "embedded),"
                             " embedded (regopy), opa (an OPA server), opa-local (the local opa binary)")
    parser.add_argument("--opa-url",
                        help="OPA server for --engine opa (or auto), e.g. https://opa.internal:8181")
    parser.add_argument("--opa-preloaded", action="store_true", default=None,
                        help="query policies the OPA server already has (from a bundle) instead of "
                             "pushing them")
    parser.add_argument("--opa-token-env", metavar="NAME",
                        help="environment variable holding the OPA bearer token (default GATE_OPA_TOKEN)")
    parser.add_argument("--engine-timeout", type=float, metavar="SECONDS",
                        help="engine timeout in seconds (engine.timeout_s; embedded default 60, OPA 10)")


def apply_engine_arguments(config: Config, args) -> Config:
    """gate.yaml's engine section with the command line's engine options laid over it."""
    import dataclasses

    engine = dict(config.engine)
    given = set(config.engine_from_command_line)
    for option, key in (("engine", "name"), ("opa_url", "opa_url"), ("opa_preloaded", "opa_preloaded"),
                        ("opa_token_env", "opa_token_env"), ("engine_timeout", "timeout_s")):
        value = getattr(args, option, None)
        if value is not None:
            engine[key] = value
            given.add(key)  # gate.engine.trust tells what the workflow chose from what the release chose
    if engine.get("timeout_s") is not None and not engine["timeout_s"] > 0:
        raise ConfigError("--engine-timeout: expected a positive number of seconds, got "
                          f"{engine['timeout_s']}")
    return dataclasses.replace(config, engine=engine, engine_from_command_line=frozenset(given))


def load(args) -> Config:
    path: Path = args.config
    if not path.exists():
        raise ConfigError(f"{path}: file not found (pass --config PATH)")
    return load_config(path, getattr(args, "profile", None))


def make_context(config: Config, args, environ: dict[str, str] | None = None) -> Context:
    env = os.environ if environ is None else environ
    from gate.release import release_version

    version, version_source = release_version(getattr(args, "version", None), config.service.get("version"),
                                              env)
    commit = getattr(args, "commit", None) or config.service.get("commit") or env.get("GITHUB_SHA")
    run_url = None
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        run_url = f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    now_text = getattr(args, "now", None)
    if now_text:
        try:
            now = parse_timestamp(now_text)
        except ValueError as exc:
            raise ConfigError(f"--now: {exc}") from None
    else:
        now = datetime.now(UTC)
    return Context(
        service=config.service_name,
        version=version,
        version_source=version_source,
        commit=commit,
        environment=config.profile,
        run_url=run_url,
        actor=env.get("GITHUB_ACTOR"),
        now=now,
        now_pinned=bool(now_text),
        history=_last_approved(config),
    )


# How far --now may stand from the runner's clock under CI=true with the production profile: the skew
# between two honest clocks (the runner's and the one that wrote --now), not a replay window.
NOW_SKEW_ALLOWANCE = timedelta(minutes=5)


def in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """CI=true (as GitHub Actions, GitLab CI and most CI systems set it; 1 and yes count too)."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in ("true", "1", "yes")


def refuse_pinned_clock(config: Config, context: Context, environ: Mapping[str, str] | None = None) -> None:
    """A production release decided in CI is decided at the time of the run: --now there would let
    year-old evidence count as fresh. Exit 2 unless --now is within NOW_SKEW_ALLOWANCE of the clock."""
    if not (context.now_pinned and in_ci(environ)):
        return
    from gate.waivers import STRICT_PROFILE  # not on the start-up path of an ordinary run

    if config.profile != STRICT_PROFILE:
        return
    skew = abs(context.now - datetime.now(UTC))
    if skew > NOW_SKEW_ALLOWANCE:
        raise ConfigError(f"--now: {context.now.isoformat()} is {_span(skew)} from the clock; under "
                          "CI=true the"
                          f" {STRICT_PROFILE} profile decides at the time of the run (allowed skew:"
                          f" {NOW_SKEW_ALLOWANCE.total_seconds():g} s); drop --now, or evaluate outside CI"
                          " or with another profile")


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    return f"{seconds / 86400:,.1f} days" if seconds >= 86400 else f"{seconds:,.0f} s"


def _last_approved(config: Config):
    """Context.history: the last approved decision for this service and profile, read once, on demand."""
    from functools import cache

    @cache
    def last_approved():
        from gate.auditlog import last_approved as read

        return read(config, config.service_name, config.profile)

    return last_approved


@dataclass
class Prepared:
    config: Config
    policies: PolicySet
    threshold: Threshold


def prepare(config: Config, manager=None) -> Prepared:
    manager = manager or plugins.get_manager()
    extra: list[Path] = []
    for paths in manager.hook.gate_policy_paths(config=config):
        extra.extend(Path(p) for p in paths or [])
    policies = load_policies(tuple(config.policy_paths) + tuple(extra))
    threshold = threshold_of(config)
    return Prepared(config=config, policies=policies, threshold=threshold)


def gather(config: Config, context: Context, manager=None) -> tuple[list[Evidence], list[Skipped]]:
    return collect(config, context, plugins.collectors(manager))


def evaluate(config: Config, context: Context, engine_name: str | None = None, manager=None,
             waivers: Any = None) -> Decision:
    manager = manager or plugins.get_manager()
    prepared = prepare(config, manager)
    if waivers is None and config.waivers_path is not None:
        from gate.waivers import load_waivers

        waivers = load_waivers(config.waivers_path, prepared.threshold)
    data = {"threshold": prepared.threshold.data}
    with open_engine(config, prepared.policies, data, engine_name, manager, one_decision=True) as engine:
        evidence, skipped = gather(config, context, manager)
        return decide(config=config, context=context, evidence=evidence, skipped=skipped,
                      policies=prepared.policies, threshold=prepared.threshold, engine=engine.engine,
                      waivers=waivers)


def announce(decision: Decision, config: Config, manager=None) -> None:
    """Run gate_decision_made; a failing side effect is a warning and never changes the decision."""
    from gate.secrets import mask

    manager = manager or plugins.get_manager()
    impls = list(reversed(manager.hook.gate_decision_made.get_hookimpls()))
    plugins.trace_call(manager, "gate_decision_made", impls)
    for impl in impls:
        try:
            impl.function(**{k: v for k, v in {"decision": decision, "context": decision.context,
                                               "config": config}.items() if k in impl.argnames})
        except Exception as exc:  # noqa: BLE001 - reported, never fatal
            print(f"gate: warning: {impl.plugin_name}: {mask(str(exc))}", file=sys.stderr)
