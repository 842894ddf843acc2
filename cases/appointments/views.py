"""The appointments' pages: a psychologist's "My availability" (a weekly pattern, a single
slot, removing a free one), booking a slot from a case (free slots filtered by language
and mode, the person's language first), cancelling and recording the outcome from the
case page's card."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from cellule import audit, nav
from cellule.extensions import db
from cellule.permissions import PSYCHOLOGIST, roles_required
from cellule.roles import STAFF
from cellule.types import utcnow

from ..access import get_case_or_404
from ..forms import ActionForm
from ..operations import OperationError
from . import operations as appointments
from . import texts
from .forms import BookForm, OutcomeForm, SingleSlotForm, WeeklyForm
from .models import LANGUAGES, MODES, Appointment, Slot

bp = Blueprint("appointments", __name__)
nav.register("appointments.availability", _l("My availability"), (PSYCHOLOGIST,), 36,
             group=nav.WORK)

# The operations' English reasons, as the pages say them.
MESSAGES = {
    "in the future": _l("The slot must be in the future."),
    "within a year": _l("Slots are published at most a year ahead."),
    "from today to a year ahead": _l("Choose dates from today to a year ahead."),
    "on or after the first day": _l("The last day comes on or after the first."),
    "overlaps another of your slots": _l("This overlaps another of your slots."),
    "no such weekday in the future in these dates": _l(
        "No such day of the week in the future between these dates."),
    "at most 60 slots at once": _l("At most 60 slots at once: choose a shorter period."),
    "booked: cancel the appointment first": _l(
        "This slot is booked: cancel the appointment first."),
    "the slot is booked already": _l("This slot was booked meanwhile: choose another."),
    "the slot is past": _l("This slot is past: choose another."),
    "no such slot": _l("Choose a free slot."),
    "not started yet": _l("The appointment has not started yet."),
    "one or more of fr, nl, de, en": _l("Choose at least one language."),
}


def _messages(error):
    return [str(MESSAGES.get(text, text)) for text in error.fields.values()]


def _my_slots():
    slots = db.session.scalars(appointments.free_slots_query(
        current_user.id, start=utcnow(), free=False).limit(200)).all()
    booked = appointments.booked_slot_ids([s.id for s in slots])
    return slots, booked


def _availability(weekly=None, single=None, errors=(), status=200):
    slots, booked = _my_slots()
    return render_template("cases/appointments/availability.html", slots=slots,
                           booked=booked, weekly=weekly or WeeklyForm(prefix="weekly"),
                           to_record=appointments.to_record(current_user.id, utcnow()),
                           single=single or SingleSlotForm(prefix="single"), errors=errors,
                           labels=texts), status


@bp.get("/availability")
@login_required
@roles_required(PSYCHOLOGIST)
def availability():
    """The psychologist's coming slots and the forms to publish more."""
    return _availability()


@bp.post("/availability/weekly")
@login_required
@roles_required(PSYCHOLOGIST)
def publish_weekly():
    """Publish a weekly pattern of slots."""
    form = WeeklyForm(prefix="weekly")
    try:
        form.check()
        slots = appointments.publish_weekly(
            current_user, form.weekday.data, form.start.data, form.minutes.data,
            form.mode.data, form.languages.data, form.first.data, form.last.data)
    except OperationError as error:
        db.session.rollback()
        return _availability(weekly=form, errors=_messages(error), status=422)
    db.session.commit()
    flash(ngettext("%(num)s slot published.", "%(num)s slots published.", len(slots)),
          "success")
    return redirect(url_for(".availability"), code=303)


@bp.post("/availability/slot")
@login_required
@roles_required(PSYCHOLOGIST)
def publish_slot():
    """Publish one slot."""
    form = SingleSlotForm(prefix="single")
    try:
        form.check()
        appointments.publish_slot(current_user, form.starts_at.data, form.minutes.data,
                                  form.mode.data, form.languages.data)
    except OperationError as error:
        db.session.rollback()
        return _availability(single=form, errors=_messages(error), status=422)
    db.session.commit()
    flash(_("Slot published."), "success")
    return redirect(url_for(".availability"), code=303)


@bp.post("/availability/<int:slot_id>/remove")
@login_required
@roles_required(PSYCHOLOGIST)
def remove_slot(slot_id):
    """Remove a free slot of the psychologist's."""
    slot = db.session.get(Slot, slot_id)
    if slot is None or slot.psychologist_id != current_user.id or slot.state != "open":
        audit.denied("appointment_slot", slot_id)
        abort(404)
    try:
        ActionForm().check()
        appointments.remove_slot(slot, current_user)
    except OperationError as error:
        db.session.rollback()
        return _availability(errors=_messages(error), status=422)
    db.session.commit()
    flash(_("Slot removed."), "success")
    return redirect(url_for(".availability"), code=303)


# --------------------------------------------------------------------------- booking


def _choices(case):
    """The free slots to offer, filtered by the page's language and mode; the person's
    language first."""
    language = request.args.get("language") or None
    mode = request.args.get("mode") or None
    language = language if language in LANGUAGES else None
    mode = mode if mode in MODES else None
    slots = db.session.scalars(appointments.free_slots_query(
        start=utcnow(), mode=mode, language=language)
        .options(joinedload(Slot.psychologist)).limit(100)).all()
    spoken = case.person.language
    slots.sort(key=lambda s: (spoken not in s.language_list, s.starts_at))
    return {"slots": slots, "language": language, "mode": mode}


def _booking(case, form=None, errors=(), status=200):
    return render_template("cases/appointments/book.html", case=case, form=form or BookForm(),
                           errors=errors, labels=texts, **_choices(case)), status


@bp.get("/cases/<int:case_id>/appointments/new")
@login_required
@roles_required(*STAFF)
def book_page(case_id):
    """The free slots to book for the case's person."""
    return _booking(get_case_or_404(case_id, need=appointments.NEED))


@bp.post("/cases/<int:case_id>/appointments")
@login_required
@roles_required(*STAFF)
def book(case_id):
    """Book the chosen slot: the person gets the confirmation and the invitation."""
    case = get_case_or_404(case_id, need=appointments.NEED)
    form = BookForm()
    try:
        form.check()
        appointments.book(case, db.session.get(Slot, form.slot_id.data), current_user)
    except OperationError as error:
        db.session.rollback()
        return _booking(get_case_or_404(case_id, read=False), form, _messages(error), 409
                        if isinstance(error, appointments.SlotTaken) else 422)
    db.session.commit()
    flash(_("Appointment booked."), "success")
    return _to_card(case_id)


def _to_card(case_id):
    return redirect(url_for("cases.case_page", case_id=case_id) + "#appointments-card",
                    code=303)


def _appointment(appointment_id, own=False):
    """The appointment of a case the user may see (else 404); `own`: or on the user's
    own slot (the psychologist records the outcome from "My availability")."""
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        audit.denied("appointment", appointment_id)
        abort(404)
    if not (own and appointment.slot.psychologist_id == current_user.id):
        get_case_or_404(appointment.case_id, read=False)
    return appointment


def _back(appointment, form):
    """Back where the action came from: "My availability", else the case page's card."""
    if form.back.data == "availability":
        return redirect(url_for(".availability") + "#to-record", code=303)
    return _to_card(appointment.case_id)


@bp.post("/appointments/<int:appointment_id>/cancel")
@login_required
@roles_required(*STAFF)
def cancel(appointment_id):
    """Cancel the appointment (the cell): the person gets METHOD:CANCEL."""
    appointment = _appointment(appointment_id)
    try:
        ActionForm().check()
        appointments.cancel(appointment, current_user)
    except OperationError as error:
        db.session.rollback()
        flash(" ".join(_messages(error)), "error")
        return _to_card(appointment.case_id)
    db.session.commit()
    flash(_("Appointment cancelled."), "success")
    return _to_card(appointment.case_id)


@bp.post("/appointments/<int:appointment_id>/outcome")
@login_required
@roles_required(PSYCHOLOGIST)
def outcome(appointment_id):
    """The psychologist records whether the person came."""
    appointment = _appointment(appointment_id, own=True)
    form = OutcomeForm()
    try:
        form.check()
        appointments.record_outcome(appointment, form.outcome.data, current_user)
    except OperationError as error:
        db.session.rollback()
        flash(" ".join(_messages(error)), "error")
        return _back(appointment, form)
    db.session.commit()
    flash(_("Outcome recorded."), "success")
    return _back(appointment, form)


def card_context(case):
    """The case page's card: the case's appointments, the forms."""
    return {"appointments": appointments.case_appointments(case.id), "labels": texts,
            "now": utcnow()}


def next_free_slot():
    """The soonest free slot with its psychologist (the psychology queue shows it)."""
    return db.session.scalar(appointments.free_slots_query(start=utcnow())
                             .options(joinedload(Slot.psychologist)).limit(1))
