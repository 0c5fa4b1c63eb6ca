"""served results cache: a use case's result kept for the same request on the same data and champion

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 14:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('served_cache',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('sport', sa.String(length=32), nullable=False),
    sa.Column('use_case', sa.String(length=32), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key'),
    )


def downgrade() -> None:
    op.drop_table('served_cache')
