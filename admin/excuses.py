"""Excuses (afmeldingen): staff log ahead of time that someone will not come, so the
board shows them as excused instead of flagging an absence."""
from flask import Blueprint, abort, current_app, g, redirect, request, url_for

from common.clock import utc_now
from common.schedule import local_date
from common.vocabulary import ACTIVE_STATUSES, FOLLOW_UP_ROLES

from . import programme
from .audit import audit
from .auth import web_roles
from .db import get_db
from .errors import Invalid, NotFound
from .forms import form_error, htmx, int_or_none, page_or_fragment

bp = Blueprint("excuses", __name__)


def _context(conn, error=None, saved=False, form=None):
    today = local_date(utc_now(), current_app.config["ADMIN_TIMEZONE"]).isoformat()
    # A LifeCoach sees and logs excuses of their own participants only.
    own, args = ("p.lifecoach_id = ?", [g.staff["id"]]) if g.staff["role"] == "lifecoach" else ("1", [])
    upcoming = conn.execute(
        "SELECT e.*, p.first_name, p.last_name, gr.name AS group_name, s.name AS by_name FROM excuses e "
        "JOIN participants p ON p.id = e.participant_id JOIN groups gr ON gr.id = p.group_id "
        f"LEFT JOIN staff s ON s.id = e.created_by WHERE e.date >= ? AND {own} ORDER BY e.date, p.first_name",
        (today, *args)).fetchall()
    people = conn.execute(
        "SELECT p.id, p.first_name, p.last_name, gr.name AS group_name FROM participants p "
        f"JOIN groups gr ON gr.id = p.group_id WHERE p.status IN ({','.join('?' * len(ACTIVE_STATUSES))}) "
        f"AND {own} ORDER BY gr.name, p.first_name, p.last_name", (*ACTIVE_STATUSES, *args)).fetchall()
    return {"upcoming": upcoming, "people": people, "today": today, "error": error, "saved": saved,
            "form": form or {}}


@bp.get("/excuses")
@web_roles(*FOLLOW_UP_ROLES)
def index():
    """Upcoming excuses and the form to log one."""
    audit(get_db(), g.actor, None, "view", "excuse list")
    return page_or_fragment("excuses/index.html", "excuses/_excuses.html", **_context(get_db()))


@bp.post("/excuses")
@web_roles(*FOLLOW_UP_ROLES)
def create():
    """Log an excuse for a participant and a date."""
    conn = get_db()
    participant_id = int_or_none(request.form.get("participant_id"))
    body = {"date": request.form.get("date", ""), "reason": request.form.get("reason", "")}
    try:
        if participant_id is None:
            raise Invalid("participant_id", "choose")
        programme.add_excuse(conn, g.actor, participant_id, body)
    except (Invalid, NotFound) as exc:
        return page_or_fragment("excuses/index.html", "excuses/_excuses.html", status=422,
                                **_context(conn, error=form_error(exc), form=request.form))
    if not htmx:
        return redirect(url_for("excuses.index"), 303)
    return page_or_fragment("excuses/index.html", "excuses/_excuses.html", **_context(conn, saved=True))


@bp.post("/excuses/<int:excuse_id>/delete")
@web_roles(*FOLLOW_UP_ROLES)
def delete(excuse_id):
    """Withdraw an excuse entered by mistake."""
    conn = get_db()
    try:
        programme.delete_excuse(conn, g.actor, excuse_id)
    except NotFound:
        abort(404)
    if not htmx:
        return redirect(url_for("excuses.index"), 303)
    return page_or_fragment("excuses/index.html", "excuses/_excuses.html", **_context(conn))
