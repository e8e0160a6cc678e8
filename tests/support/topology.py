"""nginx as the production topology runs it, for tests and benchmarks: started on 127.0.0.1 in a
directory of its own and stopped by its PID (Redis is ``tests.support.panel.RedisServer``).

nginx runs with the repository's own site file, ``deploy/nginx/colloquy.conf``, unchanged: a
minimal main configuration in the run's directory includes it, and the two files it includes
(``colloquy/upstream.conf``, ``colloquy/listen.conf``, named relative to the main
configuration's folder as on a Debian host) are written here for the run's ports.

Nothing here imports eventlet or gevent. ``bench/panel_load.py --proxy`` uses it too.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SITE_FILE = ROOT / "deploy" / "nginx" / "colloquy.conf"
ROUTE_COOKIE = "colloquy_route"
HOST = "127.0.0.1"
# The site file's log format: the route and the upstream addresses nginx tried, last one answered.
ACCESS_LINE = re.compile(r'route=(?P<route>\S+) upstream="(?P<upstream>[^"]*)"')
WAIT = 20  # seconds: the bound on every wait for a part to start or stop

MAIN_CONF = """\
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{
    worker_connections {connections};
}}
http {{
    client_body_temp_path {directory}/tmp/body;
    proxy_temp_path {directory}/tmp/proxy;
    fastcgi_temp_path {directory}/tmp/fastcgi;
    uwsgi_temp_path {directory}/tmp/uwsgi;
    scgi_temp_path {directory}/tmp/scgi;
    include {site};
}}
"""

LISTEN_CONF = """\
listen {host}:{port};
server_name localhost;
access_log {directory}/access.log colloquy;
"""


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def find_program(name: str, *places: str) -> str | None:
    """A program on the PATH, else the first of ``places`` that exists (Debian keeps nginx in
    /usr/sbin, which a non-root PATH may lack)."""
    found = shutil.which(name)
    if found:
        return found
    return next((place for place in places if os.access(place, os.X_OK)), None)


def nginx_binary() -> str | None:
    return find_program("nginx", "/usr/sbin/nginx")


def redis_binary() -> str | None:
    return find_program("redis-server", "/usr/bin/redis-server", "/usr/sbin/redis-server")


def _wait(predicate, what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _stop(proc: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    """Stop one process we started, by its PID; kill it if it lingers."""
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, sig)
    try:
        proc.wait(WAIT)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)


class Nginx:
    """nginx with ``deploy/nginx/colloquy.conf`` in front of ``upstream_ports``, on ``port``."""

    def __init__(self, binary: str, directory: Path, upstream_ports: list[int], port: int | None = None,
                 connections: int = 1024):
        self.binary, self.directory = binary, directory
        self.upstream_ports = list(upstream_ports)
        self.port = port or free_port()
        self.connections = connections
        self.base = f"http://{HOST}:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.render()

    @property
    def access_log(self) -> Path:
        return self.directory / "access.log"

    def render(self) -> Path:
        """Write the main configuration and the site file's two includes (the upstream lines as
        ``deploy/nginx/upstream.conf.example`` writes them); returns the main file."""
        (self.directory / "tmp").mkdir(parents=True, exist_ok=True)
        (self.directory / "colloquy").mkdir(exist_ok=True)
        main = self.directory / "nginx.conf"
        main.write_text(MAIN_CONF.format(directory=self.directory, site=SITE_FILE,
                                         connections=self.connections, nofile=self.connections * 2 + 64))
        (self.directory / "colloquy" / "upstream.conf").write_text("".join(
            f"server {HOST}:{port} max_fails=0;\n" for port in self.upstream_ports))
        (self.directory / "colloquy" / "listen.conf").write_text(
            LISTEN_CONF.format(host=HOST, port=self.port, directory=self.directory))
        return main

    def command(self, *args: str) -> list[str]:
        return [self.binary, "-p", str(self.directory), "-c", str(self.directory / "nginx.conf"), *args]

    def check(self) -> str:
        """``nginx -t`` on the rendered configuration; its output (raises if it is refused)."""
        done = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=WAIT)
        if done.returncode != 0:
            raise AssertionError(f"nginx refused the configuration:\n{done.stderr}")
        return done.stderr

    def start(self) -> "Nginx":
        self.check()
        with open(self.directory / "nginx.out", "ab") as out:
            # In the foreground, so the PID we hold is the master's.
            self.proc = subprocess.Popen(self.command("-g", "daemon off;"), stdout=out, stderr=subprocess.STDOUT)
        _wait(self._listening, f"nginx on port {self.port}")
        return self

    def _listening(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError("nginx exited:\n" + (self.directory / "error.log").read_text()[-2000:])
        try:
            with socket.create_connection((HOST, self.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        # SIGQUIT: a graceful shutdown of the master and its workers.
        _stop(self.proc, signal.SIGQUIT)

    def upstream_of(self, marker: str) -> str | None:
        """The process (``host:port``) that answered the request whose line names ``marker``;
        None while nginx has not logged it yet (it logs after answering) or answered itself."""
        if self.access_log.exists():
            for line in self.access_log.read_text().splitlines():
                found = ACCESS_LINE.search(line)
                if marker in line and found and found["upstream"] not in ("", "-"):
                    return found["upstream"].replace(" : ", ", ").split(", ")[-1]
        return None

    def served_by(self) -> dict[str, str]:
        """For each route cookie in the access log, the process (``host:port``) that answered its
        latest request."""
        served = {}
        if self.access_log.exists():
            for line in self.access_log.read_text().splitlines():
                found = ACCESS_LINE.search(line)
                if found and found["upstream"] not in ("", "-"):
                    served[found["route"]] = found["upstream"].replace(" : ", ", ").split(", ")[-1]
        return served
