"""All time flows through here: UTC in storage, the course's zone on screen."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def now_utc() -> datetime:
    """The current instant, aware, in UTC (tests move it with time-machine)."""
    return datetime.now(timezone.utc)


def zone(name: str) -> ZoneInfo:
    """The ZoneInfo for a course's zone name; UTC when the name is unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_valid_zone(name: str) -> bool:
    """True when ``name`` is an IANA time zone this machine knows."""
    return name in available_timezones()


def local(dt: datetime, zone_name: str) -> datetime:
    """``dt`` (aware) expressed in the given zone."""
    return dt.astimezone(zone(zone_name))


def format_local(dt: datetime | None, zone_name: str) -> str:
    """A deadline as people read it, with the zone named: 'Tue 3 Feb 2026, 23:59 EST'."""
    if dt is None:
        return "—"
    loc = local(dt, zone_name)
    return f"{loc:%a} {loc.day} {loc:%b %Y, %H:%M} {loc.tzname()}"


def local_to_utc(day: date, at: time, zone_name: str) -> datetime:
    """A wall-clock time in the course's zone, as a UTC instant (DST-aware)."""
    return datetime.combine(day, at, tzinfo=zone(zone_name)).astimezone(timezone.utc)


def parse_local_input(value: str, zone_name: str) -> datetime:
    """Parse an HTML datetime-local value typed in the course's zone into UTC."""
    naive = datetime.fromisoformat(value)
    if naive.tzinfo is not None:
        return naive.astimezone(timezone.utc)
    return naive.replace(tzinfo=zone(zone_name)).astimezone(timezone.utc)


def to_local_input(dt: datetime | None, zone_name: str) -> str:
    """A UTC instant as an HTML datetime-local value in the course's zone."""
    if dt is None:
        return ""
    return local(dt, zone_name).strftime("%Y-%m-%dT%H:%M")


def default_review_deadline(session_start: datetime, zone_name: str) -> datetime:
    """23:59 course time on the day before the session, as UTC."""
    session_day = local(session_start, zone_name).date()
    return local_to_utc(session_day - timedelta(days=1), time(23, 59), zone_name)


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, for JSON and countdown scripts."""
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
