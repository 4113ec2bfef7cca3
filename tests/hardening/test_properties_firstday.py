"""Property tests: the version a release is judged as, from any tag or action input, and any workflow
file under .github/workflows. Outcomes allowed: a release version (PEP 440 or SemVer, the tag's own
text less one leading v), or a one-line ConfigError naming the tag; never another exception."""

from __future__ import annotations

import yaml
from hypothesis import given
from hypothesis import strategies as st

from gate.config import load_config
from gate.errors import ConfigError
from gate.release import is_release_version, release_version
from gate.workflows import workflow_problems

from .strategies import FUZZ, tally

TAGS = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[vV]?[0-9]{1,3}(\.[0-9]{1,3}){0,3}([-+.a-z0-9]{0,12})", fullmatch=True),
)


@FUZZ
@given(tag=TAGS, configured=st.one_of(st.none(), st.just("2.3.0")), through_input=st.booleans())
def test_any_tag_is_a_release_version_or_refused_naming_it(tag, configured, through_input):
    env = {"GATE_VERSION": tag} if through_input else {"GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": tag}
    try:
        version, source = release_version(None, configured, env)
    except ConfigError as exc:
        assert "\n" not in str(exc) and repr(tag.strip() if through_input else tag) in str(exc)
        tally("parser", "firstday.release-tag", "config-error")
        return
    if through_input and not tag.strip() or not through_input and not tag:
        assert (version, source) == (configured, "gate.yaml" if configured else None)
    else:
        assert version is not None and is_release_version(version)
        assert version in (tag.strip(), tag.strip()[1:])
    tally("parser", "firstday.release-tag", "accepted")


WORKFLOW_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
              st.sampled_from(["write", "read", "none", "read-all", "write-all", "acme/gate@v1",
                               "gate evaluate"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["jobs", "steps", "permissions", "uses", "run",
                                                             "with", "contents", "on", "env", "config",
                                                             "decision-log"]),
                                            inner, max_size=5)),
    max_leaves=20,
)


@FUZZ
@given(doc=WORKFLOW_VALUES)
def test_any_workflow_file_is_judged_or_ignored_never_a_crash(tmp_path_factory, doc):
    root = tmp_path_factory.mktemp("repo")
    (root / ".git").mkdir()
    (root / "gate.yaml").write_text("service:\n  name: svc\nprofile: production\nevidence: []\n")
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "w.yml").write_text(yaml.safe_dump(doc))
    problems = workflow_problems(load_config(root / "gate.yaml"))
    assert all("\n" not in p and p.startswith("w.yml: job ") for p in problems)
    tally("parser", "firstday.workflow", "refused" if problems else "accepted")


ANY = st.one_of(WORKFLOW_VALUES, st.text(max_size=30))
PERMISSIONS = st.one_of(st.sampled_from(["read-all", "write-all", {"contents": "read"}, {"contents": "write"},
                                         {}]), ANY)
STEP = st.fixed_dictionaries({
    "uses": st.one_of(st.sampled_from(["acme/gate@v1", "./", "actions/checkout@v4", "x/deployment-gate@1"]),
                      ANY),
}, optional={
    "run": st.one_of(st.sampled_from(["gate evaluate", "gate evaluate -c 'a b.yaml",
                                      "gate evaluate --config=\0"]), ANY),
    "with": st.one_of(st.fixed_dictionaries({}, optional={
        "config": st.one_of(st.just("gate.yaml"), ANY),
        "decision-log": st.one_of(st.sampled_from(["git-branch", "auto"]), ANY),
        "github-token": ANY, "working-directory": ANY}), ANY),
    "env": ANY, "working-directory": ANY})
CHECKOUT_THEN = st.tuples(st.booleans(),
                          STEP).map(lambda t: [{"uses": "actions/checkout@v4"}] * t[0] + [t[1]])
STEPS = st.one_of(CHECKOUT_THEN, st.lists(st.one_of(STEP, STEP, STEP, ANY), max_size=4))
JOBS = st.dictionaries(st.text(min_size=1, max_size=8), st.one_of(ANY, st.fixed_dictionaries(
    {"steps": STEPS}, optional={"permissions": PERMISSIONS, "env": ANY})), min_size=1, max_size=3)


@FUZZ
@given(jobs=JOBS, permissions=PERMISSIONS, on=ANY)
def test_any_job_and_step_shape_is_judged_or_ignored_never_a_crash(tmp_path_factory, jobs, permissions, on):
    test_any_workflow_file_is_judged_or_ignored_never_a_crash.hypothesis.inner_test(
        tmp_path_factory, {"on": on, "permissions": permissions, "jobs": jobs})
