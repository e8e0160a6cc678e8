"""Template filters: how instants are written on pages."""
from flask import Flask

from core.timeutil import format_local, iso


def init_app(app: Flask) -> None:
    """Register the time-formatting filters."""

    @app.template_filter("local")
    def local_filter(dt, course):
        return format_local(dt, course.timezone)

    @app.template_filter("in_zone")
    def in_zone_filter(dt, zone_name):
        return format_local(dt, zone_name or "UTC")

    @app.template_filter("iso")
    def iso_filter(dt):
        return iso(dt)
