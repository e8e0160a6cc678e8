"""Several ``python app.py`` processes (eventlet) on one SQLite file, joined by a redis-server of
their own: the Socket.IO message queue in db 0, the rate-limit counters in db 1 (SPEC §5).

Every process is started on 127.0.0.1 and stopped by its own PID; without redis-server the
tests skip and say so, under CI=true they fail.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from tests.support.live_server import Participant, Server, free_port, login, prepare_database, program, server_env
from tests.support.panel import RedisServer


@contextmanager
def own_redis(directory: Path):
    """A redis-server on a free loopback port, without persistence, killed afterwards."""
    redis = RedisServer(program("redis-server"), free_port(), directory).start()
    try:
        yield redis
    finally:
        redis.kill()


@contextmanager
def app_processes(directory: Path, queue_port: int, names: dict[str, dict], **settings: str):
    """One server per entry of ``names`` (name → extra environment) on one database with the
    panel cast, all using the Redis on ``queue_port`` unless their extra says otherwise.

    Yields (servers in the order given, the cast's data, the shared environment). The servers
    boot at once; on leaving, none of their logs may hold a traceback.
    """
    env = server_env(
        directory / "panel.sqlite3",
        SOCKETIO_ASYNC_MODE="eventlet",
        SOCKETIO_MESSAGE_QUEUE=redis_url(queue_port, 0),
        RATELIMIT_STORAGE_URI=redis_url(queue_port, 1),
        **settings,
    )
    data = prepare_database(env)
    servers = [Server({**env, **extra, "PORT": str(free_port())}, directory / f"server-{name}.log")
               for name, extra in names.items()]
    try:
        for server in servers:
            server.launch()
        for server in servers:
            server.wait_up()
        yield servers, data, env
        for server in servers:
            assert "Traceback" not in server.log.read_text(), server.log.read_text()[-3000:]
    finally:
        for server in servers:
            server.kill()


def redis_url(port: int, db: int) -> str:
    """The URL of one database number of the Redis (or proxy) on this loopback port."""
    return f"redis://127.0.0.1:{port}/{db}"


@contextmanager
def room_people(login_base: str, data: dict):
    """``connect(key, server, http=None)``: the cast member ``key`` logged in over HTTP (on
    ``login_base``, unless a session is given) and joined to the room on ``server``; every
    socket is closed on leaving."""
    opened: list[Participant] = []

    def connect(key: str, server: Server, http=None) -> Participant:
        participant = Participant(server.base, http or login(login_base, data["emails"][key]), data["room_id"])
        participant.connect()
        opened.append(participant)
        return participant

    try:
        yield connect
    finally:
        for participant in opened:
            participant.close()
