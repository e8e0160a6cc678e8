"""Passwords are stored as argon2id hashes with production-strength parameters."""
import subprocess
import sys
from pathlib import Path

from core import passwords

ROOT = Path(__file__).resolve().parent.parent


def test_production_hasher_is_argon2id_with_strong_parameters():
    # In a fresh interpreter: the suite itself swaps in a cheap hasher for speed.
    out = subprocess.run(
        [sys.executable, "-c", "from core import passwords; print(passwords.hash_password('pw-123456789'))"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert out.startswith("$argon2id$v=19$")
    params = dict(p.split("=") for p in out.split("$")[3].split(","))
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 2


def test_verify_accepts_right_and_refuses_wrong_or_missing():
    stored = passwords.hash_password("right password")
    assert passwords.verify_password(stored, "right password")
    assert not passwords.verify_password(stored, "wrong password")
    assert not passwords.verify_password(None, "right password")
    assert not passwords.verify_password("not-a-hash", "right password")
