"""Who is asking: staff passwords, API bearer tokens, server-side login sessions,
CSRF and roles. Secrets are stored only as hashes."""
import functools
import hashlib
import hmac
import ipaddress
import os
import secrets
import socket
import stat
from datetime import timedelta
from typing import NamedTuple

from flask import abort, current_app, g, jsonify, redirect, request, url_for
from flask_htmx.responses import HTMXResponseClientRedirect
from itsdangerous import BadSignature, URLSafeTimedSerializer

from common.clock import stamp, utc_now
from common.hashing import check_secret, hash_secret

from .db import get_db, now_iso
from .forms import htmx

COOKIE = "fitwerk_session"
SESSION_IDLE = timedelta(hours=8)
SESSION_ABSOLUTE = timedelta(hours=12)  # a session ends after this however busy it is
SESSION_TOUCH = timedelta(minutes=1)
LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5          # per e-mail address from unknown devices, or per known device
LOGIN_MAX_CLIENT_FAILURES = 20  # per client, whatever addresses it tries
DEVICE_COOKIE = "fitwerk_device"
DEVICE_MAX_AGE = timedelta(days=180)


class Actor(NamedTuple):
    """Who acts: a staff member (id, role) on the site ('web') or through the API ('api'), or
    the system itself (a timer, a command)."""

    id: int | None
    role: str
    source: str


SYSTEM = Actor(None, "system", "system")


def hash_password(password):
    """scrypt hash with a random salt, as 'scrypt$salt$hash'."""
    return hash_secret(password)


def check_password(stored, password):
    """Whether `password` matches the stored scrypt hash."""
    return check_secret(stored, password)


def token_hash(token):
    """The stored form of a bearer token or session id."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_token(conn, staff_id):
    """Make and store a staff API token; returns the token (shown once)."""
    token = "fws_" + secrets.token_urlsafe(32)
    conn.execute("INSERT INTO api_tokens(staff_id, token_hash, created_at) VALUES (?, ?, ?)",
                 (staff_id, token_hash(token), now_iso()))
    return token


def bearer_token():
    """The token of this request's `Authorization: Bearer …` header, or None."""
    header = request.headers.get("Authorization", "")
    return header[7:].strip() or None if header.startswith("Bearer ") else None


def api_error(status, message):
    """A JSON error response."""
    return jsonify(error=message), status


def staff_from_token(token):
    """The active staff member owning an API token, or None."""
    if not token:
        return None
    return get_db().execute(
        "SELECT s.id, s.email, s.role, s.name FROM api_tokens t JOIN staff s ON s.id = t.staff_id "
        "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND s.active = 1",
        (token_hash(token),)).fetchone()


def api_roles(*roles):
    """Decorator for API endpoints: a staff bearer token with one of `roles`."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            staff = staff_from_token(bearer_token())
            if staff is None:
                return api_error(401, "a valid staff bearer token is required")
            if staff["role"] not in roles:
                return api_error(403, "your role may not do this")
            g.staff, g.actor = staff, Actor(staff["id"], staff["role"], "api")
            return view(*args, **kwargs)
        return inner
    return wrap


# --- web sessions -------------------------------------------------------------

def _device_signer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="fitwerk-device")


def device_cookie(email):
    """A signed cookie value marking this browser as one `email` logged in from before."""
    return _device_signer().dumps({"e": email.lower(), "d": secrets.token_urlsafe(12)})


def known_device(email):
    """The device id when this browser carries a valid device cookie for `email`, else None."""
    try:
        data = _device_signer().loads(request.cookies.get(DEVICE_COOKIE, ""),
                                      max_age=DEVICE_MAX_AGE.total_seconds())
    except BadSignature:
        return None
    return data.get("d") if isinstance(data, dict) and data.get("e") == email.lower() else None


def client_key(email):
    """A stable, non-reversible key for the client of this request (no IP address is stored):
    `d:<device>` for a browser that logged in to `email` before, else a hash of its address."""
    device = known_device(email) if email else None
    if device:
        return "d:" + device
    return token_hash(f"{current_app.config['SECRET_KEY']}:{request.remote_addr}")[:24]


def login_throttled(conn, email, client):
    """Whether this login attempt must wait. A stranger's failures lock the account only for
    browsers it was never used on: a known device counts its own failures alone, so nobody
    can lock a staff member out of their own browser (see README, "Login throttling")."""
    since = stamp(utc_now() - LOGIN_WINDOW)
    if client.startswith("d:"):
        mine = conn.execute("SELECT count(*) FROM login_failures WHERE email = ? AND client = ? AND at > ?",
                            (email, client, since)).fetchone()[0]
        return mine >= LOGIN_MAX_FAILURES
    by_email = conn.execute("SELECT count(*) FROM login_failures WHERE email = ? AND client NOT LIKE 'd:%' "
                            "AND at > ?", (email, since)).fetchone()[0]
    by_client = conn.execute("SELECT count(*) FROM login_failures WHERE client = ? AND client != '' AND at > ?",
                             (client, since)).fetchone()[0]
    return by_email >= LOGIN_MAX_FAILURES or by_client >= LOGIN_MAX_CLIENT_FAILURES


def attempt_login(conn, email, password, client):
    """The staff row when the password is right; records a failure otherwise."""
    staff = conn.execute("SELECT * FROM staff WHERE email = ? AND active = 1", (email,)).fetchone()
    if staff is not None and check_password(staff["password_hash"], password):
        conn.execute("DELETE FROM login_failures WHERE email = ? AND client = ?", (email, client))
        return staff
    if staff is None:
        hash_password(password)  # same work either way: no timing hint of which e-mails exist
    conn.execute("INSERT INTO login_failures(email, at, client) VALUES (?, ?, ?)", (email, now_iso(), client))
    return None


def start_session(conn, staff_id):
    """Create a server-side session; returns the cookie value."""
    session_id = secrets.token_urlsafe(32)
    conn.execute("INSERT INTO login_sessions(id_hash, staff_id, csrf_token, created_at, seen_at) "
                 "VALUES (?, ?, ?, ?, ?)",
                 (token_hash(session_id), staff_id, secrets.token_urlsafe(24), now_iso(), now_iso()))
    return session_id


def end_session(conn):
    """Delete the current session, so its cookie is dead even if kept."""
    cookie = request.cookies.get(COOKIE)
    if cookie:
        conn.execute("DELETE FROM login_sessions WHERE id_hash = ?", (token_hash(cookie),))


def end_all_sessions(conn, staff_id):
    """Log a staff member out everywhere and revoke their API tokens (deactivation)."""
    conn.execute("DELETE FROM login_sessions WHERE staff_id = ?", (staff_id,))
    conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE staff_id = ? AND revoked_at IS NULL",
                 (now_iso(), staff_id))


def cookie_secure():
    """Whether the session cookie gets the Secure flag: behind TLS, or when configured."""
    return request.is_secure or str(current_app.config.get("ADMIN_SECURE_COOKIES", "")).lower() in ("1", "true", "yes")


def load_session():
    """Set g.staff and g.csrf from the session cookie, if it is alive."""
    g.staff, g.csrf = None, None
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return
    conn = get_db()
    row = conn.execute(
        "SELECT s.id, s.email, s.role, s.name, l.csrf_token, l.seen_at, l.created_at FROM login_sessions l "
        "JOIN staff s ON s.id = l.staff_id WHERE l.id_hash = ? AND s.active = 1",
        (token_hash(cookie),)).fetchone()
    if row is None:
        return
    now = utc_now()
    if row["seen_at"] < stamp(now - SESSION_IDLE) or row["created_at"] < stamp(now - SESSION_ABSOLUTE):
        conn.execute("DELETE FROM login_sessions WHERE id_hash = ?", (token_hash(cookie),))
        return
    if row["seen_at"] < stamp(utc_now() - SESSION_TOUCH):
        # Once a minute is enough for the idle timeout; a write per board poll is not free.
        conn.execute("UPDATE login_sessions SET seen_at = ? WHERE id_hash = ?",
                     (now_iso(), token_hash(cookie)))
    g.staff, g.csrf = row, row["csrf_token"]
    g.actor = Actor(row["id"], row["role"], "web")


def web_roles(*roles):
    """Decorator for pages: a logged-in staff member with one of `roles`."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            if g.get("staff") is None:
                if htmx:
                    return HTMXResponseClientRedirect(url_for("login.login"), status=401)
                return redirect(url_for("login.login"))
            if g.staff["role"] not in roles:
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def has_role(*roles):
    """Whether the logged-in staff member has one of `roles` (for templates and views)."""
    staff = g.get("staff")
    return staff is not None and staff["role"] in roles


def _check_csrf():
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/api/"):
        return None
    if request.endpoint in ("login.login", "static"):
        return None
    if request.endpoint == "login.logout" and g.get("staff") is None:
        return None  # no live session: nothing to protect, just clear the cookie
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    if not g.get("csrf") or not sent or not hmac.compare_digest(sent, g.csrf):
        return "CSRF-token ontbreekt of klopt niet", 400
    return None


def listening_addresses():
    """Addresses this process listens on (the sockets gunicorn hands its workers)."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if not stat.S_ISSOCK(os.fstat(int(name)).st_mode):
                continue
            with socket.socket(fileno=os.dup(int(name))) as sock:
                if sock.type == socket.SOCK_STREAM and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
                    found.append(sock.getsockname())
        except OSError:
            continue  # closed meanwhile, or not an internet socket
    return found


def init_app(app):
    """Load the session and check CSRF before every web request."""
    if str(app.config.get("ADMIN_BEHIND_PROXY", "")).lower() in ("1", "true", "yes"):
        # Behind nginx/Caddy terminating TLS: trust one proxy's X-Forwarded-For/-Proto,
        # so cookies get the Secure flag and throttling sees the real client.
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
        exposed = [address for address in listening_addresses()
                   if isinstance(address, tuple) and not ipaddress.ip_address(address[0]).is_loopback]
        if exposed:
            # Anyone reaching that address can forge X-Forwarded-For and dodge the throttle.
            app.logger.warning("ADMIN_BEHIND_PROXY=1 but listening on %s beyond loopback: clients there "
                               "can forge X-Forwarded-For; bind to 127.0.0.1 behind the proxy",
                               ", ".join(f"{a[0]}:{a[1]}" for a in exposed))
    @app.before_request
    def _before():
        if not request.path.startswith("/api/") and request.endpoint != "static":
            load_session()
        return _check_csrf()

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.endpoint != "static":
            # Every staff page and API answer shows someone's data: never in a cache
            # (health pages especially, GDPR art. 9).
            response.headers.setdefault("Cache-Control", "no-store")
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "script-src 'self'; frame-ancestors 'none'; form-action 'self'")
        return response

    @app.context_processor
    def _inject():
        return {"current_staff": g.get("staff"), "csrf_token": g.get("csrf"), "has_role": has_role}
