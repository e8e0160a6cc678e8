"""``flask notify run-due``: one run of the sender, for cron or a systemd timer."""
from __future__ import annotations

import click

from blueprints.notifications import bp
from blueprints.notifications.sender import run_due


@bp.cli.command("run-due")
def run_due_command() -> None:
    """Queue due reminders, dispatch due notifications and send due e-mails, once."""
    result = run_due()
    click.echo(f"queued {result['queued']}, dispatched {result['dispatched']}, e-mails {result['emails']}")
