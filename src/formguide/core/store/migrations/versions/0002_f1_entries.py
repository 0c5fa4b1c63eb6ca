"""entries and laps: per-participant session results and lap records of many-competitor events

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('entries',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('session', sa.String(length=16), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('constructor_id', sa.Integer(), nullable=True),
    sa.Column('grid', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.Column('position_text', sa.String(length=8), nullable=True),
    sa.Column('points', sa.Float(), nullable=True),
    sa.Column('laps', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=64), nullable=True),
    sa.Column('milliseconds', sa.Integer(), nullable=True),
    sa.Column('q1_ms', sa.Integer(), nullable=True),
    sa.Column('q2_ms', sa.Integer(), nullable=True),
    sa.Column('q3_ms', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=True),
    sa.Column('row_hash', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['driver_id'], ['teams.id'], ),
    sa.ForeignKeyConstraint(['constructor_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('event_id', 'session', 'driver_id')
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entries_driver_id'), ['driver_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_constructor_id'), ['constructor_id'], unique=False)

    op.create_table('laps',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('session', sa.String(length=16), nullable=False),
    sa.Column('driver_id', sa.Integer(), nullable=False),
    sa.Column('lap', sa.Integer(), nullable=False),
    sa.Column('lap_time_ms', sa.Integer(), nullable=True),
    sa.Column('compound', sa.String(length=16), nullable=True),
    sa.Column('tyre_life', sa.Integer(), nullable=True),
    sa.Column('stint', sa.Integer(), nullable=True),
    sa.Column('track_status', sa.String(length=16), nullable=True),
    sa.Column('position', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['driver_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('event_id', 'session', 'driver_id', 'lap'),
    sqlite_with_rowid=False
    )


def downgrade() -> None:
    op.drop_table('laps')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entries_constructor_id'))
        batch_op.drop_index(batch_op.f('ix_entries_driver_id'))
    op.drop_table('entries')
