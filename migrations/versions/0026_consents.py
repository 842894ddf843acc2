"""issue 20 — consent per purpose (consent20): the `consents` table

One row per answer a person gave for one purpose (yes or no), with the text version,
the channel (oral, written, web), who recorded it and when, and the withdrawal of a yes.
The vocabularies are frozen copies (migrations never import the app).

Revision ID: 0026
Revises: 0025

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

PURPOSES = ("cell_processing", "share_psychologist", "share_partner", "paid_coaching",
            "outreach", "survey", "caring_messages")
CHANNELS = ("oral", "written", "web")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    op.create_table(
        'consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=30), nullable=False),
        sa.Column('granted', sa.Boolean(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('text_version', sa.String(length=60), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
        sa.Column('withdrawal_channel', sa.String(length=10), nullable=True),
        sa.CheckConstraint(_in('purpose', PURPOSES), name=op.f('ck_consents_purpose_known')),
        sa.CheckConstraint(_in('channel', CHANNELS), name=op.f('ck_consents_channel_known')),
        sa.CheckConstraint(f"withdrawal_channel IS NULL OR {_in('withdrawal_channel', CHANNELS)}",
                           name=op.f('ck_consents_withdrawal_channel_known')),
        sa.CheckConstraint('withdrawn_at IS NULL OR granted',
                           name=op.f('ck_consents_only_a_yes_withdrawn')),
        sa.ForeignKeyConstraint(['person_id'], ['persons.id'],
                                name=op.f('fk_consents_person_id_persons')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_consents_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'],
                                name=op.f('fk_consents_withdrawn_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consents')),
    )
    op.create_index('ix_consents_person_purpose', 'consents',
                    ['person_id', 'purpose', 'recorded_at'])


def downgrade():
    op.drop_index('ix_consents_person_purpose', table_name='consents')
    op.drop_table('consents')
