"""Site instructors, temporary passwords that must be changed, one-time credentials kept for a
single download, and released paper reservations; everyone who already teaches a course may
create courses.

Revision ID: a1c0ffee0004
Revises: a1c0ffee0002
Create Date: 2026-12-02 01:54:51

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a1c0ffee0004"
down_revision = "a1c0ffee0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "issued_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("password", sa.String(length=64), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("course_id", "user_id"),
    )
    with op.batch_alter_table("issued_credentials", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_issued_credentials_course_id"), ["course_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_issued_credentials_user_id"), ["user_id"], unique=False)

    # batch mode: SQLite cannot add a NOT NULL column with ALTER TABLE alone.
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reservation_released", sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_instructor", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))

    users = sa.table("users", sa.column("id", sa.Integer), sa.column("is_instructor", sa.Boolean))
    enrollments = sa.table("enrollments", sa.column("user_id", sa.Integer), sa.column("role", sa.String))
    teaching = sa.select(enrollments.c.user_id).where(enrollments.c.role == "instructor")
    op.execute(users.update().where(users.c.id.in_(teaching)).values(is_instructor=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("is_instructor")

    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_column("reservation_released")

    with op.batch_alter_table("issued_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_credentials_user_id"))
        batch_op.drop_index(batch_op.f("ix_issued_credentials_course_id"))

    op.drop_table("issued_credentials")
