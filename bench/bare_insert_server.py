"""The bare Flask + SQLite stack the deadline crunch is measured against.

``python bench/bare_insert_server.py`` (environment: ``HOST``, ``PORT``, ``BARE_DATABASE``)
serves two routes and nothing else: ``GET /form`` returns a small form page, and
``POST /submit`` inserts the posted review fields as one row, commits, and redirects, like a
review submission without sessions, authorisation, CSRF, revisions or audit. It is served
exactly as ``app.py``'s ``serve()`` serves Colloquy: eventlet monkey-patched first, a listening
socket with a backlog of 2048, ``gc.freeze()``, ``eventlet.wsgi.server``.
"""
import os

if __name__ == "__main__":
    import eventlet

    eventlet.monkey_patch()

import sqlite3  # noqa: E402

from flask import Flask, abort, redirect, request  # noqa: E402

FIELDS = ("user", "summary", "strengths", "weaknesses", "questions", "score", "confidence")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS reviews (id INTEGER PRIMARY KEY, user TEXT UNIQUE NOT NULL, "
    "summary TEXT, strengths TEXT, weaknesses TEXT, questions TEXT, score INTEGER, "
    "confidence INTEGER, submitted_at TEXT DEFAULT CURRENT_TIMESTAMP)"
)


def connect(path: str) -> sqlite3.Connection:
    """One connection with the pragmas Colloquy uses (WAL, synchronous=NORMAL)."""
    connection = sqlite3.connect(path, timeout=30, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(SCHEMA)
    connection.commit()
    return connection


def create_app(path: str) -> Flask:
    """The two-route app on the SQLite file at ``path``."""
    app = Flask(__name__)
    connection = connect(path)

    @app.get("/form")
    def form():
        """A form page about the size of a token-carrying page."""
        return '<form method="post" action="/submit"><input name="csrf_token" value="x"></form>'

    @app.post("/submit")
    def submit():
        """Insert one review row and redirect to it."""
        values = [request.form.get(name, "") for name in FIELDS]
        if not values[0]:
            abort(400)
        cursor = connection.execute(
            f"INSERT INTO reviews ({', '.join(FIELDS)}) VALUES ({', '.join('?' * len(FIELDS))})", values
        )
        connection.commit()
        return redirect(f"/done/{cursor.lastrowid}")

    return app


def serve() -> None:
    """Serve like ``python app.py`` does with eventlet."""
    import gc

    import eventlet.wsgi

    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5056"))
    app = create_app(os.environ["BARE_DATABASE"])
    listener = eventlet.listen((host, port), backlog=2048)
    gc.freeze()
    eventlet.wsgi.server(listener, app, log_output=False, max_size=4096)


if __name__ == "__main__":
    serve()
