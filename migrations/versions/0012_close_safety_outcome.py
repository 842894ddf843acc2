"""safety chain: closing with a safety outcome

`cases.safety_outcome` (+ `safety_note`) records how the person's safety was left when an
imminent/high case closed (DESIGN §9). The alarms that closed cases left ringing end here
too: open supervisor alerts of closed cases, and sign-off tasks typed by hand (no triage
run to sign off, so nothing could ever close them), are cancelled.

Revision ID: 0012
Revises: 0011

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# Frozen copies of cases.models' vocabularies (a migration does not import the app).
SAFETY_OUTCOMES = ("safety_plan", "emergency_services", "crisis_line", "unreachable", "other")
ALERT_TASK_CODES = ("imminent_alert",)


def _in(values):
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('safety_outcome', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('safety_note', sa.Text(), nullable=True))
        # On SQLite the batch rebuilds the table (its partial indexes are kept).
        batch_op.create_check_constraint(
            op.f('ck_cases_safety_outcome_known'),
            "safety_outcome IS NULL OR safety_outcome IN " + _in(SAFETY_OUTCOMES))
    op.execute(
        "UPDATE tasks SET status = 'cancelled', done_at = CURRENT_TIMESTAMP "
        "WHERE status = 'open' AND ("
        "(code IN " + _in(ALERT_TASK_CODES) + " AND case_id IN "
        "(SELECT id FROM cases WHERE status = 'closed')) "
        "OR (kind = 'sign_off' AND triage_run_id IS NULL))"
    )


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cases_safety_outcome_known'), type_='check')
        batch_op.drop_column('safety_note')
        batch_op.drop_column('safety_outcome')
