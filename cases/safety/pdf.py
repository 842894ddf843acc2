"""The safety plan as a PDF, with fpdf2 (pure Python, well kept; pinned in
requirements.txt) and the bundled DejaVu Sans font (fonts/, Bitstream Vera licence),
which covers the accents of French, Dutch and German."""

from pathlib import Path

from flask_babel import force_locale
from flask_babel import gettext as _
from fpdf import FPDF

from cellule.extensions import db

from .labels import STEP_LABELS
from .models import SafetyPlan

FONT = Path(__file__).with_name("fonts") / "DejaVuSans.ttf"


def plan_pdf(plan):
    """The bytes of the plan's PDF, in the plan's language."""
    pdf = FPDF(format="A4")
    pdf.set_title("Safety plan")
    pdf.set_creator("Cellule")
    pdf.add_font("DejaVu", fname=str(FONT))
    pdf.add_page()
    width = pdf.epw
    with force_locale(plan.language):
        pdf.set_font("DejaVu", size=18)
        pdf.multi_cell(width, 10, _("My safety plan"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", size=9)
        pdf.multi_cell(width, 5, _("Version %(version)s, %(date)s", version=plan.version,
                                   date=plan.created_at.date().isoformat()),
                       new_x="LMARGIN", new_y="NEXT")
        for step, lines in plan.steps.items():
            pdf.ln(4)
            pdf.set_font("DejaVu", size=13)
            pdf.multi_cell(width, 7, str(STEP_LABELS[step]), new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("DejaVu", size=11)
            for line in lines or ["—"]:
                pdf.multi_cell(width, 6, f"• {line}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(6)
        pdf.set_font("DejaVu", size=10)
        pdf.multi_cell(width, 5, _("If your life is in danger, call 112."),
                       new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def attachment(plan_id):
    """The mailer's builder for "safety_plan:<id>": (filename, type, bytes)."""
    return "safety-plan.pdf", "application/pdf", plan_pdf(db.session.get(SafetyPlan, plan_id))
