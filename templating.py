"""Template filters and globals, so pages ask the same policy the views do."""
from flask import Flask

import policy
from timeutil import format_local, iso, now_utc


def init_app(app: Flask) -> None:
    """Expose time formatting and the policy module to templates."""

    @app.template_filter("local")
    def local_filter(dt, course):
        return format_local(dt, course.timezone)

    @app.template_filter("iso")
    def iso_filter(dt):
        return iso(dt)

    app.jinja_env.globals.update(policy=policy, now_utc=now_utc)
