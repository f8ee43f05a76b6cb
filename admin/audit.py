"""The append-only audit trail of participant data views, exports and changes (NEN 7513:
who — staff id and role —, when, which participant, what action on what, from where),
and the admin's page to read it."""
from flask import Blueprint, render_template, request

from .auth import web_roles
from .db import get_db, now_iso
from .forms import wants_fragment

bp = Blueprint("audit", __name__)
ACTIONS = {"view": "ingezien", "export": "geëxporteerd", "change": "gewijzigd"}
PAGE_SIZE = 200


def audit(conn, actor, participant_id, action, what):
    """Record that `actor` did `action` ('view', 'export', 'change') on a participant's data."""
    conn.execute("INSERT INTO audit_log(at, staff_id, staff_role, participant_id, action, what, source) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (now_iso(), actor.id, actor.role, participant_id, action, what, actor.source))


def entries(conn, participant_id=None, before_id=None, limit=PAGE_SIZE):
    """Audit entries, newest first, optionally of one participant and older than an id."""
    where, args = [], []
    if participant_id is not None:
        where.append("a.participant_id = ?")
        args.append(participant_id)
    if before_id is not None:
        where.append("a.id < ?")
        args.append(before_id)
    sql = ("SELECT a.*, s.email AS staff_email, s.name AS staff_name FROM audit_log a "
           "LEFT JOIN staff s ON s.id = a.staff_id " + (f"WHERE {' AND '.join(where)} " if where else "") +
           "ORDER BY a.id DESC LIMIT ?")
    return conn.execute(sql, (*args, limit)).fetchall()


@bp.get("/audit")
@web_roles("admin")
def index():
    """The audit log for admins, newest first; filter by participant number (ids are not personal data)."""
    participant_id = request.args.get("participant_id", type=int)
    before_id = request.args.get("before", type=int)
    rows = entries(get_db(), participant_id, before_id)
    template = "audit/_entries.html" if wants_fragment() else "audit/index.html"
    return render_template(template, rows=rows, participant_id=participant_id, actions=ACTIONS,
                           more=len(rows) == PAGE_SIZE)
