"""``flask seed-demo`` and the demo logins printed when the server starts."""
from __future__ import annotations

import logging

import click
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from core.extensions import db
from demo.course import load_demo, login_emails, logins_text
from models import User

log = logging.getLogger(__name__)


def banner(app: Flask) -> str:
    """The demo logins, when the demo accounts exist in this database; never in production, and
    nothing (with a warning) while the database cannot be read."""
    if app.config["PRODUCTION"]:
        return ""
    with app.app_context():
        try:
            demo_accounts = db.session.scalar(select(func.count(User.id)).where(User.email.in_(login_emails())))
        except SQLAlchemyError as exc:
            db.session.rollback()
            log.warning("demo logins not shown: the database cannot be read (%s)", type(exc).__name__)
            return ""
        finally:
            db.session.remove()
    return logins_text() if demo_accounts else ""


def init_app(app: Flask) -> None:
    """Register ``flask seed-demo``."""

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
    def seed_demo(if_empty: bool) -> None:
        """Load the demo course (the model-serving seminar)."""
        if if_empty and db.session.scalar(select(func.count(User.id))):
            click.echo("Database already has data; demo not loaded.")
            return
        load_demo()
        click.echo("Demo course loaded (logins are printed when the server starts).")
