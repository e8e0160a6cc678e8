"""The Socket.IO namespace ``/panel``: one handler per event (docs/panel-protocol.md)."""
from flask_login import current_user
from flask_socketio import Namespace


class PanelNamespace(Namespace):
    """Live panel room events."""

    def on_connect(self, auth=None):
        """Refuse a socket without a logged-in session."""
        if not current_user.is_authenticated:
            return False
        return None
