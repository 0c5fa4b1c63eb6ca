"""every sport's features and predictions: keys per event, entry and market; a fit cache; per-sport run metrics

- ``feature_values`` are keyed by (feature set, event, entry): ``entry_id`` is the participant of a
  many-competitor event (a driver in a race, ``teams.id``) or 0 for the event as a whole. Rows move over.
- ``predictions`` gain ``entry_id`` (0 = the event), ``market`` (e.g. ``1x2``, ``total``, ``field``) and
  ``line`` (a handicap or total line; NULL for a market without one). Old rows are football's 1X2 rows.
- ``training_runs`` gain ``metrics`` (the sport's named metrics as JSON) and the promotion headline
  (``headline_metric``, ``headline_value``); the football-named columns stay for the metrics that have them.
- ``fit_cache``: fitted models kept for reuse (a fit as of a date, a season pipeline's block fits) outside
  the model registry. The F1 season pipeline's cache entries that older versions wrote into ``models``
  (names ``f1-season-*``) move there, so the registry holds only real model versions.
- ``tasks`` (never used) is dropped.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

SEASON_CACHE_PREFIX = 'f1-season-'


def _reset_sequence(table: str) -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                   f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")


def _rebuild_feature_values() -> None:
    op.create_table('feature_values_v3',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('feature_set_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), server_default='0', nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['feature_set_id'], ['feature_sets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('feature_set_id', 'event_id', 'entry_id', name='uq_feature_values_key'),
    )
    op.execute('INSERT INTO feature_values_v3 (id, feature_set_id, event_id, entry_id, "values", computed_at) '
               'SELECT id, feature_set_id, event_id, 0, "values", computed_at FROM feature_values')
    with op.batch_alter_table('feature_values', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feature_values_event_id'))
    op.drop_table('feature_values')
    op.rename_table('feature_values_v3', 'feature_values')
    with op.batch_alter_table('feature_values', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feature_values_event_id'), ['event_id'], unique=False)
    _reset_sequence('feature_values')


def _move_season_fits() -> None:
    bind = op.get_bind()
    models = sa.table('models', sa.column('id', sa.Integer), sa.column('sport', sa.String), sa.column('name', sa.String),
                      sa.column('model_type', sa.String), sa.column('parameters', sa.JSON),
                      sa.column('artifact_sha256', sa.String), sa.column('data_fingerprint', sa.String),
                      sa.column('created_at', sa.DateTime))
    cache = sa.table('fit_cache', sa.column('key', sa.String), sa.column('sport', sa.String),
                     sa.column('model_type', sa.String), sa.column('parameters', sa.JSON),
                     sa.column('parameters_sha256', sa.String), sa.column('created_at', sa.DateTime),
                     sa.column('used_at', sa.DateTime))
    rows = bind.execute(sa.select(models).where(models.c.name.like(f'{SEASON_CACHE_PREFIX}%'))
                        .order_by(models.c.id)).mappings().all()
    if not rows:
        return
    seen: set[str] = set()
    for r in rows:
        key = r['data_fingerprint']
        if not key or key in seen:
            continue
        seen.add(key)
        bind.execute(cache.insert().values(key=key, sport=r['sport'], model_type=r['model_type'],
                                           parameters=r['parameters'], parameters_sha256=r['artifact_sha256'],
                                           created_at=r['created_at'], used_at=r['created_at']))
    ids = [r['id'] for r in rows]
    runs = sa.table('training_runs', sa.column('model_id', sa.Integer))
    predictions = sa.table('predictions', sa.column('model_id', sa.Integer))
    bind.execute(runs.update().where(runs.c.model_id.in_(ids)).values(model_id=None))
    bind.execute(predictions.delete().where(predictions.c.model_id.in_(ids)))
    bind.execute(models.delete().where(models.c.id.in_(ids)))


def upgrade() -> None:
    _rebuild_feature_values()
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entry_id', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('market', sa.String(length=32), server_default='1x2', nullable=False))
        batch_op.add_column(sa.Column('line', sa.Float(), nullable=True))
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('metrics', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('headline_metric', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('headline_value', sa.Float(), nullable=True))
    op.create_table('fit_cache',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('sport', sa.String(length=32), nullable=False),
    sa.Column('model_type', sa.String(length=64), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('parameters_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key'),
    )
    _move_season_fits()
    op.drop_table('tasks')


def downgrade() -> None:
    op.create_table('tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    )
    op.drop_table('fit_cache')
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.drop_column('headline_value')
        batch_op.drop_column('headline_metric')
        batch_op.drop_column('metrics')
    op.execute('DELETE FROM predictions WHERE entry_id <> 0')
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_column('line')
        batch_op.drop_column('market')
        batch_op.drop_column('entry_id')
    op.execute('DELETE FROM feature_values WHERE entry_id <> 0')
    with op.batch_alter_table('feature_values', schema=None) as batch_op:
        batch_op.drop_constraint('uq_feature_values_key', type_='unique')
        batch_op.drop_column('entry_id')
        batch_op.create_unique_constraint('uq_feature_values_event', ['feature_set_id', 'event_id'])
