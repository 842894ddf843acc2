"""The advisors' review of possible duplicates (issue 14): merge, or keep apart.

Someone who does not see every person (an ambassador) may type an affiliate number,
phone or email of a person they may not see: they are answered as for a fresh one, and
the record they create is marked "possible duplicate" of the other (contacts.claims,
operations.create_person). Here advisors and supervisors (MERGE_ROLES) see each pair side
by side, reached from their home page (a panel with the count) or the people page, and
either merge the new record into the other through the ordinary merge page, or keep
them apart. Every listing and decision is audited.
"""

import logging

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from cellule import audit, nav
from cellule.extensions import db
from cellule.permissions import roles_required

from . import claims, operations
from .access import MERGE_ROLES
from .forms import ActionForm
from .labels import DUPLICATE_REASON_LABELS
from .models import Contact, Person
from .normalise import display_phone

log = logging.getLogger(__name__)

bp = Blueprint("duplicates", __name__, url_prefix="/people/duplicates")

PAGE = 50


@bp.context_processor
def _labels():
    return {"duplicate_reason": DUPLICATE_REASON_LABELS.get, "display_phone": display_phone}


def _pending():
    return select(Person).where(
        Person.duplicate_status == operations.DUPLICATE_PENDING,
        Person.merged_into_id.is_(None),
    )


def pending_count():
    """How many possible duplicates await review (the home panel's number)."""
    return db.session.scalar(
        _pending().with_only_columns(func.count(Person.id)).order_by(None)
    )


def _twins(people):
    """{person id: the record it was flagged against, or that record's survivor}."""
    by_id = {}
    wanted = {p.possible_duplicate_of_id for p in people if p.possible_duplicate_of_id}
    # Merge pointers are followed a level at a time, for all the rows at once.
    while wanted - by_id.keys():
        rows = db.session.scalars(
            select(Person).where(Person.id.in_(wanted - by_id.keys()))
            .options(selectinload(Person.created_by))
        ).all()
        by_id.update({p.id: p for p in rows})
        wanted = {p.merged_into_id for p in rows if p.merged_into_id}
        if not rows:
            break

    def last(person_id):
        seen = set()
        person = by_id.get(person_id)
        while person is not None and person.merged_into_id and person.id not in seen:
            seen.add(person.id)
            person = by_id.get(person.merged_into_id, person)
        return person

    return {p.id: last(p.possible_duplicate_of_id) for p in people}


def _contact_counts(ids):
    if not ids:
        return {}
    return dict(db.session.execute(
        select(Contact.person_id, func.count(Contact.id))
        .where(Contact.person_id.in_(ids)).group_by(Contact.person_id)
    ).all())


@bp.get("")
@login_required
@roles_required(*MERGE_ROLES)
def index():
    """List the possible duplicates awaiting review, oldest first, each beside its twin."""
    people = db.session.scalars(
        _pending().options(selectinload(Person.created_by))
        .order_by(Person.duplicate_flagged_at, Person.id).limit(PAGE + 1)
    ).all()
    people, more = people[:PAGE], len(people) > PAGE
    twins = _twins(people)
    pairs = [(p, twins[p.id]) for p in people
             if twins[p.id] is not None and twins[p.id].id != p.id]
    counts = _contact_counts({x.id for pair in pairs for x in pair})
    total = pending_count() if more else len(people)
    audit.listed("person", sorted({x.id for pair in pairs for x in pair}))
    return render_template("contacts/duplicates.html", pairs=pairs, counts=counts,
                           more=more, total=total, form=ActionForm())


@bp.post("/<int:person_id>/keep-apart")
@login_required
@roles_required(*MERGE_ROLES)
def keep_apart(person_id):
    """Decide that a possible duplicate is someone else than its twin."""
    person = db.session.get(Person, person_id)
    if (person is None or person.duplicate_status != operations.DUPLICATE_PENDING
            or person.merged_into_id is not None):
        audit.denied("person", person_id, {"reason": "no pending duplicate"})
        abort(404)
    form = ActionForm()
    if not form.validate():
        abort(400)
    operations.keep_apart(person, current_user)
    db.session.commit()
    flash(_("%(name)s (no. %(id)s) is kept as a separate person.", name=person.name,
            id=person.id), "success")
    return redirect(url_for(".index"), code=303)


def _home_count():
    """The home panel's count, for the roles that review (else None: no query)."""
    if not current_user.is_authenticated or current_user.role not in MERGE_ROLES:
        return None
    return pending_count()


def register(app):
    app.register_blueprint(bp)
    nav.register_panel("contacts/_duplicates_home.html", MERGE_ROLES, order=20)
    app.context_processor(lambda: {
        "possible_duplicates_count": _home_count,
        # The affiliate number the signed-in user is shown for a person (contacts.claims).
        "affiliate_no": lambda person: claims.shown_affiliate_number(person, current_user),
        "can_review_duplicates": current_user.is_authenticated
        and current_user.role in MERGE_ROLES,
    })

