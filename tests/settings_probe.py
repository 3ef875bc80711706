"""Settings as a fresh process reads them from its environment (not this test process's)."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_probe(script: str, tmp_path, clear: tuple[str, ...], **env_vars) -> dict:
    """Run `script` with portal.settings, the variables in `clear` unset and `env_vars` set;
    return the JSON object its last line prints."""
    env = {k: v for k, v in os.environ.items() if k not in clear}
    env.update(DJANGO_SETTINGS_MODULE="portal.settings", ESERVICE_VAR_DIR=str(tmp_path / "var"))
    env.update(env_vars)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
