import logging
import os
from logging.config import fileConfig

from flask import current_app

from alembic import context
from alembic.util import CommandError

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)  # keep the app's loggers on
logger = logging.getLogger('alembic.env')


def get_engine():
    try:
        # this works with Flask-SQLAlchemy<3 and Alchemical
        return current_app.extensions['migrate'].db.get_engine()
    except (TypeError, AttributeError):
        # this works with Flask-SQLAlchemy>=3
        return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


FORCE_ARGUMENT = "force_drop_all"
FORCE_VARIABLE = "COLLOQUY_FORCE_DROP_ALL"


def _forced():
    """The operator asked to drop everything: ``-x force_drop_all=yes`` or the variable."""
    argument = context.get_x_argument(as_dictionary=True).get(FORCE_ARGUMENT, "")
    return "yes" in (argument.strip().lower(), os.environ.get(FORCE_VARIABLE, "").strip().lower())


def refuse_dropping_everything(migration_context):
    """Stop, before any step runs, a downgrade whose plan undoes the initial revision: that
    drops every table and every row in them. Forced, it goes ahead."""
    if _forced():
        return
    plan = migration_context._migrations_fn(migration_context.get_current_heads(), migration_context)
    for step in plan:
        revision = getattr(step, "revision", None)
        if not step.is_upgrade and revision is not None and not revision.down_revision:
            raise CommandError(
                f"refusing to downgrade below the initial revision {revision.revision}: it drops every "
                f"table and all data. Back the database up first (pg_dump), then force it with "
                f"`flask db downgrade -x {FORCE_ARGUMENT}=yes ...` or {FORCE_VARIABLE}=yes."
            )


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch migrations rebuild a table (copy, drop, rename). With foreign keys on, the
            # drop would cascade-delete every row that refers to it, so they are off while the
            # migrations run and checked afterwards. The pragma is a no-op inside a transaction.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()  # end the autobegun transaction, so the migrations' own commits
        context.configure(
            connection=connection,
            target_metadata=get_metadata(),
            **conf_args
        )
        refuse_dropping_everything(context.get_context())

        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
            if broken:
                raise RuntimeError(f"the migration left rows that refer to missing rows: {broken[:5]}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
