"""What a person is known by to each user, and the records a user may not see (issue 14).

An ambassador sees only the people they created. Were the affiliate number they type
refused because it belongs to someone else, or a phone or email flagged as known, they
would learn what the cell knows about people they may not see. So, for users who do not
see every person:

- a number, phone or email shared with a person they may not see is never an error: the
  person is filed as new, marked "possible duplicate" for the advisors' review
  (`operations.create_person`, `contacts.duplicates`);
- the affiliate number such a record cannot hold (the column is unique) is kept aside as
  `claimed_affiliate_number`, and the one who typed it is shown it as the record's
  affiliate number, everywhere they see the record (page, form, API, search): they know
  it already, and anything else would tell a colliding number from a fresh one.

Users who see every person keep the plain rules: a taken number is refused (they may see
its holder anyway), and they are shown the record's own number only.
"""

from sqlalchemy import or_, select

from cellule.extensions import db

from .access import sees_all, survivor, visible_persons
from .models import Person


def sees_everyone(user):
    # No user: the application itself (demo seeds, jobs), which sees everything.
    return user is None or sees_all(user)


def shown_affiliate_number(person, user):
    """The affiliate number `user` is shown for `person` (one they may see)."""
    if person is None:
        return None
    if sees_everyone(user):
        return person.affiliate_number
    return person.affiliate_number or person.claimed_affiliate_number


def affiliate_number_is(user, number):
    """A condition: the person's affiliate number, as `user` knows it, is `number`."""
    if sees_everyone(user):
        return Person.affiliate_number == number
    return or_(Person.affiliate_number == number, Person.claimed_affiliate_number == number)


def affiliate_number_taken(number, user=None, person_id=None):
    """Whether the cleaned `number` already belongs to another record, as `user` may know.

    For users who see every person: any record holding it (merged ones included: the
    column is unique). For the others: only an active record of theirs, by its own number
    or the one they typed for it; a record they may not see does not count.
    """
    if sees_everyone(user):
        stmt = select(Person.id).where(Person.affiliate_number == number)
    else:
        stmt = visible_persons(user).with_only_columns(Person.id).where(
            affiliate_number_is(user, number)
        )
    stmt = stmt.where(Person.id != (person_id or 0)).limit(1)
    return db.session.scalar(stmt) is not None


def number_holder(number, person_id=None):
    """The other record holding the affiliate number `number`, or None."""
    if not number:
        return None
    return db.session.scalar(
        select(Person).where(Person.affiliate_number == number, Person.id != (person_id or 0))
    )


def hides(holder, user):
    """Whether `holder`'s number, typed by `user`, must not be refused: the record is not
    an active one of theirs (someone else's, or theirs merged into another — whether the
    number was carried over to the survivor must not show either)."""
    if holder is None or sees_everyone(user):
        return False
    return holder.created_by_id != user.id or holder.is_merged


def hidden_twins(user, person_id, holder=None, phone=None, email=None):
    """Return (twin, reasons) for what `user` typed for the record `person_id` (None when
    new): the record that shares it beyond what `user` may see — the survivor of the
    record holding the affiliate number they typed (`holder`, when `hides` it), else a
    person they may not see with that phone, else with that email — and what it shares;
    (None, []) when nothing is shared, and always for users who see every person.

    `phone` is an E.164 text (numbers kept as typed are not compared), `email` normalised.
    """
    if sees_everyone(user):
        return None, []
    others = Person.id != (person_id or 0)
    by_number = survivor(holder) if hides(holder, user) else None
    twin = by_number
    hidden = Person.created_by_id.is_distinct_from(user.id)
    for column, value in (("phone", phone), ("email", email)):
        if twin is None and value:
            twin = db.session.scalar(
                select(Person)
                .where(getattr(Person, column) == value, hidden,
                       Person.merged_into_id.is_(None), others)
                .order_by(Person.id).limit(1)
            )
    if twin is None or twin.id == person_id:
        return None, []
    reasons = ["affiliate_number"] if twin is by_number else []
    reasons += [name for name, value in (("phone", phone), ("email", email))
                if value and getattr(twin, name) == value]
    return twin, reasons
