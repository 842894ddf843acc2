"""The advisor's desk: find or create a person, log contacts, the inbox, the person page."""

import logging
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_htmx import make_response
from flask_login import current_user, login_required
from sqlalchemy import literal_column
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from cellule import audit, nav
from cellule.extensions import db, htmx
from cellule.paging import BadCursor, keyset_page
from cellule.permissions import roles_required
from cellule.types import utcnow

from . import claims, labels, operations, person_page
from .access import (
    INBOX_ROLES,
    MERGE_ROLES,
    PEOPLE_ROLES,
    get_contact_or_404,
    get_person_or_404,
    sees_all,
    survivor,
    visible_contacts,
    visible_persons,
)
from .forms import ActionForm, ContactForm, MergeForm, PersonForm, ReferralForm, SearchForm
from .labels import CHANNEL_LABELS, DIRECTION_LABELS
from .models import INBOX_CHANNELS, Contact, Person
from .normalise import display_phone, query_tokens, searchable
from .saved_search import load_query, save_query
from .search import DEFAULT_LIMIT, search_persons

log = logging.getLogger(__name__)

bp = Blueprint("contacts", __name__)

INBOX_PAGE = 50
# The inbox: red-flagged first, then oldest (the partial index `ix_contacts_inbox`).
INBOX_ORDER = ((Contact.red_flagged, bool, True), (Contact.occurred_at, datetime, False),
               (Contact.id, int, False))
PERSON_PAGE_CONTACTS = 200

nav.register("contacts.new_contact", _l("New contact"), ("advisor", "psychologist",
             "supervisor"), order=10, shortcut="n")
nav.register("contacts.new_referral", _l("Refer someone"), ("ambassador",), order=10,
             shortcut="n")
nav.register("contacts.inbox", _l("Inbox"), INBOX_ROLES, order=12, group=nav.WORK)
nav.register("contacts.people", _l("People"), PEOPLE_ROLES, order=14, group=nav.WORK,
             shortcut="/")


@bp.context_processor
def _labels():
    return {
        "channel_label": labels.CHANNEL_LABELS.get,
        "direction_label": labels.DIRECTION_LABELS.get,
        "reason_label": labels.REASON_LABELS.get,
        "sector_label": labels.SECTOR_LABELS.get,
        "language_label": labels.LANGUAGE_LABELS.get,
        "duplicate_reason": labels.DUPLICATE_REASON_LABELS.get,
        "excerpt": _excerpt,
        "display_phone": display_phone,
        "open_case_notes": lambda people: person_page.open_case_notes_for(people, current_user),
    }


# --- Search ----------------------------------------------------------------


def _results(query):
    """Search, audit what is shown, and return (people, more)."""
    if not searchable(query_tokens(query)):
        return [], False
    people = search_persons(query, current_user, limit=DEFAULT_LIMIT + 1)
    people, more = people[:DEFAULT_LIMIT], len(people) > DEFAULT_LIMIT
    audit.listed("person", [p.id for p in people])
    return people, more


def _search_page_url(mode, key, pop=None):
    if mode == "pick":
        return url_for("contacts.new_contact", s=key, pop=pop or None)
    return url_for("contacts.people", s=key)


@bp.get("/people")
@login_required
@roles_required(*PEOPLE_ROLES)
def people():
    """Show the person search."""
    query = load_query(current_user, request.args.get("s"))
    form = SearchForm(formdata=None, q=query, mode="people")
    found, more = _results(query) if query else ([], False)
    return render_template(
        "contacts/people.html", search_form=form, people=found, more=more, query=query
    )


@bp.post("/people/search")
@login_required
@roles_required(*PEOPLE_ROLES)
def search():
    """Answer the active search: the results fragment (htmx) or the page (no JS)."""
    form = SearchForm()
    if not form.validate():
        # Too long or no CSRF token: nothing is searched.
        return render_template("contacts/_search_results.html", people=[], more=False,
                               query="", mode="people", pop=None, invalid=True), 422
    query, mode, pop = form.terms()
    key = save_query(current_user, query) if query else None
    # None when Redis is down: the search cannot be kept behind a URL.
    page_url = _search_page_url(mode, key, pop) if key or not query else None
    if htmx and not htmx.boosted:
        return _search_fragment(query, mode, pop, page_url)
    if page_url:
        return redirect(page_url, code=303)
    # Redis is down: answer with the page itself rather than lose the search.
    return _search_page(form, query, mode)


def _search_fragment(query, mode, pop, page_url):
    """The results fragment of the active search, pushing the page's URL when it has one."""
    found, more = _results(query) if query else ([], False)
    body = render_template("contacts/_search_results.html", people=found, more=more,
                           query=query, mode=mode, pop=pop)
    return make_response(body, push_url=page_url or False)


def _search_page(form, query, mode):
    """The page of the search's results, the new-contact form's or the people page."""
    found, more = _results(query)
    if mode == "pick":
        return _render_new_contact(ContactForm(formdata=None, **_contact_defaults()),
                                   search_form=form, found=found, more=more, query=query)
    return render_template("contacts/people.html", search_form=form, people=found, more=more,
                           query=query)


# --- People ----------------------------------------------------------------


@bp.route("/people/new", methods=["GET", "POST"])
@login_required
@roles_required(*PEOPLE_ROLES)
def new_person():
    """Create a person, warning first about likely duplicates."""
    form = PersonForm()
    duplicates = []
    if form.validate_on_submit():
        values = form.person_values()
        duplicates = operations.find_duplicates(current_user, **_identity(values))
        if not duplicates or form.confirm_duplicate.data:
            person = operations.create_person(current_user, **values)
            db.session.commit()
            flash(_("%(name)s was added.", name=person.name), "success")
            return redirect(url_for("contacts.person", person_id=person.id), code=303)
        audit.listed("person", [p.id for p, _ in duplicates])
    status = 422 if form.errors or duplicates else 200
    return render_template("contacts/person_form.html", form=form, person=None,
                           duplicates=duplicates, first_error=_first_error(form)), status


@bp.get("/people/<int:person_id>")
@login_required
@roles_required(*PEOPLE_ROLES)
def person(person_id):
    """Show a person with their history, newest first."""
    person = get_person_or_404(person_id)
    if person.merged_into_id is not None:
        winner = survivor(person, current_user)
        flash(_("This record was merged into another one; here is the record kept."), "info")
        return redirect(url_for("contacts.person", person_id=winner.id))
    timeline = person_page.timeline_for(person, current_user)
    sections = person_page.sections_for(person, current_user)
    merged_from = db.session.scalars(
        db.select(Person).where(Person.merged_into_id == person.id).order_by(Person.id)
    ).all()
    return render_template(
        "contacts/person.html", person=person, timeline=timeline, sections=sections,
        merged_from=merged_from, can_merge=current_user.role in MERGE_ROLES,
        triage_actions=person_page.person_triage_for(person, current_user),
    )


@person_page.register_timeline
def _contact_entries(person, user):
    """The person's contacts the user may see, as timeline entries."""
    contacts = db.session.scalars(
        visible_contacts(user)
        .where(Contact.person_id == person.id)
        .order_by(Contact.occurred_at.desc(), Contact.id.desc())
        .limit(PERSON_PAGE_CONTACTS)
    ).all()
    entries = []
    for c in contacts:
        badges = [("muted", DIRECTION_LABELS[c.direction])]
        if c.red_flagged:
            badges.insert(0, ("flag", _("red flag")))
        if c.in_inbox:
            badges.append(("elevated", _("not handled yet")))
        entries.append(person_page.TimelineEntry(
            at=c.occurred_at,
            kind="contact",
            title=str(CHANNEL_LABELS[c.channel]),
            url=url_for("contacts.contact", contact_id=c.id),
            detail=_excerpt(c.summary or c.email_subject or ""),
            badges=tuple(badges),
            flagged=c.red_flagged,
        ))
    # Audited once the entries are built: the commit expires the loaded rows.
    audit.listed("contact", [c.id for c in contacts])
    return entries


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@login_required
@roles_required(*PEOPLE_ROLES)
def edit_person(person_id):
    """Change a person's details."""
    person = _active_person_or_404(person_id)
    form = PersonForm(obj=person, person_id=person.id)
    if request.method == "GET":  # the number as this user knows it (contacts.claims)
        form.affiliate_number.data = claims.shown_affiliate_number(person, current_user)
    if form.validate_on_submit():
        changed = operations.update_person(person, current_user, **form.person_values())
        db.session.commit()
        flash(_("Saved.") if changed else _("Nothing changed."), "success")
        return redirect(url_for("contacts.person", person_id=person.id), code=303)
    status = 422 if form.errors else 200
    return render_template("contacts/person_form.html", form=form, person=person,
                           duplicates=[], first_error=_first_error(form)), status


@bp.route("/people/<int:person_id>/merge", methods=["GET", "POST"])
@login_required
@roles_required(*MERGE_ROLES)
def merge_person(person_id):
    """Merge this record into another record of the same person."""
    person = _active_person_or_404(person_id)
    form = _merge_form()
    error = None
    if form.validate_on_submit():
        winner = _merge_winner(form.winner_id.data, person)
        if winner is not None:
            operations.merge_persons(person, winner, current_user)
            db.session.commit()
            flash(_("The records were merged."), "success")
            return redirect(url_for("contacts.person", person_id=winner.id), code=303)
        error = _("Choose another active record than this one.")
    return _render_merge(person, form, error)


def _active_person_or_404(person_id):
    """The person the user may see, unless merged into another record (404)."""
    person = get_person_or_404(person_id)
    if person.merged_into_id is not None:
        abort(404)
    return person


def _merge_form():
    """The merge form; on GET, the record to keep from `?into=` (the duplicates' review)."""
    form = MergeForm()
    into = request.args.get("into", "")
    if request.method == "GET" and into.isascii() and into.isdigit() and len(into) < 19:
        form.winner_id.data = int(into)
    return form


def _merge_winner(winner_id, person):
    """The active record `winner_id` names, other than `person`, or None."""
    winner = db.session.get(Person, winner_id)
    if winner is None or winner.merged_into_id is not None or winner.id == person.id:
        return None
    return winner


def _render_merge(person, form, error=None):
    """The merge page with the records that may be the same person (audited as shown)."""
    candidates = _merge_candidates(person)
    audit.listed("person", [p.id for p, _ in candidates])
    status = 422 if (form.errors or error) else 200
    return render_template("contacts/merge.html", person=person, form=form,
                           candidates=candidates, error=error), status


def _merge_candidates(person):
    """The likely duplicates of `person`, with the record it was flagged against first."""
    candidates = operations.find_duplicates(
        current_user, name=person.name, phone=person.phone, email=person.email,
        affiliate_number=person.affiliate_number, exclude_id=person.id,
    )
    twin = _possible_twin(person)
    if twin is not None and all(p.id != twin.id for p, _ in candidates):
        candidates.insert(0, (twin, list(person.duplicate_reasons or [])))
    return candidates


def _possible_twin(person):
    """The active record a possible duplicate was flagged against (or its survivor)."""
    if person.duplicate_status != operations.DUPLICATE_PENDING:
        return None
    twin = db.session.get(Person, person.possible_duplicate_of_id)
    twin = survivor(twin) if twin is not None else None
    return twin if twin is not None and twin.id != person.id else None


# --- Contacts --------------------------------------------------------------


def _contact_defaults():
    return {"channel": "phone", "direction": "in", "occurred_at": utcnow().replace(second=0,
            microsecond=0)}


def _render_new_contact(form, status=200, person=None, search_form=None, found=(), more=False,
                        query="", matches=(), duplicates=(), pop=None):
    search_form = search_form or SearchForm(formdata=None, q=query, mode="pick",
                                            pop=pop or form.pop.data)
    return render_template(
        "contacts/new_contact.html", form=form, person=person, search_form=search_form,
        people=found, more=more, query=query, matches=matches, duplicates=duplicates,
        first_error=_first_error(form), pop=pop,
    ), status


# The ids of the screen-pops claimed in this browser session (the form carries them on).
SCREEN_POPS_KEY = "screen_pops"


def _open_screen_pop(token):
    """The live screen-pop of `token` for the current user, or None (unknown, expired).

    A screen-pop is an incoming call to the cell: the caller may be anyone, so only the
    roles that may see every person open it (the person page's rule, `sees_all`); for
    anyone else the link is a 404, audited, and nothing of it shows. A link opens once
    (operations.open_screen_pop): a second opening is a 410 page saying so, audited.
    """
    if not token:
        return None
    if not sees_all(current_user):
        pop = operations.resolve_screen_pop(token)
        audit.denied("screen_pop", pop.id if pop else None)
        abort(404)
    opened_here = session.get(SCREEN_POPS_KEY) or []
    try:
        pop = operations.open_screen_pop(current_user, token, opened_here)
    except operations.ScreenPopUsed as used:
        audit.denied("screen_pop", used.args[0].id, {"reason": "already_opened"})
        page = render_template("cellule/error.html", code=410, reason="screen_pop_used")
        abort(Response(page, 410))
    if pop is not None and pop.id not in opened_here:
        session[SCREEN_POPS_KEY] = (opened_here + [pop.id])[-5:]
    return pop


@bp.route("/contacts/new", methods=["GET", "POST"])
@login_required
@roles_required(*PEOPLE_ROLES)
def new_contact():
    """Log a contact: pick or create the person (or none), then the exchange."""
    form = _contact_form()
    pop = _screen_pop_of(form)
    person, matches = _contact_person(form, pop)
    if request.method != "POST" or not form.validate():
        return _render_desk(form, person, matches)
    if person is None and not form.anonymous.data:
        person, duplicates = _new_person(form)
        if person is None:
            return _render_new_contact(form, 422, duplicates=duplicates, pop=form.pop.data)
    contact = operations.create_contact(
        current_user, person=person, call_id=pop.call_id if pop else None,
        **form.contact_values())
    db.session.commit()
    _flash_saved(contact)
    return redirect(_after_saving(form, contact), code=303)


def _contact_form():
    """The new-contact form: as posted, or the defaults (and `?then=triage`) to fill in."""
    if request.method == "POST":
        return ContactForm()
    form = ContactForm(formdata=None, **_contact_defaults())
    form.then.data = "triage" if request.args.get("then") == "triage" else ""
    return form


def _screen_pop_of(form):
    """The screen-pop the form carries on (POST) or its link opens (GET), or None; an
    expired one is said and dropped from the form."""
    token = (form.pop.data if request.method == "POST" else request.args.get("pop")) or None
    pop = _open_screen_pop(token)
    if token and pop is None:
        flash(_("This screen-pop link has expired: search for the caller."), "warning")
        token = None
    form.pop.data = token
    return pop


def _contact_person(form, pop):
    """(person, matches): the person picked (`person_id`, `?person=`; their survivor), else
    on a screen-pop the people with the caller's number, the only one picked."""
    person_id = form.person_id.data if request.method == "POST" else request.args.get("person")
    if person_id and str(person_id).isascii() and str(person_id).isdigit():
        person = survivor(get_person_or_404(int(person_id)), current_user)
        form.person_id.data = str(person.id)
        return person, []
    if request.method == "GET" and pop is not None and pop.phone:
        return _caller_matches(form, pop)
    return None, []


def _caller_matches(form, pop):
    """(person, matches): the people with the screen-pop caller's number, audited as
    shown; the only one is picked (and its read audited)."""
    form.phone.data = pop.phone
    matches = db.session.scalars(
        visible_persons(current_user).where(Person.phone == pop.phone)
        .order_by(Person.id).limit(10)
    ).all()
    audit.listed("person", [p.id for p in matches])
    if len(matches) != 1:
        return None, matches
    form.person_id.data = str(matches[0].id)
    audit.read("person", matches[0].id)
    return matches[0], matches


def _new_person(form):
    """(person, duplicates): create the person typed in the form.

    No person when likely duplicates await confirmation (audited as shown), or when the
    affiliate number was taken meanwhile (rolled back; the field says so).
    """
    values = form.person_values()
    duplicates = operations.find_duplicates(current_user, **_identity(values))
    if duplicates and not form.confirm_duplicate.data:
        audit.listed("person", [p.id for p, _ in duplicates])
        return None, duplicates
    try:
        return operations.create_person(current_user, **values), []
    except IntegrityError:
        db.session.rollback()
        form.affiliate_number.errors.append(_("This affiliate number belongs to another person."))
        return None, []


def _render_desk(form, person, matches):
    """The new-contact page: to fill in (200, with a saved search's results) or with the
    errors of a post (422)."""
    query = load_query(current_user, request.args.get("s")) if request.method == "GET" else ""
    found, more = _results(query) if query and person is None else ([], False)
    status = 422 if request.method == "POST" else 200
    return _render_new_contact(form, status, person=person, found=found, more=more,
                               query=query, matches=matches if person is None else (),
                               pop=form.pop.data)


def _after_saving(form, contact):
    """Where a saved contact leads: its triage ("Log this exchange and run the triage")
    or its page."""
    if form.then.data == "triage":
        return url_for("triage_ui.start", contact_id=contact.id)
    return url_for("contacts.contact", contact_id=contact.id)


def _flash_saved(contact):
    flash(_("The contact was saved."), "success")
    if contact.red_flagged:
        flash(_("Red-flag words in the text: run the safety questions of the triage now."),
              "error")


@bp.get("/contacts/<int:contact_id>")
@login_required
@roles_required(*PEOPLE_ROLES)
def contact(contact_id):
    """Show one contact."""
    contact = get_contact_or_404(contact_id)
    sections = person_page.contact_sections_for(contact, current_user)
    return render_template(
        "contacts/contact.html", contact=contact, sections=sections,
        triage_actions=person_page.contact_triage_for(contact, current_user),
        can_handle=contact.in_inbox and current_user.role in INBOX_ROLES,
        action_form=ActionForm(),
    )


@bp.route("/referrals/new", methods=["GET", "POST"])
@login_required
@roles_required(*PEOPLE_ROLES)
def new_referral():
    """Hand over someone a fund colleague is worried about (short form)."""
    form = ReferralForm()
    if form.validate_on_submit():
        contact = operations.create_referral(current_user, **form.referral_values())
        db.session.commit()
        _flash_referred(contact)
        return redirect(url_for("contacts.contact", contact_id=contact.id), code=303)
    status = 422 if form.errors else 200
    return render_template("contacts/referral.html", form=form,
                           first_error=_first_error(form)), status


def _flash_referred(contact):
    flash(_("Thank you: the listening cell will take it from here."), "success")
    if contact.red_flagged:
        flash(_("Your note mentions a danger sign: the cell sees it first. If the person "
                "is in immediate danger, call 112."), "error")


# --- Inbox -----------------------------------------------------------------


@bp.get("/inbox")
@login_required
@roles_required(*INBOX_ROLES)
def inbox():
    """List unhandled emails and internal referrals: red-flagged first, then oldest."""
    try:
        items, next_cursor = keyset_page(_unhandled(), "inbox", INBOX_ORDER,
                                         request.args.get("after"), INBOX_PAGE)
    except BadCursor:
        abort(400)
    audit.listed("contact", [c.id for c in items])
    return render_template("contacts/inbox.html", items=items, next_cursor=next_cursor,
                           action_form=ActionForm(), now=utcnow())


def _unhandled():
    """The inbox's items: unhandled emails and referrals, with their person and author."""
    return (
        db.select(Contact)
        # The channels written in the SQL, as in the partial index `ix_contacts_inbox`: a
        # prepared statement's generic plan can use the index only if it sees them.
        .where(Contact.channel.in_([literal_column(f"'{c}'") for c in INBOX_CHANNELS]),
               Contact.handled_at.is_(None))
        .options(selectinload(Contact.person), selectinload(Contact.created_by))
    )


@bp.post("/contacts/<int:contact_id>/handled")
@login_required
@roles_required(*INBOX_ROLES)
def mark_handled(contact_id):
    """Take an item off the inbox."""
    contact = get_contact_or_404(contact_id, audit_read=False)
    form = ActionForm()
    if not form.validate():
        abort(400)
    operations.mark_handled(contact, current_user)
    db.session.commit()
    if htmx and not htmx.boosted:
        return render_template("contacts/_handled.html", contact=contact)
    flash(_("Marked as handled."), "success")
    return redirect(url_for("contacts.inbox"), code=303)


# --- Helpers ---------------------------------------------------------------


def _identity(values):
    return {k: values.get(k) for k in ("name", "phone", "email", "affiliate_number")}


def _first_error(form):
    return next(iter(form.errors), None)


def _excerpt(text, length=160):
    text = " ".join((text or "").split())
    return text if len(text) <= length else text[: length - 1] + "…"
