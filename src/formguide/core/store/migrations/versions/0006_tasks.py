"""persistent tasks run by workers; owners and heartbeats of training runs

- ``tasks``: one row per job a worker runs (``kind`` e.g. train, its ``request`` as JSON), with its state
  (queued, running, completed, failed, cancelled), progress and phase, the result or error, and the lease
  a worker holds while it runs it (owner, expiry, heartbeat; ``attempts`` of ``max_attempts``). 0003 dropped
  an earlier, never used table of the same name; this one is the queue ``core.tasks`` runs on.
- ``training_runs`` gains ``owner_pid``, ``owner_host`` and ``heartbeat_at``: the process recording a run and
  when it was last seen alive, so a run whose process died is marked interrupted instead of staying
  ``running`` for ever. Rows from before this revision keep NULLs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('request', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False, server_default='0'),
    sa.Column('phase', sa.String(length=64), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('max_attempts', sa.Integer(), nullable=False, server_default='3'),
    sa.Column('lease_owner', sa.String(length=255), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_tasks_status_id', 'tasks', ['status', 'id'])
    op.add_column('training_runs', sa.Column('owner_pid', sa.Integer(), nullable=True))
    op.add_column('training_runs', sa.Column('owner_host', sa.String(length=255), nullable=True))
    op.add_column('training_runs', sa.Column('heartbeat_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('owner_host')
        batch_op.drop_column('owner_pid')
    op.drop_index('ix_tasks_status_id', table_name='tasks')
    op.drop_table('tasks')
