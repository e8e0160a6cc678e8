"""Colloquy: the application factory, and ``python app.py`` to serve it with Socket.IO."""
import os
import warnings

# eventlet is the default server by design and kept working alongside gevent; its
# import-time deprecation notice would only clutter every command's output.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

if __name__ == "__main__":
    # Patch the standard library before Flask, SQLAlchemy or a driver is imported,
    # so database calls yield to other connections.
    from core import green

    green.patch(os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet"))

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from core import errors, logging, mail, proxy, safe_json, security, server, socket_guard, templating
from core.config import load_config
from core.extensions import csrf, db, limiter, login_manager, migrate, socketio
from domain.accounts import session_user_by_token, user_by_session_token


def create_app(test_config=None):
    """Create and configure a Colloquy application."""
    app = Flask(__name__, instance_relative_config=True)
    app.json = safe_json.SafeJSONProvider(app)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(load_config(app.instance_path))
    if test_config:
        app.config.update(test_config)
    logging.init_app(app)  # first, so every later hook's log lines name their request

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, render_item=_render_migration_item)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    _init_socketio(app)
    proxy.init_app(app)  # after Socket.IO, so its middleware sees the client's scheme and host

    mail.init_app(app)
    security.init_app(app, load_user=user_by_session_token, load_socket_user=session_user_by_token)
    errors.init_app(app)
    templating.init_app(app)

    _register_commands(app)
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
        cors_allowed_origins=proxy.socket_origin_check(app.config["SOCKETIO_ALLOWED_ORIGINS"]),
        max_http_buffer_size=app.config["SOCKET_MAX_PAYLOAD"],
        manage_session=False,
        json=safe_json,
        logger=logging.SOCKETIO_LOGGER,
        engineio_logger=logging.ENGINEIO_LOGGER,
    )
    socket_guard.install(socketio.server)


def _register_blueprints(app):
    from blueprints import (
        auth, common, courses, gradebook, health, integrity, notifications, panel, papers, project, reviews, schedule,
        search,
    )

    common.init_app(app)

    for module in (health, auth, courses, papers, schedule, reviews, integrity, search, project, gradebook, panel,
                   notifications):
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


def _register_commands(app):
    import demo.cli

    demo.cli.init_app(app)


def serve():
    """Serve the app with the configured async mode (eventlet by default)."""
    import demo.cli
    from blueprints.notifications import start_in_server

    app = create_app()
    start_in_server(app)
    server.serve(app, banner=demo.cli.banner)


if __name__ == "__main__":
    serve()
