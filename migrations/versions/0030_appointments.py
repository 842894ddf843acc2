"""issue 20 — psychologists' slots and appointments (appoint20)

- `appointment_slots`: a psychologist's published slots (start, end, minutes, mode,
  languages, open or removed);
- `appointments`: a slot booked for a case (booked, cancelled, attended, no_show), the
  invitation's UID and sequence, the reminder's due and sent times. A partial unique index
  keeps a slot booked once at a time (a cancelled appointment frees it).

Revision ID: 0030
Revises: 0029

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

# Frozen copies of the vocabularies (a migration does not import the app).
MODES = ('video', 'phone', 'on_site')
SLOT_STATES = ('open', 'removed')
STATES = ('booked', 'cancelled', 'attended', 'no_show')


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.create_table(
        'appointment_slots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('psychologist_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=10), nullable=False),
        sa.Column('languages', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(_in('mode', MODES), name=op.f('ck_appointment_slots_mode_known')),
        sa.CheckConstraint(_in('state', SLOT_STATES),
                           name=op.f('ck_appointment_slots_state_known')),
        sa.CheckConstraint('minutes BETWEEN 15 AND 180',
                           name=op.f('ck_appointment_slots_minutes_range')),
        sa.ForeignKeyConstraint(['psychologist_id'], ['users.id'],
                                name=op.f('fk_appointment_slots_psychologist_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_slots')),
    )
    op.create_index('ix_appointment_slots_psychologist', 'appointment_slots',
                    ['psychologist_id', 'starts_at'])
    op.create_index('ix_appointment_slots_starts', 'appointment_slots', ['starts_at'])
    op.create_table(
        'appointments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slot_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('uid', sa.String(length=100), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=2), nullable=False),
        sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('booked_by_id', sa.Integer(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
        sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outcome_by_id', sa.Integer(), nullable=True),
        sa.Column('reminder_due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reminder_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_in('state', STATES), name=op.f('ck_appointments_state_known')),
        sa.ForeignKeyConstraint(['slot_id'], ['appointment_slots.id'],
                                name=op.f('fk_appointments_slot_id_appointment_slots')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_appointments_case_id_cases')),
        sa.ForeignKeyConstraint(['booked_by_id'], ['users.id'],
                                name=op.f('fk_appointments_booked_by_id_users')),
        sa.ForeignKeyConstraint(['cancelled_by_id'], ['users.id'],
                                name=op.f('fk_appointments_cancelled_by_id_users')),
        sa.ForeignKeyConstraint(['outcome_by_id'], ['users.id'],
                                name=op.f('fk_appointments_outcome_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')),
        sa.UniqueConstraint('uid', name=op.f('uq_appointments_uid')),
    )
    op.create_index('uq_appointments_slot_booked', 'appointments', ['slot_id'], unique=True,
                    postgresql_where=sa.text("state <> 'cancelled'"),
                    sqlite_where=sa.text("state <> 'cancelled'"))
    op.create_index('ix_appointments_case', 'appointments', ['case_id'])
    op.create_index('ix_appointments_reminder', 'appointments', ['reminder_due_at'],
                    postgresql_where=sa.text('reminder_sent_at IS NULL'),
                    sqlite_where=sa.text('reminder_sent_at IS NULL'))


def downgrade():
    op.drop_index('ix_appointments_reminder', table_name='appointments')
    op.drop_index('ix_appointments_case', table_name='appointments')
    op.drop_index('uq_appointments_slot_booked', table_name='appointments')
    op.drop_table('appointments')
    op.drop_index('ix_appointment_slots_starts', table_name='appointment_slots')
    op.drop_index('ix_appointment_slots_psychologist', table_name='appointment_slots')
    op.drop_table('appointment_slots')
