"""The live attendance board that refreshes itself, and the start page by role."""
import functools
import hashlib
import json
import threading
from collections import OrderedDict
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from markupsafe import Markup

from common.clock import iso, parse_iso, utc_now
from common.schedule import local_date
from common.vocabulary import ATTENDANCE_STATUSES, FOLLOW_UP_ROLES, ROLES

from . import attendance as attendance_rules
from . import followup, programme
from .audit import audit
from .auth import web_roles
from .db import get_db, without_fsync
from .errors import Forbidden
from .forms import wants_fragment

bp = Blueprint("board", __name__)
KIOSK_SILENT_S = 120  # a kiosk not heard for longer is shown as a problem
# The board polls every second: an unchanged board answers 204 (no body, no swap), so a
# check-in shows within about a second, well inside the promised two.
POLL_SECONDS = 1


@bp.get("/")
@web_roles(*ROLES)
def home():
    """Start page by role."""
    if g.staff["role"] in ("physio", "doctor"):
        return redirect(url_for("participant.index"))
    if g.staff["role"] == "trainer":
        return redirect(url_for("goals.index"))
    return redirect(url_for("board.board"))


def _clock(text, zone, fmt="%H:%M"):
    return parse_iso(text).astimezone(zone).strftime(fmt) if text else None


@functools.lru_cache(maxsize=4096)
def _minute(utc_minute, tz):
    return parse_iso(utc_minute).astimezone(ZoneInfo(tz)).strftime("%H:%M")


def _heard_clock(text, tz):
    """_clock for the kiosks' heartbeat times, which move every few seconds: one conversion
    per minute shown, not per kiosk per poll (iso() texts end in +00:00)."""
    if not text:
        return None
    return _minute(text[:16], tz) if text.endswith("+00:00") else _clock(text, ZoneInfo(tz))


def _in_clause(values):
    return ",".join("?" * len(values))


_CACHE_SIZE = 64
_layouts = OrderedDict()     # id(sessions) -> (sessions, tz, layout)
_fragments = OrderedDict()   # (version, locale, script root) -> rendered #live fragment
_cache_lock = threading.Lock()
_render_lock = threading.Lock()


def _remember(cache, key, value):
    with _cache_lock:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)


def _layout(sessions, tz):
    """The sessions as the board lays them out, the absences in board order and a digest.
    attendance() hands out the same answer object while nothing it depends on moved, so
    this runs once per change, not once per poll."""
    with _cache_lock:
        cached = _layouts.get(id(sessions))
    if cached is not None and cached[0] is sessions and cached[1] == tz:
        return cached[2]
    with _render_lock:   # the first of the boards asking at once lays it out, the others wait
        with _cache_lock:
            cached = _layouts.get(id(sessions))
        if cached is not None and cached[0] is sessions and cached[1] == tz:
            return cached[2]
        return _lay_out(sessions, tz)


def _lay_out(sessions, tz):
    """_layout's work, under the render lock."""
    zone = ZoneInfo(tz)
    absent, locations = [], {}
    for session in sorted(sessions, key=lambda s: (s["location"], s["start"], s["group_name"])):
        start, end = session["start"][11:16], session["end"][11:16]
        tally = {status: 0 for status in ATTENDANCE_STATUSES}
        entries = []
        for p in session["participants"]:
            tally[p["status"]] += 1
            entry = {"id": p["participant_id"], "first_name": p["first_name"], "status": p["status"],
                     "at": _clock(p["checked_in_at"], zone)}
            if p.get("unknown_reason"):
                entry["why"] = (p["unknown_reason"]["kiosk"],
                                _clock(p["unknown_reason"]["last_heard_at"], zone) or "nooit")
            entries.append(entry)
            if p["status"] == "absent":
                absent.append({"id": p["participant_id"], "first_name": p["first_name"],
                               "group": session["group_name"], "start": start, "end": end,
                               "since": session["grace_until"][11:16]})
        locations.setdefault(session["location"], []).append({
            "group_id": session["group_id"], "group": session["group_name"], "start": start, "end": end,
            "tally": tally, "people": entries, "cancelled": session["reason"] if session.get("cancelled") else None,
            "moved_to": session.get("moved_to")})
    locations = sorted(locations.items())
    layout = {"locations": locations, "absent": absent,
              "digest": hashlib.sha256(json.dumps(locations, sort_keys=True).encode()).hexdigest()}
    _remember(_layouts, id(sessions), (sessions, tz, layout))
    return layout


def board_view(conn, staff, now, tz):
    """What the board shows, as plain data: exactly the values on screen (times at the
    precision shown), and a version that changes when — and only when — the screen would."""
    day = local_date(now, tz)
    sessions = attendance_rules.attendance(conn, day, now)
    followup.after_attendance(conn, sessions, now)
    layout = _layout(sessions, tz)
    absent_ids = sorted({a["id"] for a in layout["absent"]})
    people = {r["id"]: r for r in conn.execute(
        "SELECT p.id, p.last_name, p.phone, p.lifecoach_id, c.name AS coach_name, c.email AS coach_email, "
        "c.phone AS coach_phone "
        f"FROM participants p LEFT JOIN staff c ON c.id = p.lifecoach_id WHERE p.id IN ({_in_clause(absent_ids)})",
        absent_ids)} if absent_ids else {}
    cases = {(c["participant_id"], c["session_start"]): c for c in conn.execute(
        "SELECT id, participant_id, session_start, lifecoach_id, picked_up_at, escalated_at, closed_at "
        "FROM follow_ups WHERE session_date = ?", (day.isoformat(),))} if absent_ids else {}
    alerts = []
    for a in layout["absent"]:
        person, case = people.get(a["id"]), cases.get((a["id"], a["start"]))
        if not programme.sees_all_of(staff["role"], staff["id"], person["lifecoach_id"]):
            continue  # a LifeCoach's call list: their own people (the tiles still show everybody's first name)
        alerts.append({
            "id": a["id"], "name": f"{a['first_name']} {person['last_name']}", "group": a["group"],
            "start": a["start"], "end": a["end"], "since": a["since"], "phone": person["phone"],
            "coach": person["coach_name"] or person["coach_email"], "coach_phone": person["coach_phone"],
            "case": None if case is None else {
                "id": case["id"], "state": followup.case_state(case),
                "link": staff["role"] in followup.ALL_CASES_ROLES or case["lifecoach_id"] == staff["id"]},
        })
    silent_before = iso(now.timestamp() - KIOSK_SILENT_S)
    kiosks = []
    for k in conn.execute("SELECT name, location, last_heard_at, watermark_at, pending, clock_offset_s, clock_synced "
                          "FROM kiosks WHERE revoked_at IS NULL ORDER BY location, name"):
        heard = k["last_heard_at"]
        kiosks.append({
            "name": k["name"], "location": k["location"], "heard": _heard_clock(heard, tz),
            "through": _heard_clock(k["watermark_at"], tz), "pending": k["pending"],
            # iso() texts sort in time order.
            "silent": heard is None or (heard < silent_before if heard.endswith("+00:00")
                                        else (now - parse_iso(heard)).total_seconds() > KIOSK_SILENT_S),
            # Rounded first: -0.002 and +0.001 are both "+0 s", not a changed board at every heartbeat.
            "offset": None if k["clock_offset_s"] is None else f"{round(k['clock_offset_s']):+d} s",
            "unsynced": k["clock_synced"] == 0})
    rest = {"day": day.isoformat(), "alerts": alerts, "kiosks": kiosks,
            "door": door_notices(conn, day, ZoneInfo(tz), staff), "viewer": [staff["id"], staff["role"]]}
    version = hashlib.sha256((layout["digest"] + json.dumps(rest, sort_keys=True)).encode()).hexdigest()[:16]
    return {**rest, "locations": layout["locations"]}, version


def door_notices(conn, day, zone, staff):
    """Today's taps of badges that no longer count (programme ended, badge revoked), so
    staff can have a word with the person the kiosk sent to the desk (a LifeCoach reads the
    surname of their own people only)."""
    rows = conn.execute(
        "SELECT c.at, c.badge_uid, k.name AS kiosk, p.first_name, p.last_name, p.lifecoach_id FROM checkins c "
        "JOIN kiosks k ON k.id = c.kiosk_id LEFT JOIN participants p ON p.id = coalesce(c.participant_id, "
        "(SELECT b.participant_id FROM badges b WHERE b.uid = c.badge_uid ORDER BY b.id DESC LIMIT 1)) "
        "WHERE c.local_date = ? AND c.result = 'inactive' ORDER BY c.at", (day.isoformat(),))
    return [{"at": _clock(r["at"], zone), "kiosk": r["kiosk"],
             "who": (f"{r['first_name']} {r['last_name']}"
                     if programme.sees_all_of(staff["role"], staff["id"], r["lifecoach_id"]) else r["first_name"])
             if r["first_name"] else f"pas …{r['badge_uid'][-4:]}"}
            for r in rows]


@bp.get("/board")
@web_roles(*FOLLOW_UP_ROLES)
def board():
    """Today's sessions, live; the fragment polls itself and answers 204 when unchanged."""
    view, version = board_view(get_db(), g.staff, utc_now(), current_app.config["ADMIN_TIMEZONE"])
    # The version digests exactly what this staff member would see, so a poll is
    # answered 204 (nothing rendered, nothing sent) unless their screen would change.
    if wants_fragment():
        if request.args.get("v") == version:
            return "", 204
        return _live(view, version)
    # No health data on the board: its view is logged without waiting for the disk (a power
    # cut may lose the last seconds of these entries, never break the chain).
    with without_fsync(get_db()) as conn:
        audit(conn, g.actor, None, "view", "live board")
    return render_template("board/board.html", day=view["day"], live=Markup(_live(view, version)))


def _live(view, version):
    """The #live fragment, rendered once per version (and language) however many boards show it."""
    key = (version, str(get_locale()), request.script_root)
    with _cache_lock:
        html = _fragments.get(key)
    if html is not None:
        return html
    with _render_lock:   # rendered by the first board that asks, reused by the others
        with _cache_lock:
            html = _fragments.get(key)
        if html is None:
            html = render_template("board/_live.html", version=version, poll=POLL_SECONDS,
                                   labels=ATTENDANCE_STATUSES, case_labels=followup.STATE_LABELS, **view)
            _remember(_fragments, key, html)
    return html


@bp.app_errorhandler(403)
@bp.app_errorhandler(Forbidden)
def forbidden(error):
    """A plain page for a role that may not see this (or a LifeCoach, someone else's participant)."""
    if request.path.startswith("/api/"):
        return {"error": str(error) if isinstance(error, Forbidden) else "your role may not do this"}, 403
    return render_template("board/forbidden.html"), 403
