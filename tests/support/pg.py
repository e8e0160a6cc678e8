"""A throwaway PostgreSQL server for tests, started in a temporary directory and removed after.

The server binaries are Debian's (``/usr/lib/postgresql/<version>/bin``, from the ``postgresql``
package that ``make system-test-deps`` installs where allowed) or ``initdb`` on the PATH. The
cluster listens on a free 127.0.0.1 port with its Unix socket in the temporary directory, so it
never meets a PostgreSQL the machine already runs. PostgreSQL refuses to run as root: under root
the cluster belongs to the ``postgres`` system user and its commands run through ``runuser``.

The application connects over TCP as an ordinary role with a password (scram-sha-256), as in
production; only the setup connects as superuser through the socket. The server's time zone is
deliberately far from UTC, so a timestamp stored by way of the server's zone shows up as wrong.

Without the binaries the tests that need them skip and say what is missing; under ``CI=true``
they fail instead, so CI cannot silently run without PostgreSQL.
"""
from __future__ import annotations

import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

HOST = "127.0.0.1"
SUPERUSER = "postgres"
ROLE = "colloquy"
PASSWORD = "colloquy-test-password"
DATABASE = "colloquy"
SERVER_TIMEZONE = "Pacific/Auckland"
START_SECONDS = 30
STOP_SECONDS = 15
COMMAND_SECONDS = 120
# A throwaway cluster need not survive a crash; without syncing it starts and writes faster.
SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "timezone": SERVER_TIMEZONE,
    # A test that leaves a lock behind fails after this instead of hanging.
    "lock_timeout": "20s",
}


class PostgresMissing(RuntimeError):
    """What is missing to run a PostgreSQL server here."""


def missing(what: str):
    """Skip the test naming what is missing; under CI=true, fail instead."""
    message = f"PostgreSQL tests need {what}"
    if os.environ.get("CI") == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _version(initdb: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", Path(initdb).parent.parent.name))


def server_bin_dir() -> Path | None:
    """The newest Debian PostgreSQL's bin directory, else the one of ``initdb`` on the PATH."""
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    found = debian[-1] if debian else shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Cluster:
    """One PostgreSQL cluster in its own temporary directory: ``start()``, ``url()``, ``stop()``."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.run_as = self._system_user()
        self.dir = Path(tempfile.mkdtemp(prefix="colloquy-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = 0
        if self.run_as is not None:
            os.chown(self.dir, self.run_as.pw_uid, self.run_as.pw_gid)

    @staticmethod
    def _system_user():
        """The ``postgres`` account when running as root (PostgreSQL will not run as root)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(SUPERUSER)
        except KeyError:
            raise PostgresMissing(
                "the 'postgres' system user to run the server as (Debian's postgresql package creates it)"
            ) from None

    def _run(self, tool: str, *args: str, timeout: float = COMMAND_SECONDS) -> subprocess.CompletedProcess:
        command = [str(self.bin_dir / tool), *args]
        if self.run_as is not None:
            command = ["runuser", "-u", self.run_as.pw_name, "--", *command]
        return subprocess.run(command, cwd=self.dir, capture_output=True, text=True, timeout=timeout)

    def start(self, attempts: int = 3) -> "Cluster":
        """Create the cluster, start it on a free port, and create the application's role and database."""
        done = self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "--encoding=UTF8", "--locale=C",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync",
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed:\n{done.stdout}{done.stderr}")
        for _ in range(attempts):
            self.port = free_port()
            if self._start_server():
                break
        else:
            raise RuntimeError(f"PostgreSQL did not start:\n{self.server_log()}")
        self.admin(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        self.create_database(DATABASE)
        return self

    def _start_server(self) -> bool:
        """Start on ``self.port``; False when the port was taken meanwhile."""
        settings = {**SERVER_SETTINGS, "port": str(self.port)}
        options = " ".join(f"-c {key}={shlex.quote(value)}" for key, value in settings.items())
        options += f" -k {shlex.quote(str(self.dir))}"
        done = self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(START_SECONDS),
            "-o", options, timeout=START_SECONDS + 10,
        )
        if done.returncode == 0:
            return True
        if "already in use" in self.server_log():
            return False
        raise RuntimeError(f"pg_ctl start failed:\n{done.stdout}{done.stderr}\n{self.server_log()}")

    def stop_server(self) -> None:
        """Stop the server (fast shutdown: sessions are cut off) and keep the data, for an outage."""
        done = self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", str(STOP_SECONDS),
                         timeout=STOP_SECONDS + 10)
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed:\n{done.stdout}{done.stderr}")

    def start_server(self) -> None:
        """Start the stopped server again on the same port."""
        if not self._start_server():
            raise RuntimeError(f"PostgreSQL did not start again on port {self.port}:\n{self.server_log()}")

    def server_log(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else "(no server log)"

    def admin(self, sql: str, database: str = "postgres") -> None:
        """Run one statement as superuser through the cluster's Unix socket (autocommit)."""
        import psycopg

        with psycopg.connect(
            host=str(self.dir), port=self.port, user=SUPERUSER, dbname=database, autocommit=True,
            connect_timeout=10,
        ) as connection:
            connection.execute(sql)

    def create_database(self, name: str) -> str:
        """A new empty database owned by the application's role; its URL."""
        self.admin(f'CREATE DATABASE "{name}" OWNER {ROLE}')
        return self.url(name)

    def url(self, database: str = DATABASE) -> str:
        """The ``postgresql://`` URL the application is configured with (DATABASE_URL)."""
        return f"postgresql://{ROLE}:{PASSWORD}@{HOST}:{self.port}/{database}"

    def stop(self) -> None:
        """Stop the server at once (no checkpoint: the data is thrown away) and remove the directory."""
        try:
            if (self.data / "postmaster.pid").exists():
                done = self._run(
                    "pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w", "-t", str(STOP_SECONDS),
                    timeout=STOP_SECONDS + 10,
                )
                if done.returncode != 0:
                    self._kill_postmaster()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        """The server this cluster started, by the PID in its own pid file."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Database:
    """One database of the session's cluster, for one test module: its URL, and the cluster's
    server to stop and start again (an outage every user of the server sees)."""

    def __init__(self, cluster: Cluster, name: str):
        self.cluster, self.name = cluster, name
        cluster.create_database(name)

    def url(self) -> str:
        return self.cluster.url(self.name)

    def stop_server(self) -> None:
        self.cluster.stop_server()

    def start_server(self) -> None:
        self.cluster.start_server()


def start_cluster() -> Cluster:
    """A started PostgreSQL server (skips, or fails under CI=true, without one)."""
    bin_dir = server_bin_dir()
    if bin_dir is None:
        missing("initdb (none under /usr/lib/postgresql/*/bin/ or on the PATH; "
                "make system-test-deps installs Debian's postgresql package)")
    try:
        cluster = Cluster(bin_dir)
    except PostgresMissing as exc:
        missing(str(exc))
    try:
        return cluster.start()
    except BaseException:
        cluster.stop()
        raise
