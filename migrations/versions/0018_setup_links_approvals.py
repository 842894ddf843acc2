"""set-up links and approvals of sensitive account changes (issue 14)

`setup_links`: the single-use links (24 h) by which an account's owner chooses a password
nobody else learns (cellule.setup_links); only the token's SHA-256 is stored.
`account_approvals`: granting the psychologist or supervisor role and resetting a second
factor wait for a supervisor other than the requester (cellule.approvals); one pending
request per account and kind.

Revision ID: 0018
Revises: 0017

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('setup_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("purpose IN ('invite', 'reset')",
                       name=op.f('ck_setup_links_purpose_known')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_setup_links_user_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                            name=op.f('fk_setup_links_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_setup_links')),
    sa.UniqueConstraint('digest', name=op.f('uq_setup_links_digest'))
    )
    with op.batch_alter_table('setup_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_setup_links_user_id'), ['user_id'], unique=False)

    op.create_table('account_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=True),
    sa.Column('new_account', sa.Boolean(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=True),
    sa.CheckConstraint("kind IN ('role', 'mfa_reset')",
                       name=op.f('ck_account_approvals_kind_known')),
    sa.CheckConstraint("outcome IN ('approved', 'refused', 'withdrawn')",
                       name=op.f('ck_account_approvals_outcome_known')),
    sa.CheckConstraint("kind != 'role' OR role IS NOT NULL",
                       name=op.f('ck_account_approvals_role_named')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_account_approvals_user_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                            name=op.f('fk_account_approvals_requested_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                            name=op.f('fk_account_approvals_decided_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_approvals'))
    )
    with op.batch_alter_table('account_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_approvals_user_id'), ['user_id'],
                              unique=False)
        batch_op.create_index('uq_account_approvals_pending', ['user_id', 'kind'], unique=True,
                              sqlite_where=sa.text('outcome IS NULL'),
                              postgresql_where=sa.text('outcome IS NULL'))
        batch_op.create_index('ix_account_approvals_open', ['id'], unique=False,
                              sqlite_where=sa.text('outcome IS NULL'),
                              postgresql_where=sa.text('outcome IS NULL'))


def downgrade():
    with op.batch_alter_table('account_approvals', schema=None) as batch_op:
        batch_op.drop_index('ix_account_approvals_open')
        batch_op.drop_index('uq_account_approvals_pending')
        batch_op.drop_index(batch_op.f('ix_account_approvals_user_id'))
    op.drop_table('account_approvals')
    with op.batch_alter_table('setup_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_setup_links_user_id'))
    op.drop_table('setup_links')
