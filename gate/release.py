"""Which version is being released, and where gate learned it.

One precedence, first that is set wins (docs/manual-deployments.md, docs/action.md):

1. ``--service-version`` on the command line, taken as given;
2. the GitHub Action's ``version`` input (the action passes it as ``GATE_VERSION``);
3. a release tag in the CI environment (``GITHUB_REF_TYPE=tag``, the tag in ``GITHUB_REF_NAME``);
4. ``service.version`` in gate.yaml.

A version from the action's input or from a tag loses one leading ``v`` and must then be a PEP 440
or SemVer version: a tag that is not (``release-7``) is refused, naming it, rather than judged as a
version no evidence or sign-off was recorded for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gate.errors import ConfigError

# semver.org's own regular expression (2.0.0)
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")


def is_release_version(text: str) -> bool:
    from packaging.version import InvalidVersion, Version

    if _SEMVER.match(text):
        return True
    if not text[:1].isdigit() or text != text.strip():  # PEP 440 also takes "v1" and " 1 "; a tag does not
        return False
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _from_ref(raw: str, what: str) -> str:
    """``raw`` without one leading v, checked; ConfigError naming ``what`` otherwise."""
    version = raw[1:] if raw[:1] in ("v", "V") else raw
    if not is_release_version(version):
        raise ConfigError(f"{what} {raw!r} is not a release version: expected a PEP 440 or SemVer version "
                          "after an"
                          " optional leading 'v' (e.g. v2.4.0); pass --service-version to say which version "
                          "this is")
    return version


def release_version(cli: str | None, configured: object, env: Mapping[str, str]) -> tuple[str | None,
                                                                                          str | None]:
    """(version, where it came from) by the precedence above; (None, None) when nothing names one."""
    if cli:
        return cli, "--service-version"
    action_input = env.get("GATE_VERSION", "").strip()
    if action_input:
        return _from_ref(action_input,
                         "the action's version input"), f"the action's version input {action_input}"
    if env.get("GITHUB_REF_TYPE") == "tag" and env.get("GITHUB_REF_NAME"):
        tag = env["GITHUB_REF_NAME"]
        return _from_ref(tag, "tag"), f"tag {tag}"
    if configured is not None and str(configured) != "":
        return str(configured), "gate.yaml"
    return None, None

