"""Logging in: Desk's own page, and repeated failures throttled."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()
    yield
    cache.clear()


def test_failed_logins_are_throttled(client, agent):
    for _ in range(5):
        assert client.post("/login/", {"username": "maya", "password": "wrong"}).status_code == 200
    response = client.post("/login/", {"username": "maya", "password": "pw-maya-123"})
    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_other_users_are_not_locked_out_by_one_users_failures(client, agent, other_agent):
    for _ in range(5):
        client.post("/login/", {"username": "maya", "password": "wrong"})
    response = client.post("/login/", {"username": "sam", "password": "pw-sam-123"})
    assert response.status_code == 302


def test_a_success_resets_the_count(client, agent):
    for _ in range(4):
        client.post("/login/", {"username": "maya", "password": "wrong"})
    assert (
        client.post("/login/", {"username": "maya", "password": "pw-maya-123"}).status_code == 302
    )
    client.post("/logout/")
    for _ in range(4):
        client.post("/login/", {"username": "maya", "password": "wrong"})
    assert (
        client.post("/login/", {"username": "maya", "password": "pw-maya-123"}).status_code == 302
    )


def test_the_deploy_checks_pass_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "desk.example.com",
        "DESK_VAR_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DEBUG="false", ALLOWED_HOSTS="desk.example.com", DESK_VAR_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_a_bad_setting_value_names_the_variable(tmp_path):
    env = {**os.environ, "DEBUG": "maybe", "DESK_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DEBUG must be true or false" in result.stderr
