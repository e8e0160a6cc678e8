"""Each person's choice per notification type and channel, and their digest hour and zone."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Optional

from sqlalchemy import select

from core.extensions import db
from core.timeutil import is_valid_zone, local, local_to_utc
from domain.errors import Invalid
from domain.notifications.kinds import KINDS
from models import NotificationPreference, NotificationSettings, NotifyChannel, NotifyMode

# In-app notices are listed or not; a digest is an e-mail.
CHANNEL_MODES = {
    NotifyChannel.IN_APP: (NotifyMode.NOW, NotifyMode.OFF),
    NotifyChannel.EMAIL: (NotifyMode.NOW, NotifyMode.DIGEST, NotifyMode.OFF),
}
DEFAULT_DIGEST_HOUR = 8


def mode_for(user_id: int, kind: str, channel: str) -> str:
    """The person's mode for one type on one channel; ``now`` unless they chose otherwise."""
    chosen = db.session.scalar(
        select(NotificationPreference.mode).where(
            NotificationPreference.user_id == user_id,
            NotificationPreference.kind == kind,
            NotificationPreference.channel == channel,
        )
    )
    return chosen or NotifyMode.NOW


def modes_of(user_id: int) -> dict[tuple[str, str], str]:
    """Every (type, channel) → mode for the person, defaults filled in."""
    rows = db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
    chosen = {(r.kind, r.channel): r.mode for r in rows}
    return {(k, c): chosen.get((k, c), NotifyMode.NOW) for k in KINDS for c in CHANNEL_MODES}


def set_mode(user_id: int, kind: str, channel: str, mode: str) -> None:
    """Record one choice (flushed)."""
    if kind not in KINDS or channel not in CHANNEL_MODES or mode not in CHANNEL_MODES[channel]:
        raise Invalid("Choose one of the offered settings.")
    row = db.session.scalar(
        select(NotificationPreference).where(
            NotificationPreference.user_id == user_id,
            NotificationPreference.kind == kind,
            NotificationPreference.channel == channel,
        )
    )
    if row is None:
        row = NotificationPreference(user_id=user_id, kind=kind, channel=channel)
        db.session.add(row)
    row.mode = mode
    db.session.flush()


def settings_of(user_id: int) -> NotificationSettings:
    """The person's digest settings (a transient default row when they never saved any)."""
    row = db.session.scalar(select(NotificationSettings).where(NotificationSettings.user_id == user_id))
    return row or NotificationSettings(user_id=user_id, digest_hour=DEFAULT_DIGEST_HOUR, timezone="")


def save_settings(user_id: int, digest_hour: int, zone_name: str) -> NotificationSettings:
    """Store the digest hour (0–23) and zone (empty: the course's)."""
    if not 0 <= digest_hour <= 23:
        raise Invalid("The digest hour is between 0 and 23.")
    if zone_name and not is_valid_zone(zone_name):
        raise Invalid("Choose a time zone from the list.")
    row = db.session.scalar(select(NotificationSettings).where(NotificationSettings.user_id == user_id))
    if row is None:
        row = NotificationSettings(user_id=user_id)
        db.session.add(row)
    row.digest_hour, row.timezone = digest_hour, zone_name
    db.session.flush()
    return row


def digest_zone(user_id: int, course_zone: Optional[str]) -> str:
    """The zone a person's digest hour is read in: theirs, else their course's, else UTC."""
    return settings_of(user_id).timezone or course_zone or "UTC"


def next_digest(now: datetime, hour: int, zone_name: str) -> tuple[date, datetime]:
    """The local day and UTC instant of the next digest at ``hour``:00 local time, at or after ``now``.

    The instant is computed from the local wall clock of that day, so it stays at 08:00 local
    on both sides of a daylight-saving change (07:00 or 08:00 UTC in Europe, for example)."""
    day = local(now, zone_name).date()
    at = local_to_utc(day, time(hour), zone_name)
    if at < now:
        day += timedelta(days=1)
        at = local_to_utc(day, time(hour), zone_name)
    return day, at
