"""Every way a deployment cannot be decided ends in one `rejected` answer naming the reason; GitHub's
retryable failures are retried first; the default branch's threshold decides, never the run's."""

from __future__ import annotations

import pytest

from tests.serve.conftest import THRESHOLD, evidence_zip, new_sha, repo_files


def rejected(harness, run, *fragments: str):
    answer = harness.answer(run)
    assert answer.state == "rejected", answer.comment
    for fragment in fragments:
        assert fragment in answer.comment, answer.comment
    return answer


# --- the rules come from the default branch --------------------------------------------------------------

def test_the_runs_branch_loosens_the_threshold_but_the_default_branchs_decides(harness):
    strict = THRESHOLD.replace("    load_multiplier: 3\n", "    load_multiplier: 4\n", 1)
    assert strict != THRESHOLD
    harness.fake.add_repo("acme/loosened", "main",
                          {"main": repo_files(strict), "loosen": repo_files(THRESHOLD)})
    run = harness.run(repo="acme/loosened", branch="loosen")
    refs_before = len(harness.fake.content_refs)
    harness.deliver(run)
    rejected(harness, run, "technical.load_multiplier")
    assert set(harness.fake.content_refs[refs_before:]) == {"main"}, "gate read the rules from another ref"


def test_the_same_evidence_passes_where_the_default_branch_allows_it(harness):
    """The counterpart of the test above: with the default branch at 3x, the same evidence is approved."""
    harness.fake.add_repo("acme/plain", "main", {"main": repo_files(THRESHOLD)})
    run = harness.run(repo="acme/plain", branch="loosen")
    harness.deliver(run)
    assert harness.answer(run).state == "approved"


def test_missing_gate_yaml_on_the_default_branch_is_rejected(harness):
    harness.fake.add_repo("acme/unconfigured", "main", {"main": {"README.md": b"hi"}})
    run = harness.run(repo="acme/unconfigured")
    harness.deliver(run)
    rejected(harness, run, "gate.yaml is not on the default branch main")


def test_gate_yaml_reaching_outside_the_workspace_is_rejected(harness):
    yaml = repo_files()["gate.yaml"].decode() + "workspace: {allow_outside: true}\n"
    harness.fake.add_repo("acme/outside", "main", {"main": repo_files(gate_yaml=yaml)})
    run = harness.run(repo="acme/outside")
    harness.deliver(run)
    rejected(harness, run, "allow_outside")


# --- the artifact ------------------------------------------------------------------------------------------

def test_artifact_missing_is_rejected(harness):
    run = harness.run(artifact=None)
    harness.deliver(run)
    rejected(harness, run, "no artifact named 'gate-evidence'")


def test_artifact_listed_over_the_cap_is_rejected_without_download(harness):
    run = harness.run(artifact=None)
    harness.fake.add_artifact(run, evidence_zip(run.head_sha), size=3 * 1024 * 1024)
    harness.deliver(run)
    rejected(harness, run, "over the cap")
    assert not harness.fake.api_requests(rf"/actions/artifacts/{run.artifacts[0].id}/zip$")


def test_artifact_larger_than_listed_is_cut_off_at_the_cap(harness):
    import os

    run = harness.run(artifact=None)
    noise = {"noise.bin": os.urandom(3 * 1024 * 1024)}  # incompressible: the zip itself is over 2 MiB
    harness.fake.add_artifact(run, evidence_zip(run.head_sha, extra=noise), size=1000)
    harness.deliver(run)
    rejected(harness, run, "over the cap")


def test_artifact_unpacking_beyond_the_cap_is_rejected(harness):
    run = harness.run(artifact=None)
    bomb = {"evidence/padding.txt": b"0" * (5 * 1024 * 1024)}  # compresses to a few KiB
    harness.fake.add_artifact(run, evidence_zip(run.head_sha, extra=bomb))
    harness.deliver(run)
    rejected(harness, run, "unpacks to more than")


@pytest.mark.parametrize("name", ["../escape.yaml", "evidence/../../escape.yaml", "/etc/gate-escape.yaml",
                                  "..\\escape.yaml", "C:/escape.yaml"])
def test_artifact_with_an_escaping_path_is_rejected(harness, name):
    run = harness.run(artifact=None)
    harness.fake.add_artifact(run, evidence_zip(run.head_sha, extra={name: b"kind: load_test\n"}))
    harness.deliver(run)
    rejected(harness, run, "outside the extraction folder")


def test_artifact_with_a_link_is_rejected(harness):
    run = harness.run(artifact=None)
    harness.fake.add_artifact(run, evidence_zip(run.head_sha, links={"evidence/link.yaml": "/etc/passwd"}))
    harness.deliver(run)
    rejected(harness, run, "holds a link")


def test_artifact_cannot_replace_the_default_branchs_threshold(harness):
    loose = THRESHOLD.replace("    load_multiplier: 3\n", "    load_multiplier: 1\n", 1).encode()
    run = harness.run(artifact=None)
    harness.fake.add_artifact(run, evidence_zip(run.head_sha, extra={"threshold.yaml": loose}))
    harness.deliver(run)
    rejected(harness, run, "threshold.yaml")


def test_evidence_about_another_commit_is_rejected(harness):
    run = harness.run(artifact=None)
    harness.fake.add_artifact(run, evidence_zip(run.head_sha, manifest={"commit": new_sha()}))
    harness.deliver(run)
    rejected(harness, run, "the evidence artifact is about commit")


def test_artifact_from_another_run_is_rejected(harness):
    other = new_sha()
    run = harness.run(artifact=None)
    harness.fake.add_artifact(run, evidence_zip(other), head_sha=other)
    harness.deliver(run)
    rejected(harness, run, "not run")


def test_evidence_item_naming_another_commit_is_rejected(harness):
    from tests.serve.conftest import example_evidence

    training = example_evidence()["evidence/training.yaml"].decode()
    assert "subject: {service: claims-triage}" in training
    moved = training.replace("subject: {service: claims-triage}",
                             f"subject: {{service: claims-triage, commit: {new_sha()}}}")
    run = harness.run(artifact=None)
    harness.fake.add_artifact(run,
                              evidence_zip(run.head_sha, extra={"evidence/training.yaml": moved.encode()}))
    harness.deliver(run)
    rejected(harness, run, "training evidence", "is about commit")


def test_evidence_item_naming_the_deployed_commit_is_taken(harness):
    from tests.serve.conftest import example_evidence

    training = example_evidence()["evidence/training.yaml"].decode()
    run = harness.run(artifact=None)
    same = training.replace("subject: {service: claims-triage}",
                            f"subject: {{service: claims-triage, commit: {run.head_sha}}}")
    harness.fake.add_artifact(run,
                              evidence_zip(run.head_sha, extra={"evidence/training.yaml": same.encode()}))
    harness.deliver(run)
    assert harness.answer(run).state == "approved"


def test_artifact_without_a_manifest_is_rejected(harness):
    from tests.serve.conftest import example_evidence
    from tests.serve.fake_github_app import zip_of

    run = harness.run(artifact=zip_of(example_evidence()))
    harness.deliver(run)
    rejected(harness, run, "gate-evidence.json")


# --- GitHub failing
# ------------------------------------------------------------------------------------------

def test_a_500_on_the_artifact_list_is_retried(harness):
    fault = harness.fake.fail(r"GET .*/actions/runs/\d+/artifacts$", status=500, times=1)
    run = harness.run()
    harness.deliver(run)
    assert harness.answer(run).state == "approved"
    assert fault.hits == 1


def test_a_lasting_500_on_the_artifact_download_is_rejected_after_the_budget(harness):
    harness.fake.fail(r"GET .*/actions/artifacts/\d+/zip$", status=502)
    run = harness.run()
    harness.deliver(run)
    rejected(harness, run, "actions.download-artifact", "502")
    assert len(harness.fake.api_requests(r"/actions/artifacts/\d+/zip$")) >= 3  # 1 + github_retries: 2


def test_a_timeout_on_the_artifact_blob_is_retried(harness):
    fault = harness.fake.fail(r"GET /_blob/", kind="slow", delay=2.5, times=1)
    run = harness.run()
    harness.deliver(run)
    assert harness.answer(run).state == "approved"
    assert fault.hits == 1


def test_a_lasting_timeout_on_the_artifact_is_rejected(harness):
    harness.fake.fail(r"GET .*/actions/runs/\d+/artifacts$", kind="slow", delay=2.5)
    run = harness.run()
    harness.deliver(run)
    rejected(harness, run, "did not answer within")


def test_a_500_on_the_answer_is_retried_and_answered_once(harness):
    fault = harness.fake.fail(r"POST .*/deployment_protection_rule$", status=500, times=1)
    run = harness.run()
    harness.deliver(run)
    assert harness.answer(run).state == "approved"
    assert fault.hits == 1


def test_a_timeout_on_the_answer_is_retried_and_answered_once(harness):
    fault = harness.fake.fail(r"POST .*/deployment_protection_rule$", kind="slow", delay=2.5, times=1)
    run = harness.run()
    response = harness.deliver(run)
    assert harness.answer(run).state == "approved"
    assert fault.hits == 1
    assert harness.logged(response.json()["delivery"])["outcome"] == "approve"


def test_an_answer_github_never_takes_is_logged_unanswered(harness):
    harness.fake.fail(r"POST .*/deployment_protection_rule$", status=503)
    run = harness.run()
    response = harness.deliver(run)
    line = harness.logged(response.json()["delivery"])
    assert line["outcome"] == "unanswered" and line["state"] is None
    assert "503" in line["reason"]
    assert harness.fake.answers_for(run.id) == []


def test_installation_token_expired_mid_flight_is_renewed(harness):
    fault = harness.fake.fail(r"GET .*/actions/runs/\d+/artifacts$", kind="expire", times=1)
    run = harness.run()
    minted = harness.fake.tokens_minted
    harness.deliver(run)
    assert harness.answer(run).state == "approved"
    assert fault.hits == 1
    assert harness.fake.tokens_minted == minted + 1


def test_installation_token_is_cached_between_decisions(harness):
    first, second = harness.run(), harness.run()
    harness.deliver(first)
    harness.answer(first)
    minted = harness.fake.tokens_minted
    harness.deliver(second)
    harness.answer(second)
    assert harness.fake.tokens_minted == minted


def test_the_repositorys_own_policies_are_read_from_the_default_branch(harness):
    """gate.yaml names a policy folder: every .rego under it is read from the default branch (folder listing
    and files through repos.get-content); a rule only the default branch's copy has decides."""
    from tests.conftest import REPO

    policies = {f"rules/{p.name}": p.read_bytes() for p in (REPO / "policies").glob("*.rego")
                if not p.name.endswith("_test.rego")}
    extra = (b"package gate.house\n\nimport rego.v1\n\ndeny contains {\"id\": \"house.freeze\", \"msg\": "
             b"\"release"
             b" freeze\"} if { input.context.service == \"claims-triage\" }\n")
    main = {**repo_files(gate_yaml=repo_files()["gate.yaml"].decode() + "policies: rules\n"), **policies,
            "rules/extra/house.rego": extra}
    branch = {**repo_files(gate_yaml=repo_files()["gate.yaml"].decode() + "policies: rules\n"), **policies}
    harness.fake.add_repo("acme/house", "main", {"main": main, "feature": branch})
    run = harness.run(repo="acme/house", branch="feature")
    harness.deliver(run)
    rejected(harness, run, "house.freeze")
