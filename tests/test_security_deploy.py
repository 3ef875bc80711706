"""Spec 8, production: no start on the public development key with DEBUG off, never one default
key for everybody; `check --deploy` is clean with the production variables the README documents;
a Content-Security-Policy header."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "SECRET_KEY": "Zq7-production-like-key-with-enough-entropy-9fK2mVx8LwQe3RtY6uIo",
    "ALLOWED_HOSTS": "support.example.com",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_PROXY_SSL_HEADER": "true",
}


def manage(tmp_path, *args, **env_vars):
    # Only the variables under test (a browser test may have set DJANGO_ALLOW_ASYNC_UNSAFE).
    dropped = ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        ESERVICE_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_debug_the_site_refuses_to_start_on_the_public_development_key(tmp_path):
    result = manage(tmp_path, "check", SECRET_KEY="dev-insecure-change-me-" + "x" * 32)
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is the public development key" in result.stderr


def test_debug_runs_on_the_development_key(tmp_path):
    key = "dev-insecure-change-me-" + "x" * 32
    assert manage(tmp_path, "check", DEBUG="true", SECRET_KEY=key).returncode == 0


def test_without_a_secret_key_one_is_generated_per_installation_and_kept(tmp_path):
    show = "from django.conf import settings as s; print(s.SECRET_KEY)"
    first = manage(tmp_path, "shell", "-c", show)
    second = manage(tmp_path, "shell", "-c", show)
    assert first.returncode == 0, first.stderr
    key = (tmp_path / "var" / "secret_key").read_text().strip()
    printed = {first.stdout.strip().splitlines()[-1], second.stdout.strip().splitlines()[-1]}
    assert printed == {key} and len(key) >= 50
    assert "dev-insecure" not in key
    assert oct((tmp_path / "var" / "secret_key").stat().st_mode)[-3:] == "600"
    elsewhere = manage(tmp_path / "other", "shell", "-c", show)
    assert elsewhere.stdout.strip().splitlines()[-1] != key  # never one key for everybody


def test_check_deploy_asks_for_a_shared_key_when_none_is_set(tmp_path):
    variables = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **variables)
    assert result.returncode != 0
    assert "eservice.W001" in result.stderr


def test_check_deploy_is_clean_with_the_documented_production_variables(tmp_path):
    result = manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout
    readme = (ROOT / "README.md").read_text()
    for name in PRODUCTION:
        assert f"`{name}`" in readme, name


def test_check_deploy_flags_a_site_without_them(tmp_path):
    result = manage(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=PRODUCTION["SECRET_KEY"],
    )
    assert result.returncode != 0
    assert "security.W004" in result.stderr and "security.W008" in result.stderr


def test_pages_carry_a_content_security_policy(client, db):
    response = client.get("/accounts/login/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
