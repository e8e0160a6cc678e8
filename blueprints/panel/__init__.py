"""The live panel room: HTTP pages and the Socket.IO namespace ``/panel``."""
from flask import Blueprint

bp = Blueprint("panel", __name__)

from blueprints.panel import views  # noqa: E402,F401  (routes register on bp)


def init_socketio(socketio):
    """Register the panel namespace on the Socket.IO server."""
    from blueprints.panel.namespace import PanelNamespace

    socketio.on_namespace(PanelNamespace("/panel"))
