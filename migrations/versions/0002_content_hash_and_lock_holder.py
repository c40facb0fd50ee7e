"""content hash, half-full vacancy pages, lock holder

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vacancies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_hash", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("app_state", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lock_host", sa.String(length=255), nullable=True)
        )
        batch_op.add_column(sa.Column("lock_pid", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # Applies to pages written from now on; VACUUM FULL vacancies in a quiet
        # hour rewrites the existing ones.
        op.execute("ALTER TABLE vacancies SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE vacancies SET (fillfactor = 85)")
    with op.batch_alter_table("app_state", schema=None) as batch_op:
        batch_op.drop_column("lock_pid")
        batch_op.drop_column("lock_host")
    with op.batch_alter_table("vacancies", schema=None) as batch_op:
        batch_op.drop_column("content_hash")
