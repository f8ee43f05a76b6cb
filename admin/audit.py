"""The append-only audit trail of participant data views, exports and changes (NEN 7513:
who — staff id and role —, when, which participant, what action on what, from where),
and the admin's page to read it."""
import hmac

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l

from common.chain import GENESIS, checkpoint_signature, entry_hash
from common.db import all_of, transaction

from .auth import web_roles
from .db import get_db, now_iso
from .forms import int_or_none, wants_fragment

bp = Blueprint("audit", __name__)
ACTIONS = {"view": _l("ingezien"), "export": _l("geëxporteerd"), "change": _l("gewijzigd")}  # the page's words
PAGE_SIZE = 200


def append(conn, staff_id, staff_role, participant_id, action, what, source):
    """Add one entry at the head of the hash chain (under the write lock, so two workers
    never chain onto the same head)."""
    with transaction(conn):
        entry = {"at": now_iso(), "staff_id": staff_id, "staff_role": staff_role,
                 "participant_id": participant_id, "action": action, "what": what, "source": source}
        previous = head(conn)
        conn.execute(
            "INSERT INTO audit_log(at, staff_id, staff_role, participant_id, action, what, source, prev_hash, hash) "
            "VALUES (:at, :staff_id, :staff_role, :participant_id, :action, :what, :source, :prev_hash, :hash)",
            {**entry, "prev_hash": previous, "hash": entry_hash(previous, entry)})


def head(conn):
    """The hash the next entry chains onto: the newest entry's, else the newest checkpoint's."""
    row = conn.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone() or conn.execute(
        "SELECT last_hash AS hash FROM audit_checkpoints ORDER BY id DESC LIMIT 1").fetchone()
    return row["hash"] if row else GENESIS


def audit(conn, actor, participant_id, action, what):
    """Record that `actor` did `action` ('view', 'export', 'change') on a participant's data."""
    append(conn, actor.id, actor.role, participant_id, action, what, actor.source)


def verify(conn, key):
    """Check the chain from its newest checkpoint on; returns (entries checked, first problem or None)."""
    checkpoint = conn.execute("SELECT * FROM audit_checkpoints ORDER BY id DESC LIMIT 1").fetchone()
    previous, start = GENESIS, 0
    if checkpoint is not None:
        if not hmac.compare_digest(checkpoint["signature"], checkpoint_signature(key, checkpoint)):
            return 0, f"checkpoint {checkpoint['id']}: signature does not match (edited, or another AUDIT_KEY)"
        previous, start = checkpoint["last_hash"], checkpoint["upto_id"]
    checked = 0
    for row in conn.execute("SELECT * FROM audit_log WHERE id > ? ORDER BY id", (start,)):
        if row["prev_hash"] != previous:
            return checked, (f"entry {row['id']}: does not follow the entry before it "
                             "(an entry was removed, inserted or reordered)")
        if row["hash"] != entry_hash(previous, row):
            return checked, f"entry {row['id']}: its content does not match its hash (edited)"
        previous = row["hash"]
        checked += 1
    return checked, None


def cut(conn, key, before_at):
    """Let entries older than `before_at` go: sign a checkpoint on the last of them, then delete
    them. Returns how many went. The chain is verified first; a broken one is not cut."""
    with transaction(conn):
        _checked, problem = verify(conn, key)
        if problem:
            raise ValueError(f"audit chain broken, not cutting it: {problem}")
        last = conn.execute("SELECT id, hash FROM audit_log WHERE at < ? ORDER BY id DESC LIMIT 1",
                            (before_at,)).fetchone()
        if last is None:
            return 0
        removed = conn.execute("SELECT COUNT(*) FROM audit_log WHERE id <= ?", (last["id"],)).fetchone()[0]
        checkpoint = {"at": now_iso(), "upto_id": last["id"], "last_hash": last["hash"], "removed": removed}
        conn.execute("INSERT INTO audit_checkpoints(at, upto_id, last_hash, removed, signature) "
                     "VALUES (:at, :upto_id, :last_hash, :removed, :signature)",
                     {**checkpoint, "signature": checkpoint_signature(key, checkpoint)})
        conn.execute("DELETE FROM audit_log WHERE id <= ?", (last["id"],))
        return removed


def audit_key(app):
    """The key that signs checkpoints: AUDIT_KEY, else SECRET_KEY (keep it stable)."""
    return app.config.get("AUDIT_KEY") or app.config["SECRET_KEY"]


def entries(conn, participant_id=None, before_id=None, limit=PAGE_SIZE):
    """Audit entries, newest first, optionally of one participant and older than an id."""
    where, args = all_of(("a.participant_id = ?", participant_id), ("a.id < ?", before_id))
    return conn.execute("SELECT a.*, s.email AS staff_email, s.name AS staff_name FROM audit_log a "
                        f"LEFT JOIN staff s ON s.id = a.staff_id WHERE {where} ORDER BY a.id DESC LIMIT ?",
                        (*args, limit)).fetchall()


@bp.get("/audit")
@web_roles("admin")
def index():
    """The audit log for admins, newest first; filter by participant number (ids are not personal data)."""
    participant_id = request.args.get("participant_id", type=int_or_none)
    before_id = request.args.get("before", type=int_or_none)
    rows = entries(get_db(), participant_id, before_id)
    template = "audit/_entries.html" if wants_fragment() else "audit/index.html"
    return render_template(template, rows=rows, participant_id=participant_id, actions=ACTIONS,
                           more=len(rows) == PAGE_SIZE)
