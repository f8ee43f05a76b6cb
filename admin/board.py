"""Staff pages: login, and the live attendance board that refreshes itself."""
from flask import (Blueprint, current_app, g, make_response, redirect, render_template, request,
                   url_for)

from common.clock import utc_now
from common.db import transaction
from common.schedule import local_date

from . import attendance as attendance_rules
from .auth import COOKIE, attempt_login, end_session, login_throttled, start_session, web_roles
from .db import get_db

bp = Blueprint("board", __name__)
BOARD_ROLES = ("admin", "coordinator", "lifecoach")
STATUS_LABELS = {"expected": "verwacht", "present": "aanwezig", "late": "te laat", "absent": "afwezig",
                 "excused": "afgemeld", "unknown": "onbekend"}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """E-mail + password login; throttled after repeated failures."""
    error, status = None, 200
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        conn = get_db()
        with transaction(conn):
            if login_throttled(conn, email):
                error, status = "Te veel mislukte pogingen. Probeer het over een kwartier opnieuw.", 429
            else:
                staff = attempt_login(conn, email, request.form.get("password", ""))
                if staff is None:
                    error, status = "E-mailadres of wachtwoord klopt niet.", 401
                else:
                    session_id = start_session(conn, staff["id"])
        if error is None:
            response = redirect(url_for("board.home"))
            response.set_cookie(COOKIE, session_id, httponly=True, samesite="Lax",
                                secure=request.is_secure, max_age=8 * 3600)
            return response
    return render_template("board/login.html", error=error), status


@bp.post("/logout")
def logout():
    """End the server-side session."""
    conn = get_db()
    with transaction(conn):
        end_session(conn)
    response = redirect(url_for("board.login"))
    response.delete_cookie(COOKIE)
    return response


@bp.get("/")
@web_roles("admin", "coordinator", "lifecoach", "physio")
def home():
    """Start page by role."""
    if g.staff["role"] == "physio":
        return render_template("board/physio_home.html")
    return redirect(url_for("board.board"))


def _board_context():
    conn = get_db()
    now = utc_now()
    day = local_date(now, current_app.config["ADMIN_TIMEZONE"])
    sessions = attendance_rules.attendance(conn, day, now)
    coaches = {r["id"]: r for r in conn.execute("SELECT id, name, phone FROM staff")}
    people = {r["id"]: r for r in conn.execute(
        "SELECT p.id, p.last_name, p.phone, p.lifecoach_id FROM participants p")}
    kiosks = conn.execute("SELECT name, location, last_heard_at, watermark_at, pending, clock_offset_s "
                          "FROM kiosks WHERE revoked_at IS NULL ORDER BY location, name").fetchall()
    return {"sessions": sessions, "day": day, "coaches": coaches, "people": people, "kiosks": kiosks,
            "labels": STATUS_LABELS, "version": attendance_rules.fingerprint([sessions, [dict(k) for k in kiosks]])}


@bp.get("/board")
@web_roles(*BOARD_ROLES)
def board():
    """Today's sessions, live; the fragment polls itself and answers 204 when unchanged."""
    context = _board_context()
    if request.headers.get("HX-Request") and request.args.get("v") == context["version"]:
        return "", 204
    template = "board/_live.html" if request.headers.get("HX-Request") else "board/board.html"
    response = make_response(render_template(template, **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_errorhandler(403)
def forbidden(_error):
    """A plain page for a role that may not see this."""
    if request.path.startswith("/api/"):
        return {"error": "your role may not do this"}, 403
    return render_template("board/forbidden.html"), 403

