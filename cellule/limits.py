"""The longest text each free-text field accepts, in one place (issue 13).

Each number is enforced once, by the check the HTML form and the JSON API share (a
`contacts.validation` check, an operation, the triage engine's item check), stated as
`maxLength` in the OpenAPI document (`text()`) and as `maxlength` on the form's input
(templates read `limits.*`). None is above its database column. docs/limits.md lists
every field with its limit and why. (A triage script's free-text answers are bounded by
the script, at most `triage.model.TEXT_MAX_LENGTH`: triage's knowledge modules stay pure.)
"""

# Names and addresses: the columns are String(n) of these sizes.
NAME = 200  # a person's, a user's, a resource's name
EMAIL = 254  # RFC 5321's longest forward path
PHONE = 40  # as typed when it is not a number
AFFILIATE_NUMBER = 40
URL = 500  # a resource's web address
LINE = 200  # a resource's hours or cost in words
PRICE = 20  # a resource's price typed in euros (parsed, stored in cents)
CALL_ID = 100  # the telephony's call id
SEARCH = 200  # a search query (not stored)
LOOKUP = 40  # the audit log's object type and id filters (String(40))

# Free text (Text columns): long enough for what a person says in a long call.
SUMMARY = 20_000  # a contact's summary, what an ambassador noticed, a triage's notes
NOTE = 20_000  # a case note (team or clinical)
TASK_TITLE = 200  # String(200)
# A reason or a short note that explains a decision: a paragraph or two.
REASON = 2_000  # override reason, sign-off note, safety note, referral note
COMMENT = 2_000  # a satisfaction survey's comment
DESCRIPTION = 4_000  # a resource's description, per language
ERASURE_REASON = 1_000  # why a person's data is erased (kept in the audit log)

# Typed at sign-in (passwords: cellule.passwords.MAX_LENGTH, with the password policy).
CODE = 40  # a TOTP or recovery code


def too_long(value, limit):
    """Whether `value` is text longer than `limit` characters (None and non-text: no)."""
    return isinstance(value, str) and len(value) > limit


def at_most(limit):
    """The API's English message for a text over its limit."""
    return f"at most {limit} characters"


def text(limit, **schema):
    """An OpenAPI string schema stating the limit: `limits.text(limits.NOTE)`."""
    return {"type": "string", "maxLength": limit, **schema}
