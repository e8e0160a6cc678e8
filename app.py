"""Colloquy: the application factory, and ``python app.py`` to serve it with Socket.IO."""
import gc
import os
import warnings

# eventlet is the default server by design and kept working alongside gevent; its
# import-time deprecation notice would only clutter every command's output.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

if __name__ == "__main__":
    # Patch the standard library before Flask, SQLAlchemy or a driver is imported,
    # so database calls yield to other connections.
    _mode = os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet")
    if _mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    elif _mode == "gevent":
        from gevent import monkey

        monkey.patch_all()

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

import cli
import errors
import security
import sqlite_checkpoint
import templating
from config import load_config
from extensions import csrf, db, limiter, login_manager, migrate, socketio


def create_app(test_config=None):
    """Create and configure a Colloquy application."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(app.instance_path))
    if test_config:
        app.config.update(test_config)

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, render_item=_render_migration_item)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    _init_socketio(app)

    security.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    cli.init_app(app)
    _register_blueprints(app)
    return app


def _render_migration_item(type_, obj, autogen_context):
    """Write UTCDateTime columns into migrations as plain DateTime (no import of models)."""
    if type_ == "type" and obj.__class__.__name__ == "UTCDateTime":
        return "sa.DateTime()"
    return False


def _init_socketio(app):
    from blueprints.panel.manager import client_manager

    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        # The message queue's manager (None: in-process); always given, so an app created
        # after one with a queue does not inherit that queue's manager.
        client_manager=client_manager(app, app.config["SOCKETIO_MESSAGE_QUEUE"]),
        cors_allowed_origins=app.config["SOCKETIO_ALLOWED_ORIGINS"],
        max_http_buffer_size=app.config["SOCKET_MAX_PAYLOAD"],
        manage_session=False,
        logger=False,
        engineio_logger=False,
    )


def _register_blueprints(app):
    from blueprints import auth, courses, integrity, panel, papers, reviews, schedule, search

    for module in (auth, courses, papers, schedule, reviews, integrity, search, panel):
        app.register_blueprint(module.bp)
    panel.init_socketio(socketio)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL and foreign keys for SQLite; other databases are left alone."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


# Young collections every 50,000 allocations instead of 700: with a class of sockets alive, the
# full collections that follow them took up to 70 ms and showed as the live room's p99
# (bench/panel_load.py at 1,000 clients: p99 392 ms before, 252 ms after).
GC_THRESHOLD = (50_000, 20, 20)


def tune_gc() -> None:
    """Freeze what start-up allocated and make collections rarer."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def serve():
    """Serve the app with the configured async mode (eventlet by default)."""
    app = create_app()
    host, port = app.config["HOST"], app.config["PORT"]
    mode = app.config["SOCKETIO_ASYNC_MODE"]
    cli.print_banner(app, host, port)
    with app.app_context():
        sqlite_checkpoint.start(db.engine, mode)  # no request waits for a checkpoint's fsync
    tune_gc()
    if mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        # socketio.run listens with a backlog of 50; a class opening the room at once needs more.
        listener = eventlet.listen((host, port), backlog=2048)
        eventlet.wsgi.server(listener, app, log_output=False, max_size=4096)
    else:
        socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=(mode == "threading"))


if __name__ == "__main__":
    serve()
