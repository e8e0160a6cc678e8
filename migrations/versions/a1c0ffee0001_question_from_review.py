"""questions remember whether a critic pushed them from their review

Revision ID: a1c0ffee0001
Revises: 68baa5308dea
Create Date: 2026-12-01 22:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a1c0ffee0001"
down_revision = "68baa5308dea"
branch_labels = None
depends_on = None


def upgrade():
    # batch mode: SQLite cannot add a NOT NULL column with ALTER TABLE alone.
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_review", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_column("from_review")
