"""server.yaml: schema-validated, one line naming the file, field and line; the key and secret checked at
start."""

from __future__ import annotations

import pytest

from gate.errors import ConfigError
from gate.serve.config import load_server_config
from tests.serve.conftest import SECRET, server_yaml

ENV = {"GATE_TEST_WEBHOOK_SECRET": SECRET}


def test_a_valid_config_loads_with_defaults(tmp_path, app_key):
    config = load_server_config(server_yaml(tmp_path, "https://api.github.com", app_key[0], "auto"), ENV)
    assert config.app_id == 31337 and config.artifact == "gate-evidence" and config.config_path == "gate.yaml"
    assert config.limits.workers == 3 and config.limits.comment_chars == 1024
    assert config.webhook_secret == SECRET.encode()
    assert SECRET not in repr(config) and "PRIVATE KEY" not in repr(config)


def test_an_unknown_field_names_file_line_and_field(tmp_path, app_key):
    path = server_yaml(tmp_path, "https://api.github.com", app_key[0], "auto")
    path.write_text(path.read_text().replace("  workers: 3\n", "  wokers: 3\n"))
    with pytest.raises(ConfigError) as caught:
        load_server_config(path, ENV)
    message = str(caught.value)
    assert (
        message.startswith(f"{path}:") and "wokers" in message and "limits" in message and "\n" not in message
    )


def test_a_wrong_type_is_refused(tmp_path, app_key):
    path = server_yaml(tmp_path, "https://api.github.com", app_key[0], "auto")
    path.write_text(path.read_text().replace("  app_id: 31337", "  app_id: seven"))
    with pytest.raises(ConfigError, match="app_id"):
        load_server_config(path, ENV)


def test_a_key_others_can_read_is_refused(tmp_path, app_key):
    path = server_yaml(tmp_path, "https://api.github.com", app_key[0], "auto")
    (tmp_path / "app.pem").chmod(0o644)
    with pytest.raises(ConfigError, match="readable by group or others"):
        load_server_config(path, ENV)


def test_a_key_that_is_not_pem_is_refused(tmp_path, app_key):
    path = server_yaml(tmp_path, "https://api.github.com", b"not a key", "auto")
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        load_server_config(path, ENV)


@pytest.mark.parametrize("environ, expected",
                         [({}, "is not set"), ({"GATE_TEST_WEBHOOK_SECRET": "short"}, "fewer than 16")])
def test_a_missing_or_short_webhook_secret_is_refused(tmp_path, app_key, environ, expected):
    path = server_yaml(tmp_path, "https://api.github.com", app_key[0], "auto")
    with pytest.raises(ConfigError, match=expected):
        load_server_config(path, environ)


@pytest.mark.parametrize("value", ["../gate.yaml", "/etc/gate.yaml", "a/../../gate.yaml"])
def test_config_path_must_stay_in_the_repository(tmp_path, app_key, value):
    path = server_yaml(tmp_path, "https://api.github.com", app_key[0], "auto")
    path.write_text(path.read_text().replace("  report_url:", f"  config_path: {value!r}\n  report_url:"))
    with pytest.raises(ConfigError, match="inside the repository"):
        load_server_config(path, ENV)
