"""workers seen alive, schedules run by the workers, the online store of served rows

- ``workers``: one row per worker process/thread (``owner`` as in a task's lease), with its host, pid, when
  it started and last beat, the task it is on and how many it has run; ``/health`` and ``/metrics`` read it.
- ``schedules``: a cron user's recurring jobs (a daily ingest + predict, a weekly retrain per sport): the
  task kind and request the workers queue, the cadence, when it last ran and is next due, the last task.
- ``online_features``: the latest point-in-time feature row of an upcoming event (or entry) per champion line,
  materialised by the same feature code training uses, with the champion's prediction for it, so serving reads
  stored rows (Redis, when configured, mirrors it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 16:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('workers',
    sa.Column('owner', sa.String(length=255), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
    sa.Column('stopped_at', sa.DateTime(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('tasks_done', sa.Integer(), nullable=False, server_default='0'),
    sa.PrimaryKeyConstraint('owner'),
    )
    op.create_table('schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('cadence', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False, server_default=sa.true()),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.Column('next_run_at', sa.DateTime(), nullable=True),
    sa.Column('last_task_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name='uq_schedules_name'),
    )
    op.create_table('online_features',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sport', sa.String(length=32), nullable=False),
    sa.Column('line', sa.String(length=128), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('feature_set_version', sa.String(length=96), nullable=True),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('prediction', sa.JSON(), nullable=True),
    sa.Column('materialised_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['model_id'], ['models.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('line', 'event_id', 'entry_id', name='uq_online_features_key'),
    )
    op.create_index('ix_online_features_event', 'online_features', ['event_id'])


def downgrade() -> None:
    op.drop_index('ix_online_features_event', table_name='online_features')
    op.drop_table('online_features')
    op.drop_table('schedules')
    op.drop_table('workers')
