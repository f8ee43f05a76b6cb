"""admin.auth's rules on their own: password hashes, token hashes, login throttling."""
import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from admin import auth
from common.db import connect


def test_a_password_hash_is_salted_scrypt_and_checks_only_the_right_password():
    stored = auth.hash_password("correct horse")
    scheme, salt, digest = stored.split("$")
    assert scheme == "scrypt" and len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(digest)) == 32
    assert auth.hash_password("correct horse") != stored  # a new salt each time
    assert auth.check_password(stored, "correct horse")
    assert not auth.check_password(stored, "correct horsE")
    assert not auth.check_password(stored, "")


@pytest.mark.parametrize("stored", ["", "scrypt$abcd", "scrypt$00$11$22", "bcrypt$00$11"])
def test_a_malformed_or_foreign_hash_never_matches(stored):
    assert not auth.check_password(stored, "correct horse")


def test_a_foreign_scheme_with_the_right_digest_does_not_match():
    _scheme, salt, digest = auth.hash_password("x").split("$")
    assert not auth.check_password(f"pbkdf2${salt}${digest}", "x")
    assert auth.check_password(f"scrypt${salt}${digest}", "x")


def test_a_token_is_stored_as_its_sha256():
    assert auth.token_hash("fwk_abc") == hashlib.sha256(b"fwk_abc").hexdigest()


@pytest.fixture
def conn(admin_app, runner):
    result = runner.invoke(args=["create-user", "coach@example.test", "--role", "lifecoach", "--password-stdin"],
                           input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    c = connect(admin_app.config["ADMIN_DB"])
    yield c
    c.close()


def failures(conn):
    return [(r["email"], r["client"]) for r in conn.execute("SELECT email, client FROM login_failures ORDER BY id")]


def test_a_login_needs_the_right_password_of_an_active_account_and_a_failure_is_written(conn):
    assert auth.attempt_login(conn, "coach@example.test", "wrong", "c1") is None
    assert auth.attempt_login(conn, "nobody@example.test", "correct horse battery", "c1") is None
    assert failures(conn) == [("coach@example.test", "c1"), ("nobody@example.test", "c1")]
    staff = auth.attempt_login(conn, "coach@example.test", "correct horse battery", "c1")
    assert staff is not None and staff["email"] == "coach@example.test"
    assert failures(conn) == [("nobody@example.test", "c1")]  # a success forgets this client's failures
    conn.execute("UPDATE staff SET active = 0")
    assert auth.attempt_login(conn, "coach@example.test", "correct horse battery", "c1") is None


def fail(conn, times, email="coach@example.test", client="", minutes_ago=0):
    at = (datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)).isoformat(timespec="milliseconds")
    for _ in range(times):
        conn.execute("INSERT INTO login_failures(email, at, client) VALUES (?, ?, ?)", (email, at, client))


def test_five_failures_of_an_address_in_a_quarter_of_an_hour_make_it_wait(conn):
    fail(conn, 4)
    fail(conn, 3, minutes_ago=16)  # outside the window
    assert not auth.login_throttled(conn, "coach@example.test", "c1")
    fail(conn, 1)
    assert auth.login_throttled(conn, "coach@example.test", "c1")
    assert not auth.login_throttled(conn, "other@example.test", "c1")


def test_twenty_failures_of_one_client_make_it_wait_whatever_address_it_tries(conn):
    for n in range(19):
        fail(conn, 1, email=f"guess{n}@example.test", client="c9")
    assert not auth.login_throttled(conn, "coach@example.test", "c9")
    fail(conn, 1, email="guess19@example.test", client="c9")
    assert auth.login_throttled(conn, "coach@example.test", "c9")
    assert not auth.login_throttled(conn, "coach@example.test", "c8")
    assert not auth.login_throttled(conn, "coach@example.test", "")  # no client key: no client limit


def test_a_known_device_counts_only_its_own_failures(conn):
    fail(conn, 10, client="c1")                    # a stranger hammering the address
    assert auth.login_throttled(conn, "coach@example.test", "c2")
    assert not auth.login_throttled(conn, "coach@example.test", "d:mine")
    fail(conn, 4, client="d:mine")
    assert not auth.login_throttled(conn, "coach@example.test", "d:mine")
    fail(conn, 1, client="d:mine")
    assert auth.login_throttled(conn, "coach@example.test", "d:mine")


@pytest.mark.parametrize("setting, secure", [("", False), ("0", False), ("no", False), ("1", True), ("true", True),
                                             ("TRUE", True), ("yes", True), ("Yes", True)])
def test_the_session_cookie_is_secure_behind_tls_or_when_configured(admin_app, setting, secure):
    admin_app.config["ADMIN_SECURE_COOKIES"] = setting
    with admin_app.test_request_context("/", base_url="http://fitwerk.test"):
        assert auth.cookie_secure() is secure
    with admin_app.test_request_context("/", base_url="https://fitwerk.test"):
        assert auth.cookie_secure() is True
