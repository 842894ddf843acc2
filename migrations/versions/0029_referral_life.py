"""issue 20 — a referral's life (referral20): its state, its dated steps, the partner's address

- `referrals.state` (proposed, accepted, sent, confirmed, attended, no_show, declined,
  closed), `state_at` (when the current step happened) and `reminder_due_at` (when the
  current step is late: a reminder task is then created once, and the column cleared);
- `referral_events`: one row per step — the state reached, when it happened, who recorded
  it, a note, and for `sent` the channel of the handover pack (email, print);
- `resources.email`: the partner's address, where a handover pack is emailed.

Existing referrals were "a row with a note": nothing says the person agreed or that a pack
left, so they become `proposed` (dated at their creation), except a paid one whose price
the person accepted, which becomes `accepted` (dated at that consent). No reminder is due
for either (reminders wait on `sent` and `confirmed` only).

Revision ID: 0029
Revises: 0028

"""
import warnings

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies (a migration does not import the app).
STATES = ('proposed', 'accepted', 'sent', 'confirmed', 'attended', 'no_show', 'declined',
          'closed')
CHANNELS = ('email', 'print')


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.add_column('referrals', sa.Column('state', sa.String(length=20), nullable=False,
                                         server_default='proposed'))
    op.add_column('referrals', sa.Column('state_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('referrals', sa.Column('reminder_due_at', sa.DateTime(timezone=True),
                                         nullable=True))
    # On SQLite the batch rebuilds the table; reflecting it reaches `contacts`, whose
    # expression index (0019) SQLAlchemy cannot reflect: that table is not rebuilt, so the
    # warning says nothing here (as in 0022).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table('referrals') as batch_op:
            batch_op.create_check_constraint(op.f('ck_referrals_state_known'),
                                             _in('state', STATES))
    op.create_index('ix_referrals_resource_state', 'referrals', ['resource_id', 'state', 'id'])
    op.create_index('ix_referrals_reminder_due', 'referrals', ['reminder_due_at'])
    op.add_column('resources', sa.Column('email', sa.String(length=320), nullable=True))
    op.create_table(
        'referral_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('referral_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('channel', sa.String(length=10), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in('state', STATES), name=op.f('ck_referral_events_state_known')),
        sa.CheckConstraint('channel IS NULL OR ' + _in('channel', CHANNELS),
                           name=op.f('ck_referral_events_channel_known')),
        sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'],
                                name=op.f('fk_referral_events_referral_id_referrals')),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_referral_events_actor_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_events')),
    )
    op.create_index('ix_referral_events_referral', 'referral_events', ['referral_id', 'id'])
    # The existing rows: proposed at their creation; a paid one accepted at its consent.
    op.execute("UPDATE referrals SET state = 'accepted', state_at = consent_at "
               "WHERE consent_at IS NOT NULL")
    op.execute("UPDATE referrals SET state_at = created_at WHERE state_at IS NULL")
    op.execute("INSERT INTO referral_events (referral_id, state, at, actor_id, recorded_at) "
               "SELECT id, 'proposed', created_at, created_by_id, created_at FROM referrals")
    op.execute("INSERT INTO referral_events (referral_id, state, at, actor_id, recorded_at) "
               "SELECT id, 'accepted', consent_at, consent_by_id, consent_at FROM referrals "
               "WHERE consent_at IS NOT NULL")


def downgrade():
    op.drop_index('ix_referral_events_referral', table_name='referral_events')
    op.drop_table('referral_events')
    op.drop_index('ix_referrals_reminder_due', table_name='referrals')
    op.drop_index('ix_referrals_resource_state', table_name='referrals')
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
        with op.batch_alter_table('resources') as batch_op:
            batch_op.drop_column('email')
        with op.batch_alter_table('referrals') as batch_op:
            batch_op.drop_constraint(op.f('ck_referrals_state_known'), type_='check')
            batch_op.drop_column('reminder_due_at')
            batch_op.drop_column('state_at')
            batch_op.drop_column('state')
