"""The migrations build exactly the schema the models describe."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_upgrade_then_check_finds_no_drift(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}",
        "SECRET_KEY": "migration-test-secret-key-123456",
        "SOCKETIO_ASYNC_MODE": "threading",
    }
    flask = [sys.executable, "-m", "flask", "--app", "app", "db"]
    up = subprocess.run(flask + ["upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    check = subprocess.run(flask + ["check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
