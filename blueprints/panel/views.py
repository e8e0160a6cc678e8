"""HTTP pages of the live panel room."""
from blueprints.panel import bp  # noqa: F401
