"""The live panel room: HTTP pages and the Socket.IO namespace."""
from flask import Blueprint

bp = Blueprint("panel", __name__)


def init_socketio(socketio):
    """Register the panel namespace on the Socket.IO server."""
