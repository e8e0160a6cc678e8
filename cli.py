"""Flask CLI commands: ``flask seed-demo``, ``flask create-instructor``."""
from __future__ import annotations

import click
from flask import Flask
from sqlalchemy import func, select

from extensions import db
from models import User


def print_banner(app: Flask, host: str, port: int) -> None:
    """Print where the server listens and the demo logins."""
    import demo

    print(f"\nColloquy is serving at http://{host}:{port}  (async mode: {app.config['SOCKETIO_ASYNC_MODE']})")
    with app.app_context():
        if db.session.scalar(select(func.count(User.id)).where(User.email.in_(demo.login_emails()))):
            print(demo.logins_text())
    print("Press Ctrl+C to stop.\n", flush=True)


def init_app(app: Flask) -> None:
    """Register the CLI commands."""

    @app.cli.command("seed-demo")
    @click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
    def seed_demo(if_empty: bool) -> None:
        """Load the demo course (the model-serving seminar)."""
        import demo

        if if_empty and db.session.scalar(select(func.count(User.id))):
            click.echo("Database already has data; demo not loaded.")
            return
        demo.load_demo()
        click.echo("Demo course loaded (logins are printed when the server starts).")
