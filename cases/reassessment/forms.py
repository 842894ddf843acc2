"""The re-assessment page's form: the occasion, its follow-up task, the danger flag, and the
questions — read by the script's own types and checks (`triage_views.parse_section`), as
the triage screen reads them."""

from flask import request
from wtforms import StringField

from cellule.security import parse_id

from ..forms import ActionForm
from ..triage_forms import YesField
from ..triage_views import parse_section, section_errors
from .models import OCCASIONS


class ReassessmentForm(ActionForm):
    occasion = StringField(default="other")
    task_id = StringField(default="")
    immediate_danger = YesField()

    def occasion_code(self):
        return self.occasion.data if self.occasion.data in OCCASIONS else "other"

    def task(self):
        """The task id posted (None: none, or not an id)."""
        return parse_id(self.task_id.data)

    def answers(self, script, sections):
        """(answers, errors) of the sections' questions (errors: {item: message}, each
        question refused or left unanswered); an answer to a question no longer
        asked (a safety follow-up question after a "no") is dropped, as the triage does."""
        answers, invalid = {}, {}
        for section in sections:
            values, refused = parse_section(script, section, request.form)
            answers.update(values)
            invalid.update(refused)
        asked = {item.id for item in script.visible_items(answers)}
        answers = {k: v for k, v in answers.items() if k in asked}
        errors = {}
        for section in sections:
            errors.update(section_errors(script, section, answers, invalid, require=True))
        return answers, errors
