"""Staff log in with e-mail and password (throttled, refused from other sites) and log out."""
from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext

from common.db import transaction

from .auth import (
    COOKIE,
    DEVICE_COOKIE,
    DEVICE_MAX_AGE,
    LOGIN_WINDOW,
    SESSION_ABSOLUTE,
    attempt_login,
    client_key,
    cookie_secure,
    device_cookie,
    end_session,
    login_throttled,
    start_session,
)
from .db import get_db

bp = Blueprint("login", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """E-mail + password login; throttled (429) after repeated failures."""
    error, status, headers = None, 200, {}
    if request.method == "POST" and _cross_site():
        # No session yet, so no CSRF token: refuse logins posted from other sites instead.
        return render_template("login.html", error=gettext("Inloggen kan alleen via dit formulier.")), 403
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        client = client_key(email)
        conn = get_db()
        with transaction(conn):
            if login_throttled(conn, email, client):
                error, status = gettext("Te veel mislukte pogingen. Probeer het over een kwartier opnieuw."), 429
                headers["Retry-After"] = str(int(LOGIN_WINDOW.total_seconds()))
            else:
                staff = attempt_login(conn, email, request.form.get("password", ""), client)
                if staff is None:
                    error, status = gettext("E-mailadres of wachtwoord klopt niet."), 401
                else:
                    session_id = start_session(conn, staff["id"])
        if error is None:
            response = redirect(url_for("board.home"))
            response.set_cookie(COOKIE, session_id, httponly=True, samesite="Lax",
                                secure=cookie_secure(), max_age=int(SESSION_ABSOLUTE.total_seconds()))
            if not client.startswith("d:"):
                # This browser may log in to this account from now on even while a stranger's
                # failures hold the account's throttle for unknown browsers.
                response.set_cookie(DEVICE_COOKIE, device_cookie(email), httponly=True, samesite="Lax",
                                    secure=cookie_secure(), max_age=int(DEVICE_MAX_AGE.total_seconds()))
            return response
    return render_template("login.html", error=error), status, headers


def _cross_site():
    """Whether the browser says this request came from another site (login CSRF)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    # With Referrer-Policy no-referrer browsers send "Origin: null" for our own form.
    origin = request.headers.get("Origin")
    return origin not in (None, "null") and origin != request.host_url.rstrip("/")


@bp.post("/logout")
def logout():
    """End the server-side session."""
    conn = get_db()
    with transaction(conn):
        end_session(conn)
    response = redirect(url_for("login.login"))
    response.delete_cookie(COOKIE, httponly=True, samesite="Lax", secure=cookie_secure())
    return response
