"""admin.auth's rules on their own: password hashes, token hashes, login throttling."""
import hashlib
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

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


def test_a_failed_login_costs_one_scrypt_whether_or_not_the_address_exists(conn, monkeypatch):
    work = []
    for name in ("hash_password", "check_password"):
        real = getattr(auth, name)
        monkeypatch.setattr(auth, name, lambda *args, real=real, name=name: work.append(name) or real(*args))
    assert auth.attempt_login(conn, "nobody@example.test", "correct horse battery", "c1") is None
    assert work == ["hash_password"]   # no timing hint of which addresses exist
    assert auth.attempt_login(conn, "coach@example.test", "wrong", "c1") is None
    assert work == ["hash_password", "check_password"]


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


# --- the device cookie: a browser that logged in to an address before ----------------

def signed(admin_app, payload, salt="fitwerk-device", age=timedelta()):
    """A cookie value signed with the app's key, as if issued `age` ago."""
    class Aged(TimestampSigner):
        def get_timestamp(self):
            return int(time.time() - age.total_seconds())
    return URLSafeTimedSerializer(admin_app.config["SECRET_KEY"], salt=salt, signer=Aged).dumps(payload)


def as_browser(admin_app, cookie=None, address="192.0.2.7"):
    headers = {"Cookie": f"{auth.DEVICE_COOKIE}={cookie}"} if cookie else {}
    return admin_app.test_request_context("/login", headers=headers, environ_base={"REMOTE_ADDR": address})


def test_a_device_cookie_is_a_random_device_known_only_to_its_own_address_in_any_case(admin_app):
    with as_browser(admin_app):
        cookie, other = auth.device_cookie("Coach@Example.test"), auth.device_cookie("coach@example.test")
    with as_browser(admin_app, cookie):
        device = auth.known_device("coach@example.test")
        assert device is not None and len(device) == 16  # 12 random bytes
        assert auth.known_device("COACH@example.TEST") == device
        assert auth.known_device("other@example.test") is None
        assert auth.client_key("coach@example.test") == "d:" + device
    with as_browser(admin_app, other):
        assert auth.known_device("coach@example.test") not in (None, device)


@pytest.mark.parametrize("salt, age, known", [
    ("fitwerk-device", timedelta(days=179), True),    # issued by an earlier run of the app: still known
    ("fitwerk-device", timedelta(days=181), False),   # older than 180 days
    ("itsdangerous", timedelta(), False),             # the same key, signed for something else
    ("cookie-session", timedelta(), False),           # Flask's own session cookie
], ids=["179-days", "181-days", "default-salt", "flask-session-salt"])
def test_a_device_cookie_is_known_for_180_days_and_only_when_signed_as_one(admin_app, salt, age, known):
    cookie = signed(admin_app, {"e": "coach@example.test", "d": "dev1"}, salt=salt, age=age)
    with as_browser(admin_app, cookie):
        assert auth.known_device("coach@example.test") == ("dev1" if known else None)
        assert auth.client_key("coach@example.test") == ("d:dev1" if known else auth.client_key(""))


@pytest.mark.parametrize("cookie", [None, "nonsense", "e30.x.y"], ids=["none", "garbage", "forged"])
def test_a_missing_or_forged_device_cookie_is_no_device(admin_app, cookie):
    with as_browser(admin_app, cookie):
        assert auth.known_device("coach@example.test") is None


def test_a_client_is_a_short_keyed_hash_of_its_address_never_the_address(admin_app):
    with as_browser(admin_app, address="192.0.2.7"):
        key = auth.client_key("coach@example.test")
    assert key == hashlib.sha256(b"test:192.0.2.7").hexdigest()[:24] and "192.0.2.7" not in key
    with as_browser(admin_app, address="192.0.2.8"):
        assert auth.client_key("coach@example.test") != key
    admin_app.config["SECRET_KEY"] = "another"
    with as_browser(admin_app, address="192.0.2.7"):
        assert auth.client_key("coach@example.test") != key


# --- login sessions -------------------------------------------------------------------

def staff_id(conn, email="coach@example.test"):
    return conn.execute("SELECT id FROM staff WHERE email = ?", (email,)).fetchone()[0]


def sessions(conn):
    return sorted((r["staff_id"], r["id_hash"]) for r in conn.execute("SELECT * FROM login_sessions"))


def test_a_session_is_stored_only_as_its_hash_with_a_csrf_token_of_its_own(conn):
    first, second = auth.start_session(conn, staff_id(conn)), auth.start_session(conn, staff_id(conn))
    assert len(first) == 43 and first != second  # 32 random bytes
    row = conn.execute("SELECT * FROM login_sessions WHERE id_hash = ?", (auth.token_hash(first),)).fetchone()
    assert row["staff_id"] == staff_id(conn) and len(row["csrf_token"]) == 32  # 24 random bytes
    assert row["created_at"] == row["seen_at"]
    assert conn.execute("SELECT count(*) FROM login_sessions WHERE id_hash = ?", (first,)).fetchone()[0] == 0


def test_logging_out_ends_only_this_browsers_session(admin_app, conn):
    mine, other = auth.start_session(conn, staff_id(conn)), auth.start_session(conn, staff_id(conn))
    with admin_app.test_request_context("/logout"):
        auth.end_session(conn)  # no cookie: nothing to end
    assert len(sessions(conn)) == 2
    with admin_app.test_request_context("/logout", headers={"Cookie": f"{auth.COOKIE}={mine}"}):
        auth.end_session(conn)
    assert sessions(conn) == [(staff_id(conn), auth.token_hash(other))]


def test_deactivation_ends_every_session_and_api_token_of_that_person_only(admin_app, runner, conn):
    result = runner.invoke(args=["create-user", "fysio@example.test", "--role", "physio", "--password-stdin"],
                           input="correct horse battery\n")
    assert result.exit_code == 0, result.output
    coach, fysio = staff_id(conn), staff_id(conn, "fysio@example.test")
    for person in (coach, coach, fysio):
        auth.start_session(conn, person)
        auth.new_api_token(conn, person)
    conn.execute("UPDATE api_tokens SET revoked_at = '2020-01-01T00:00:00.000+00:00' WHERE id = 1")
    before = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    auth.end_all_sessions(conn, coach)
    assert [s for s, _ in sessions(conn)] == [fysio]
    tokens = [(r["staff_id"], r["revoked_at"]) for r in conn.execute("SELECT * FROM api_tokens ORDER BY id")]
    assert tokens[0] == (coach, "2020-01-01T00:00:00.000+00:00")  # revoked before: kept as it was
    assert tokens[1][0] == coach and tokens[1][1] >= before
    assert tokens[2] == (fysio, None)


def test_the_listening_addresses_are_this_processs_listening_stream_sockets_only():
    hole = socket.socket()  # closed below: the listing's own descriptor takes its number, then is gone
    with socket.socket() as listening, socket.socket() as bound, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as datagram:
        hole.close()
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        bound.bind(("127.0.0.1", 0))
        datagram.bind(("127.0.0.1", 0))
        found = auth.listening_addresses()
        assert listening.getsockname() in found
        assert bound.getsockname() not in found and datagram.getsockname() not in found
        address = listening.getsockname()
    assert address not in auth.listening_addresses()


def test_a_session_lives_8_idle_hours_and_12_in_all_and_is_touched_at_most_once_a_minute(admin_app, conn, monkeypatch):
    from flask import g

    from common.clock import stamp
    now = datetime(2026, 11, 9, 12, 0, tzinfo=timezone.utc)
    monkeypatch.setattr(auth, "utc_now", lambda: now)
    monkeypatch.setattr(auth, "now_iso", lambda: stamp(now))
    coach, ms = staff_id(conn), timedelta(milliseconds=1)
    cookie = auth.start_session(conn, coach)

    def visit(seen_ago, created_ago=timedelta(hours=1)):
        """Whether the session is alive, and its row afterwards (None when it was ended)."""
        conn.execute("UPDATE login_sessions SET seen_at = ?, created_at = ?", (stamp(now - seen_ago),
                                                                               stamp(now - created_ago)))
        with admin_app.test_request_context("/", headers={"Cookie": f"{auth.COOKIE}={cookie}"}):
            auth.load_session()
            alive = g.staff is not None and g.csrf is not None and g.actor == auth.Actor(coach, "lifecoach", "web")
        row = conn.execute("SELECT seen_at FROM login_sessions").fetchone()
        return alive, row and row["seen_at"]

    assert visit(timedelta(minutes=1)) == (True, stamp(now - timedelta(minutes=1)))  # seen a minute ago: left be
    assert visit(timedelta(seconds=20)) == (True, stamp(now - timedelta(seconds=20)))
    assert visit(timedelta(minutes=1) + ms) == (True, stamp(now))                     # older: touched
    assert visit(timedelta(hours=8), timedelta(hours=8)) == (True, stamp(now))        # idle 8 hours exactly: alive
    assert visit(timedelta(minutes=5), timedelta(hours=12)) == (True, stamp(now))     # 12 hours old exactly: alive
    assert visit(timedelta(minutes=5), timedelta(hours=12) + ms) == (False, None)     # older: ended, row gone
    cookie = auth.start_session(conn, coach)
    assert visit(timedelta(hours=8) + ms, timedelta(hours=8) + ms) == (False, None)
