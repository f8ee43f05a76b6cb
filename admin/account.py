"""'Mijn account': every staff member's own phone number, e-mail notifications (opt-out)
and password."""
from flask import Blueprint, g, request
from flask_babel import gettext

from common.db import transaction
from common.vocabulary import ROLES, UNLOCK_ROLES

from . import programme
from .auth import COOKIE, check_password, hash_password, token_hash, web_roles
from .db import get_db
from .errors import Invalid
from .forms import page_or_fragment

bp = Blueprint("account", __name__)
ALL_ROLES = tuple(ROLES)


def _render(status=200, **extra):
    me = get_db().execute("SELECT id, email, name, phone, role, notify_email, pin_hash IS NOT NULL AS has_pin "
                          "FROM staff WHERE id = ?",
                          (g.staff["id"],)).fetchone()
    context = {"me": me, "error": None, "saved": None, "password_error": None, "password_saved": False,
               "pin_error": None, "pin_saved": False, "has_pin": me["has_pin"], "unlocks": me["role"] in UNLOCK_ROLES,
               **extra}
    return page_or_fragment("account/index.html", "account/_settings.html", status=status, **context)


@bp.get("/account")
@web_roles(*ALL_ROLES)
def index():
    """Own settings."""
    return _render()


@bp.post("/account")
@web_roles(*ALL_ROLES)
def update():
    """Phone number (shown on the board for the call) and e-mail notifications on or off."""
    phone = request.form.get("phone", "").strip()
    if len(phone) > 30:
        return _render(422, error=gettext("Het telefoonnummer is te lang."))
    conn = get_db()
    conn.execute("UPDATE staff SET phone = ?, notify_email = ? WHERE id = ?",
                 (phone, int(request.form.get("notify_email") == "1"), g.staff["id"]))
    return _render(saved=gettext("Opgeslagen."))


@bp.post("/account/password")
@web_roles(*ALL_ROLES)
def change_password():
    """A new password; every other session of this account ends."""
    conn = get_db()
    row = conn.execute("SELECT password_hash FROM staff WHERE id = ?", (g.staff["id"],)).fetchone()
    new = request.form.get("new_password", "")
    if not check_password(row["password_hash"], request.form.get("current_password", "")):
        return _render(422, password_error=gettext("Het huidige wachtwoord klopt niet."))
    if len(new) < 10:
        return _render(422, password_error=gettext("Het nieuwe wachtwoord moet minstens 10 tekens hebben."))
    if new != request.form.get("repeat_password", ""):
        return _render(422, password_error=gettext("De twee nieuwe wachtwoorden zijn niet gelijk."))
    with transaction(conn):
        conn.execute("UPDATE staff SET password_hash = ? WHERE id = ?", (hash_password(new), g.staff["id"]))
        conn.execute("DELETE FROM login_sessions WHERE staff_id = ? AND id_hash != ?",
                     (g.staff["id"], token_hash(request.cookies.get(COOKIE, ""))))
    return _render(password_saved=True)


@bp.post("/account/pin")
@web_roles(*UNLOCK_ROLES)
def set_pin():
    """The PIN the intake station asks after the staff badge (confirmed with the password)."""
    conn = get_db()
    row = conn.execute("SELECT password_hash FROM staff WHERE id = ?", (g.staff["id"],)).fetchone()
    if not check_password(row["password_hash"], request.form.get("current_password", "")):
        return _render(422, pin_error=gettext("Het wachtwoord klopt niet."))
    pin = request.form.get("pin", "")
    if pin != request.form.get("repeat_pin", ""):
        return _render(422, pin_error=gettext("De twee pincodes zijn niet gelijk."))
    try:
        programme.set_pin(conn, g.staff["id"], pin)
    except Invalid as exc:
        return _render(422, pin_error=exc.message())
    return _render(pin_saved=True)
