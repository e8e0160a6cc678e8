"""Flask extension objects, created unbound and initialised in ``create_app``."""
from __future__ import annotations

import time

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import ConnectionRefusedError, SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from core import logging as colloquy_logging


class Base(DeclarativeBase):
    pass


def _outcome(result) -> str:
    """What a handler's answer says: ``ok``, the error code of an error ack, or ``refused``."""
    if result is False:
        return "refused"
    if isinstance(result, dict) and result.get("ok") is False:
        return str(result.get("error", "error"))
    return "ok"


class LoggedSocketIO(SocketIO):
    """Flask-SocketIO writing one access line per handled event: name, outcome, duration.

    ``_handle_event`` is where Flask-SocketIO runs every handler (decorated functions and
    namespace methods alike) inside the socket's request context.
    """

    def _handle_event(self, handler, message, namespace, sid, *args):
        environ = self.server.get_environ(sid, namespace=namespace) or {}
        app = environ.get("flask.app")
        if app is None or not app.config.get("ACCESS_LOG"):
            return super()._handle_event(handler, message, namespace, sid, *args)
        started, outcome = time.perf_counter(), "error"
        try:
            result = super()._handle_event(handler, message, namespace, sid, *args)
            outcome = _outcome(result)
            return result
        except ConnectionRefusedError:
            outcome = "refused"
            raise
        finally:
            with colloquy_logging.event_context(str(message), sid):
                colloquy_logging.socket_event(str(message), sid, outcome, (time.perf_counter() - started) * 1000)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
socketio = LoggedSocketIO()
