"""Issue 14, high: an administrator can no longer learn or replace anyone's credential to
read clinical notes. A password reset mails the owner a link (the admin sees none); the
psychologist and supervisor roles and a second-factor reset wait for a supervisor other
than the requester; every reset is told to the owner by email."""

import re

import pytest
from sqlalchemy import select

from cellule.extensions import db
from cellule.models import ApiToken, AuditEvent, User
from tests.conftest import PASSWORD
from tests.core.mail_helpers import delivered, link_in, mailbox, path_of, text_of  # noqa: F401
from tests.security.conftest import page_text, reload

NEW_PASSWORD = "violet tractor under the moon"


@pytest.fixture
def admin(client, login_as):
    return login_as("admin", name="Ada Admin")


def signed_in(app, user, password=PASSWORD):
    other = app.test_client()
    assert other.login(user, password=password).status_code == 302
    return other


def set_password(client, path, password=NEW_PASSWORD):
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', page_text(page)).group(1)
    return client.post_form("/account/setup",
                            {"token": token, "new_password": password, "confirm": password})


def pending(user):
    from cellule.approvals import AccountApproval

    db.session.expire_all()
    return db.session.scalars(
        select(AccountApproval).where(AccountApproval.user_id == user.id,
                                      AccountApproval.outcome.is_(None))
    ).all()


def audit_actions(user):
    return db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_type == "user", AuditEvent.object_id == str(user.id))
        .order_by(AuditEvent.id)
    ).all()


def test_an_admin_reset_of_a_psychologist_reveals_nothing_and_ends_everything(
    app, client, admin, make_user, mailbox  # noqa: F811
):
    psy = make_user("psychologist", name="Chloé Psy")
    row, token = ApiToken.issue(psy)
    db.session.add(row)
    db.session.commit()
    browser = signed_in(app, psy)
    api = app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    response = client.post_form(f"/admin/users/{psy.id}/reset-password", follow_redirects=True)
    page = page_text(response)
    assert response.status_code == 200
    assert "A set-up link was sent to" in page
    assert "token=" not in page and "temporary-password" not in page

    assert app.test_client().login(psy, password=PASSWORD).status_code == 401  # old one dead
    assert browser.get("/").status_code == 302  # signed out
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    [message] = delivered(app, mailbox, to=psy.email)
    assert message["Subject"] == "Your Cellule password was reset"
    assert "Ada Admin reset the password" in text_of(message)
    assert link_in(message).split("token=")[1] not in page
    assert "password_reset" in audit_actions(psy)

    # The owner chooses a new password; the second factor is still theirs.
    owner = app.test_client()
    assert set_password(owner, path_of(link_in(message))).status_code == 303
    assert owner.login(reload(psy), password=NEW_PASSWORD).status_code == 302
    assert owner.get("/").status_code == 200


def test_a_new_psychologist_waits_for_another_supervisor(
    app, client, admin, make_user, mailbox  # noqa: F811
):
    first = make_user("supervisor", name="Els Superviseur")
    response = client.post_form(
        "/admin/users/new",
        {"email": "new.psy@fund.be", "name": "Nora Psy", "role": "psychologist",
         "language": "en"},
        follow_redirects=True,
    )
    assert "awaits a supervisor" in page_text(response)
    user = db.session.scalar(select(User).where(User.email == "new.psy@fund.be"))
    assert not user.active
    assert "awaiting a supervisor" in page_text(client.get("/admin/users/"))

    # No link yet; the supervisor is told a request waits.
    messages = delivered(app, mailbox)
    assert [m["To"] for m in messages] == [first.email]
    assert messages[0]["Subject"] == "An account change awaits your approval"
    assert "Ada Admin created an account for Nora Psy" in text_of(messages[0])
    # The account cannot sign in, and neither activation nor a reset opens it.
    assert app.test_client().login(user, password=PASSWORD).status_code == 401
    client.post_form(f"/admin/users/{user.id}/activate")
    client.post_form(f"/admin/users/{user.id}/reset-password")
    assert not reload(user).active
    assert len(delivered(app, mailbox)) == 1

    # The requesting admin has no right to decide.
    [approval] = pending(user)
    assert client.get("/approvals/").status_code == 403
    assert client.post_form(f"/approvals/{approval.id}/approve").status_code == 403
    assert pending(user)

    # Another supervisor approves: the account opens and its owner gets the link.
    decider = app.test_client()
    assert decider.login(first).status_code == 302
    home = page_text(decider.get("/"))
    assert "1 account change awaits your approval" in home
    listing = page_text(decider.get("/approvals/"))
    assert "Nora Psy" in listing and "New account with the role psychologist" in listing
    assert decider.post_form(f"/approvals/{approval.id}/approve").status_code == 303
    assert reload(user).active and not pending(user)
    [invite] = delivered(app, mailbox, to="new.psy@fund.be")
    owner = app.test_client()
    assert set_password(owner, path_of(link_in(invite))).status_code == 303
    # Signing in works; the psychologist enrols a second factor first, as always.
    answer = owner.login(reload(user), password=NEW_PASSWORD)
    assert answer.status_code == 302 and answer.headers["Location"] == "/login/enrol"
    actions = audit_actions(user)
    assert "approval_requested" in actions and "approval_decided" in actions
    decided = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "approval_decided"))
    assert decided.user_id == first.id and '"outcome": "approved"' in decided.detail


def test_a_role_change_to_supervisor_waits_and_the_role_stays(
    app, client, admin, make_user, mailbox  # noqa: F811
):
    advisor = make_user("advisor", name="Bram Advisor")
    supervisor = make_user("supervisor")
    session = signed_in(app, advisor)
    client.post_form(f"/admin/users/{advisor.id}/role", {"role": "supervisor"})
    assert reload(advisor).role == "advisor"
    assert session.get("/").status_code == 200  # nothing happened yet
    assert "role supervisor awaits approval" in page_text(client.get("/admin/users/"))
    [approval] = pending(advisor)
    assert client.post_form(f"/approvals/{approval.id}/approve").status_code == 403  # requester
    assert reload(advisor).role == "advisor"

    decider = signed_in(app, supervisor)
    assert decider.post_form(f"/approvals/{approval.id}/approve").status_code == 303
    assert reload(advisor).role == "supervisor"
    assert session.get("/").status_code == 302  # the new role starts with a new sign-in


def test_a_supervisor_never_decides_about_themselves(
    app, client, admin, make_user, mailbox  # noqa: F811
):
    target = make_user("supervisor", name="Sam Supervisor")
    other = make_user("supervisor", name="Olga Supervisor")
    client.post_form(f"/admin/users/{target.id}/reset-totp")
    assert reload(target).totp_secret is not None  # waits
    [approval] = pending(target)
    # Only the other supervisor is asked.
    assert [m["To"] for m in delivered(app, mailbox)] == [other.email]

    assert client.post_form(f"/approvals/{approval.id}/approve").status_code == 403  # requester
    own = signed_in(app, target)
    assert "await your approval" not in page_text(own.get("/"))
    listing = page_text(own.get("/approvals/"))
    assert f'id="approval-{approval.id}"' not in listing
    assert "No account change awaits your approval" in listing
    assert own.post_form(f"/approvals/{approval.id}/approve").status_code == 403
    assert reload(target).totp_secret is not None and pending(target)

    decider = signed_in(app, other)
    assert decider.post_form(f"/approvals/{approval.id}/approve").status_code == 303
    assert reload(target).totp_secret is None
    assert own.get("/").status_code == 302  # sessions ended
    notice = delivered(app, mailbox, to=target.email)[-1]
    assert notice["Subject"] == "The second factor of your Cellule account was removed"
    assert ("at the request of Ada Admin, approved by Olga Supervisor"
            in " ".join(text_of(notice).split()))
    # At the next sign-in the owner enrols again.
    assert app.test_client().login(reload(target)).headers["Location"] == "/login/enrol"


def test_a_refused_or_withdrawn_request_changes_nothing(
    app, client, admin, make_user, mailbox  # noqa: F811
):
    psy = make_user("psychologist")
    supervisor = make_user("supervisor")
    decider = signed_in(app, supervisor)
    client.post_form(f"/admin/users/{psy.id}/reset-totp")
    [approval] = pending(psy)
    assert decider.post_form(f"/approvals/{approval.id}/refuse").status_code == 303
    assert reload(psy).totp_secret is not None and not pending(psy)
    # Decided once: approving afterwards does nothing.
    decider.post_form(f"/approvals/{approval.id}/approve")
    assert reload(psy).totp_secret is not None

    # An admin withdraws a pending request from the users page; it cannot be approved then.
    client.post_form(f"/admin/users/{psy.id}/reset-totp")
    [again] = pending(psy)
    assert "Withdraw" in page_text(client.get("/admin/users/"))
    client.post_form(f"/admin/users/approvals/{again.id}/withdraw")
    assert not pending(psy)
    answer = decider.post_form(f"/approvals/{again.id}/approve", follow_redirects=True)
    assert "already decided or withdrawn" in page_text(answer)
    assert reload(psy).totp_secret is not None


def test_a_refused_new_account_stays_closed(app, client, admin, make_user, mailbox):  # noqa: F811
    supervisor = make_user("supervisor")
    client.post_form("/admin/users/new", {"email": "x.psy@fund.be", "name": "X Psy",
                                          "role": "psychologist", "language": "en"})
    user = db.session.scalar(select(User).where(User.email == "x.psy@fund.be"))
    [approval] = pending(user)
    signed_in(app, supervisor).post_form(f"/approvals/{approval.id}/refuse")
    assert "role not approved" in page_text(client.get("/admin/users/"))
    answer = client.post_form(f"/admin/users/{user.id}/activate", follow_redirects=True)
    assert "cannot be activated before" in page_text(answer)
    assert not reload(user).active
    assert all(m["To"] != "x.psy@fund.be" for m in delivered(app, mailbox))
    # Given a role without four eyes, it opens as any new account: with a mailed link.
    client.post_form(f"/admin/users/{user.id}/role", {"role": "advisor"})
    assert reload(user).active and reload(user).role == "advisor"
    assert link_in(delivered(app, mailbox, to="x.psy@fund.be")[0])


def test_the_operators_second_factor_reset_is_told_to_the_owner(app, make_user,
                                                                mailbox):  # noqa: F811
    psy = make_user("psychologist")
    result = app.test_cli_runner().invoke(args=["users", "reset-totp", psy.email])
    assert result.exit_code == 0, result.output
    assert reload(psy).totp_secret is None
    [notice] = delivered(app, mailbox, to=psy.email)
    assert notice["Subject"] == "The second factor of your Cellule account was removed"
    assert "by the server's operator" in text_of(notice)


def test_two_requests_at_once_leave_one_pending(app, make_user, monkeypatch):
    from cellule import approvals

    admin, psy = make_user("admin"), make_user("psychologist")
    first = approvals.request_change(psy, "mfa_reset", admin)
    db.session.commit()
    # The second administrator's request does not see the first one yet (a race):
    monkeypatch.setattr(approvals, "withdraw", lambda approval, by: False)
    second = approvals.request_change(psy, "mfa_reset", admin)
    db.session.commit()
    assert second.id == first.id and len(pending(psy)) == 1
