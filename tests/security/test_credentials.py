"""`make up`'s generated operator credential (deploy/credentials.py): made once, private, reused,
never printed, and accepted by a real web process."""

import logging
import stat
from pathlib import Path

import pytest

from core.settings import Settings
from deploy.credentials import TOKEN_FILE, operator_credential
from tests.conftest import StartProcess
from tests.security.support import web_client


def test_the_token_is_generated_once_private_and_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / ".stack"  # not there yet, as on a first `make up`
    caplog.set_level(logging.INFO, logger="deploy.up")
    first: dict[str, str] = {"PORT": "8123"}
    operator_credential(first, data_dir)
    token = first["OPERATOR_TOKEN"]
    path = data_dir / TOKEN_FILE
    assert path.read_text() == token + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(_env_file=None, operator_token=token).operator_token is not None
    (line,) = caplog.messages
    assert "http://127.0.0.1:8123/admin/" in line
    assert str(path) in line
    assert token not in line

    again: dict[str, str] = {}
    operator_credential(again, data_dir)
    assert again["OPERATOR_TOKEN"] == token
    assert [p.name for p in data_dir.iterdir()] == [TOKEN_FILE]  # nothing left aside


def test_a_token_the_user_set_wins_and_nothing_is_written(tmp_path: Path) -> None:
    env = {"OPERATOR_TOKEN": "mine-and-long-enough-1234"}
    operator_credential(env, tmp_path / ".stack")
    assert env == {"OPERATOR_TOKEN": "mine-and-long-enough-1234"}
    assert not (tmp_path / ".stack").exists()


def test_the_web_process_accepts_the_generated_token(start: StartProcess, tmp_path: Path) -> None:
    env: dict[str, str] = {}
    operator_credential(env, tmp_path / ".stack")
    with web_client(start, OPERATOR_TOKEN=env["OPERATOR_TOKEN"], VIEWER_TOKEN="") as (client, _):
        assert client.get("/admin/schedules").status_code == 401
        token = (tmp_path / ".stack" / TOKEN_FILE).read_text().strip()
        answer = client.get("/admin/schedules", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
