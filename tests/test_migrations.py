"""The migrations build exactly the schema the models describe."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_upgrade_then_check_finds_no_drift(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'm.sqlite3'}",
        "SECRET_KEY": "migration-test-secret-key-123456",
        "SOCKETIO_ASYNC_MODE": "threading",
    }
    flask = [sys.executable, "-m", "flask", "--app", "app", "db"]
    up = subprocess.run(flask + ["upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    check = subprocess.run(flask + ["check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr


# --------------------------------------------------------------------------- data survives

import datetime as _dt  # noqa: E402

import pytest  # noqa: E402
from sqlalchemy import JSON, Boolean, Date, DateTime, Float, Integer, Numeric, String, Text, create_engine, func, inspect, select  # noqa: E402,E501

from core.config import load_config  # noqa: E402
from core.extensions import db  # noqa: E402
import models  # noqa: E402,F401  (the tables, on db.metadata)

WHEN = _dt.datetime(2026, 3, 4, 5, 6, 7)
FORCE = ["-x", "force_drop_all=yes"]


def _flask_db(url: str, *args: str) -> subprocess.CompletedProcess:
    """``flask --app app db <args>`` in a subprocess on DATABASE_URL ``url``."""
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": url, "SECRET_KEY": "migration-test-secret-key-123456",
           "SOCKETIO_ASYNC_MODE": "threading"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def _value(column, inserted: dict):
    """A value for ``column`` in the one row of its table: the referenced table's row for a
    foreign key, else a value of the column's type."""
    if column.foreign_keys:
        target = next(iter(column.foreign_keys)).column.table.name
        return inserted.get(target) if target != column.table.name else None
    kind = column.type
    if hasattr(kind, "impl"):  # a TypeDecorator (UTCDateTime): aware values of its base type
        return WHEN.replace(tzinfo=_dt.timezone.utc) if isinstance(kind.impl, DateTime) else _value_of(kind.impl, column)
    return _value_of(kind, column)


def _value_of(kind, column):
    enums = getattr(kind, "enums", None)
    if enums:
        return enums[0]
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, (Integer, Numeric, Float)):
        return 1
    if isinstance(kind, DateTime):
        return WHEN
    if isinstance(kind, Date):
        return WHEN.date()
    if isinstance(kind, JSON):
        return {"kept": True}
    if isinstance(kind, (String, Text)):
        return column.name[: getattr(kind, "length", None) or 200]
    if column.nullable:
        return None
    raise AssertionError(f"no test value for {column.table.name}.{column.name} ({kind!r})")


def _fill_every_table(engine) -> None:
    """One row in every table of the models, parents first."""
    inserted: dict[str, int] = {}
    with engine.begin() as connection:
        for table in db.metadata.sorted_tables:
            row = {c.name: _value(c, inserted) for c in table.columns if not (c.primary_key and c.autoincrement)}
            result = connection.execute(table.insert().values(row))
            key = result.inserted_primary_key
            inserted[table.name] = key[0] if key else None


def _counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {t.name: connection.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _sqlalchemy_url(url: str) -> str:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DATABASE_URL", url)
        mp.setenv("SECRET_KEY", "migration-test-secret-key-123456")
        return load_config("/nonexistent")["SQLALCHEMY_DATABASE_URI"]


def _upgrade_keeps_every_row(url: str) -> None:
    up = _flask_db(url, "upgrade")
    assert up.returncode == 0, up.stderr
    engine = create_engine(_sqlalchemy_url(url))
    try:
        _fill_every_table(engine)
        before = _counts(engine)
        assert before and set(before.values()) == {1}, before
        again = _flask_db(url, "upgrade")
        assert again.returncode == 0, again.stderr
        assert "Running upgrade" not in again.stderr  # at head: nothing to do
        assert _counts(engine) == before
    finally:
        engine.dispose()


def test_upgrade_again_keeps_a_row_in_every_table(tmp_path):
    _upgrade_keeps_every_row(f"sqlite:///{tmp_path / 'kept.sqlite3'}")


@pytest.mark.slow
def test_upgrade_again_keeps_a_row_in_every_table_on_postgres(pg_cluster):
    _upgrade_keeps_every_row(pg_cluster.create_database("migrations_kept"))


# "-N" with N the number of revisions: the whole chain, the initial revision included.
EVERY_STEP = f"-{len(list((Path(__file__).resolve().parent.parent / 'migrations' / 'versions').glob('*.py')))}"


@pytest.mark.parametrize("target", ["base", EVERY_STEP])
def test_downgrading_past_the_initial_revision_refuses_and_keeps_the_data(tmp_path, target):
    url = f"sqlite:///{tmp_path / 'guarded.sqlite3'}"
    _upgrade_keeps_every_row(url)
    engine = create_engine(url)
    try:
        before = _counts(engine)
        refused = _flask_db(url, "downgrade", "--", target) if target.startswith("-") else _flask_db(url, "downgrade", target)
        assert refused.returncode != 0
        assert "refusing to downgrade below the initial revision" in refused.stderr
        assert "Running downgrade" not in refused.stderr  # refused before any step ran
        assert _counts(engine) == before

        one_step = _flask_db(url, "downgrade", "--", "-1")  # above the initial revision: allowed
        assert one_step.returncode == 0, one_step.stderr
        assert _flask_db(url, "upgrade").returncode == 0

        forced = _flask_db(url, "downgrade", *FORCE, "base")
        assert forced.returncode == 0, forced.stderr
        engine.dispose()
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
