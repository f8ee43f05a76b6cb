"""The append-only audit trail of participant data views, exports and changes."""
from flask import g

from .db import get_db, now_iso


def audit(participant_id, action, what):
    """Record that the current staff member did `action` ('view', 'export', 'change')."""
    staff = g.get("staff")
    get_db().execute(
        "INSERT INTO audit_log(at, staff_id, staff_role, participant_id, action, what, source) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (now_iso(), staff["id"] if staff else None, staff["role"] if staff else None,
         participant_id, action, what, g.get("source", "")))
