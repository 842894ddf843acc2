"""Sign-in throttling (ASVS 6.3.1): per account and per address on Redis, failures only,
429 with Retry-After and a clear message, no hard lock-out, storage errors not swallowed."""

import time

import pytest

from cellule import create_app
from cellule.throttle import storage_uri
from tests.conftest import CelluleClient, base_config
from tests.security.conftest import PASSWORD, current_totp_code, page_text


@pytest.fixture
def limits(app):
    app.config["CELLULE_LOGIN_LIMIT_ACCOUNT"] = "3 per 15 minutes"
    app.config["CELLULE_LOGIN_LIMIT_IP"] = "6 per 15 minutes"
    return app


def fail(client, email, address="10.0.0.1"):
    return client.post_form(
        "/login",
        {"email": email, "password": "not the right password"},
        environ_base={"REMOTE_ADDR": address},
    )


def test_account_is_throttled_after_failures_with_retry_after(client, make_user, limits):
    user = make_user("advisor")
    for _ in range(3):
        assert fail(client, user.email).status_code == 401
    refused = fail(client, user.email)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    # Even the right password is refused until the window moves (no password oracle).
    right = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert right.status_code == 429
    client.post_form("/language", {"language": "en"})
    text = page_text(fail(client, user.email))
    assert "too many failed sign-in attempts" in text.lower()
    assert "not locked" in text


def test_other_accounts_from_another_address_are_not_affected(client, make_user, limits):
    victim, other = make_user("advisor"), make_user("advisor")
    for _ in range(4):
        fail(client, victim.email)
    ok = client.post_form(
        "/login",
        {"email": other.email, "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert ok.status_code == 302


def test_address_is_throttled_across_accounts(client, make_user, limits):
    for n in range(6):
        assert fail(client, f"guess{n}@fund.be", "10.9.9.9").status_code == 401
    assert fail(client, "another@fund.be", "10.9.9.9").status_code == 429
    assert fail(client, "another@fund.be", "10.9.9.8").status_code == 401


def test_successes_are_not_counted(client, make_user, limits):
    user = make_user("advisor")
    for _ in range(6):
        assert client.login(user).status_code == 302
        client.post_form("/logout")
    assert fail(client, user.email).status_code == 401


def test_the_window_moves_there_is_no_hard_lock_out(client, make_user, app):
    app.config["CELLULE_LOGIN_LIMIT_ACCOUNT"] = "2 per 2 seconds"
    user = make_user("advisor")
    fail(client, user.email)
    fail(client, user.email)
    assert fail(client, user.email).status_code == 429
    time.sleep(2.1)
    assert client.login(user).status_code == 302


def test_second_factor_failures_are_throttled_per_account(client, make_user, limits):
    user = make_user("supervisor")
    client.post_form("/login", {"email": user.email, "password": PASSWORD})
    for _ in range(3):
        assert client.post_form("/login/code", {"code": "000000"}).status_code == 401
    assert client.post_form("/login/code", {"code": current_totp_code(user)}).status_code == 429


def test_failures_count_under_the_account_named_not_the_one_pending(client, make_user, limits):
    """A session past A's password step that then fails B's password counts under B."""
    first, second = make_user("supervisor"), make_user("advisor")
    passed = client.post_form("/login", {"email": first.email, "password": PASSWORD})
    assert passed.headers["Location"] == "/login/code"
    for _ in range(3):
        assert fail(client, second.email).status_code == 401
    assert fail(client, second.email).status_code == 429
    # A's own second step is not throttled by B's failures.
    code = client.post_form("/login/code", {"code": current_totp_code(first)})
    assert code.status_code == 302
    # B's counter holds in a fresh session too.
    client.post_form("/logout")
    assert fail(client, second.email).status_code == 429


def test_reauthentication_failures_are_throttled(client, login_as, limits):
    login_as("advisor")
    for _ in range(3):
        assert client.post_form("/account/confirm", {"password": "nope"}).status_code == 401
    assert client.post_form("/account/confirm", {"password": PASSWORD}).status_code == 429


def test_counters_live_in_redis_without_email_addresses(client, make_user, limits):
    from cellule.redis_conn import get_redis

    user = make_user("advisor", email="nadia.peeters@fund.be")
    fail(client, user.email)
    keys = [k.decode() for k in get_redis().keys("*")]
    assert any("signin-account" in k for k in keys), keys
    assert not any("nadia" in k for k in keys)


def test_redis_down_means_503_not_unthrottled_sign_in(database_url, tmp_path, make_user):
    app = create_app(base_config(database_url, "redis://127.0.0.1:1/0"), tmp_path)
    with app.app_context():
        user = make_user("advisor")
        client = CelluleClient(app, app.response_class, use_cookies=True)
        response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 503
    assert "Traceback" not in response.get_data(as_text=True)


def test_redis_lost_between_the_check_and_the_count_answers_not_500(database_url, tmp_path,
                                                                    make_user, monkeypatch):
    # A real redis-server stops while the password is being checked: the attempt was checked
    # (the limiter's before-request hook), its answer stands; the next attempt meets the 503.
    import cellule.auth
    from tests.jobs.conftest import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    try:
        app = create_app(base_config(database_url, server.url), tmp_path / "instance")
        verify = cellule.auth.verify_password

        def verify_while_redis_stops(*args):
            server.stop()
            return verify(*args)

        with app.app_context():
            user = make_user("advisor")
            client = CelluleClient(app, app.response_class, use_cookies=True)
            token = client.csrf_token()
            monkeypatch.setattr(cellule.auth, "verify_password", verify_while_redis_stops)
            wrong = client.post("/login", data={"csrf_token": token, "email": user.email,
                                                "password": "not the right password"})
            monkeypatch.setattr(cellule.auth, "verify_password", verify)
            again = client.post("/login", data={"csrf_token": token, "email": user.email,
                                                "password": PASSWORD})
    finally:
        server.stop()
    assert wrong.status_code == 401
    assert "Traceback" not in wrong.get_data(as_text=True)
    assert again.status_code == 503


@pytest.mark.parametrize(
    "url, expected",
    [
        ("redis://127.0.0.1:6379/6", "redis://127.0.0.1:6379/6"),
        ("unix:///tmp/r/redis.sock", "redis+unix:///tmp/r/redis.sock"),
    ],
)
def test_storage_uri(url, expected):
    class Fake:
        config = {"REDIS_URL": url}
        instance_path = "/srv/cellule"

    assert storage_uri(Fake) == expected


def test_storage_uri_of_the_embedded_redis():
    class Fake:
        config = {"REDIS_URL": ""}
        instance_path = "/srv/cellule/instance"

    assert storage_uri(Fake) == "redis+unix:///srv/cellule/instance/redis.sock"
