"""markets with lines, and per-team reports of an event

- ``odds`` gains ``line``: the handicap or total a price is for (NULL for a market without one, e.g. 1X2
  or a moneyline). A handicap line is the home side's (home -3.5: the home score minus 3.5 against the
  away score); a total line is the total. Football's stored over/under 2.5 prices get ``line = 2.5``.
  The ``odds_long`` view shows it.
- ``team_reports``: what a source says about one team at one event beyond the score, as JSON by ``kind``
  (e.g. the NFL's per-game team statistics, its weekly injury report), with the source row hash so a
  re-import tells unchanged from corrected.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_VIEW = ("CREATE VIEW odds_long AS SELECT o.event_id, t.bookmaker, t.market, t.selection, o.price, "
         "t.is_closing{line} FROM odds o JOIN odds_types t ON t.id = o.type_id")


def upgrade() -> None:
    op.execute("DROP VIEW odds_long")
    op.add_column('odds', sa.Column('line', sa.Float(), nullable=True))
    op.execute("UPDATE odds SET line = 2.5 WHERE type_id IN (SELECT id FROM odds_types WHERE market = 'OU2.5')")
    op.execute(_VIEW.format(line=", o.line"))
    op.create_table('team_reports',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('row_hash', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=255), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.PrimaryKeyConstraint('event_id', 'team_id', 'kind'),
    )


def downgrade() -> None:
    op.drop_table('team_reports')
    op.execute("DROP VIEW odds_long")
    with op.batch_alter_table('odds', schema=None, recreate='always') as batch_op:
        batch_op.drop_column('line')
    op.execute(_VIEW.format(line=""))
