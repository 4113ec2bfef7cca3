"""Delivery ids survive a restart (state_dir/deliveries): a replay after a restart is answered once; a
delivery accepted but never finished (the process was killed) is decided when GitHub delivers it again."""

from __future__ import annotations

import time

import pytest

from gate.serve.webhook import Deliveries
from tests.conftest import opa_binary
from tests.serve.conftest import Harness, post_delivery, start_served


def test_finished_ids_are_read_back_and_unfinished_ones_are_not(tmp_path):
    path = tmp_path / "state" / "deliveries"
    first = Deliveries(10, path)
    assert first.remember("answered") and first.remember("in-flight")
    first.finished("answered")
    first.close()
    again = Deliveries(10, path)
    assert again.seen("answered"), "an answered delivery must stay a duplicate after a restart"
    assert not again.seen("in-flight"), "a delivery never finished must be decided when it comes again"
    assert again.remember("in-flight")


def test_the_file_stays_bounded_and_keeps_the_newest(tmp_path):
    path = tmp_path / "deliveries"
    kept = Deliveries(5, path)
    for n in range(200):
        kept.remember(f"d-{n}")
        kept.finished(f"d-{n}")
    kept.close()
    assert len(path.read_text().splitlines()) <= 2 * 5 + 64 + 1
    again = Deliveries(5, path)
    assert [again.seen(f"d-{n}") for n in (194, 195, 199)] == [False, True, True]


def test_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "deliveries"
    path.write_text("d one\nd two\nd thr")  # killed in the middle of a write
    again = Deliveries(10, path)
    assert again.seen("one") and again.seen("two")
    assert not again.seen("thr"), "a line without its newline was cut short: it is no id"
    path.write_text("d one\nx two\n\n")
    assert not Deliveries(10, path).seen("two")


def test_ids_that_cannot_be_written_safely_stay_in_memory(tmp_path):
    path = tmp_path / "deliveries"
    kept = Deliveries(10, path)
    assert kept.remember("with space") and kept.remember("ok-id")
    kept.finished("with space")
    kept.finished("ok-id")
    kept.close()
    assert path.read_text().splitlines() == ["a ok-id", "d ok-id"]


def test_an_unwritable_state_dir_is_one_line_at_start(tmp_path, app_key):
    from gate.errors import ConfigError
    from gate.serve.app import remembered_deliveries
    from gate.serve.config import load_server_config
    from tests.serve.conftest import SECRET, server_yaml

    config = load_server_config(server_yaml(tmp_path, "http://127.0.0.1:9", app_key[0], "embedded"),
                                environ={"GATE_TEST_WEBHOOK_SECRET": SECRET})
    (tmp_path / "blocker").write_text("a file where the folder should be")
    import dataclasses

    with pytest.raises(ConfigError, match="state_dir"):
        remembered_deliveries(dataclasses.replace(config, state_dir=tmp_path / "blocker" / "state"))


@pytest.mark.skipif(opa_binary() is None, reason="needs a real OPA")
def test_a_replay_after_a_restart_is_answered_once(fake_app, app_key, tmp_path):
    served = start_served(tmp_path, fake_app, app_key[0], "opa-local", workers=1)
    harness = Harness(fake_app, served)
    run = harness.run()
    payload = fake_app.delivery(run)
    try:
        assert post_delivery(served.url, payload, delivery="restart-1").status_code == 202
        assert harness.answer(run).state == "approved"
        harness.logged("restart-1")
    finally:
        served.stop()
    again = start_served(tmp_path, fake_app, app_key[0], "opa-local", workers=1)
    try:
        replay = post_delivery(again.url, payload, delivery="restart-1")
        assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
        time.sleep(0.5)
        assert len(fake_app.answers_for(run.id)) == 1
        other = Harness(fake_app, again).run()  # a new delivery is still decided
        assert post_delivery(again.url, fake_app.delivery(other), delivery="restart-2").status_code == 202
        assert Harness(fake_app, again).answer(other).state == "approved"
    finally:
        again.stop()
