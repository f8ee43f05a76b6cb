"""The kiosk screen: idle page, taps pushed to the page over server-sent events,
the status corner and /status.json. Served on localhost only."""
import json
import time
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from common import __version__
from common.clock import parse_iso
from common.db import get_meta
from common.i18n import direction, language_or_default
from common.schedule import sessions_on

from . import store
from .db import get_db

bp = Blueprint("screen", __name__)
RECENT_SECONDS = 12   # earlier taps still shown under the newest one
POLL_SECONDS = 0.02   # how often the event stream looks for new taps
KEEPALIVE_SECONDS = 5  # a closed page frees its stream thread by the next write


def kiosk_language():
    """The language of the kiosk's own screens (KIOSK_LANG, Dutch when not one we speak)."""
    return language_or_default(current_app.config["KIOSK_LANG"])


def _zone():
    return ZoneInfo(current_app.config["KIOSK_TIMEZONE"])


def _local(text, fmt="%H:%M"):
    return parse_iso(text).astimezone(_zone()).strftime(fmt)


def _today_sessions(conn, now):
    day = now.astimezone(_zone()).date()
    found = [s for group in store.groups(conn) for s in sessions_on(group, day)]
    return sorted(found, key=lambda s: s.start)


def _day_name(day, now):
    if day == now.astimezone(_zone()).date():
        return _("vandaag")
    return _long_date(day)


def _long_date(day):
    # TRANSLATORS: a Babel date pattern (EEEE weekday, d day, MMMM month), in your language's order.
    return format_date(day, _("EEEE d MMMM"))


def status_payload(conn):
    """The /status.json document."""
    reader = store.get_status(conn, "reader") or {"state": "missing", "detail": "reader process not running"}
    sync = store.get_status(conn, "sync") or {}
    instruments = {name: status for name in ("scale", "bp")
                   if (status := store.get_status(conn, name)) is not None}
    last = conn.execute("SELECT first_name, at, result FROM local_checkins ORDER BY id DESC LIMIT 1").fetchone()
    return {
        "kiosk_id": get_meta(conn, "kiosk_id"),
        "version": __version__,
        "role": current_app.config["KIOSK_ROLE"],
        "reader": {"state": reader["state"], "detail": reader.get("detail", "")},
        "instruments": {k: {"state": v["state"], "detail": v.get("detail", "")} for k, v in instruments.items()},
        "sync": {"pending": store.pending_count(conn), "last_success_at": sync.get("last_success_at"),
                 "server_reachable": bool(sync.get("server_reachable", False))},
        "last_checkin": dict(last) if last else None,
    }


@bp.get("/status.json")
def status_json():
    """Health for monitoring and for the screen's status corner."""
    return jsonify(status_payload(get_db()))


@bp.get("/status-corner")
def status_corner():
    """The small status corner, refreshed by itself."""
    return render_template("_status.html", status=status_payload(get_db()))


def newest_tap(conn):
    """The id of the newest tap, 0 when there is none: where a page's event stream starts."""
    return conn.execute("SELECT coalesce(max(id), 0) FROM local_checkins").fetchone()[0]


@bp.get("/")
def index():
    """The full screen: idle panel, status corner, event stream (a station has its own page)."""
    if current_app.config["KIOSK_ROLE"] == "station":
        return redirect(url_for("station.page"))
    conn = get_db()
    return render_template("index.html", idle=idle_context(conn), status=status_payload(conn),
                           events_url=url_for("screen.events", after=newest_tap(conn)))


@bp.get("/idle")
def idle():
    """The idle panel, back after a tap's message has been shown."""
    return render_template("_idle.html", **idle_context(get_db()))


def idle_context(conn):
    """What the idle panel shows: clock, date, prompt, today's sessions."""
    now = datetime.now(timezone.utc)
    local = now.astimezone(_zone())
    return {"time": local.strftime("%H:%M"), "date": _long_date(local.date()),
            "sessions": _today_sessions(conn, now)}


# The icon and the (optional) sound of each result: checked in, come back later, go to the desk, staff.
TAP_ICONS = {"on_time": "check", "late": "check", "already": "check", "no_session": "clock",
             "unknown_badge": "desk", "inactive": "desk", "staff": "menu"}
TAP_SOUNDS = {"on_time": "success", "late": "success", "already": "success",
              "no_session": "problem", "unknown_badge": "problem", "inactive": "problem"}
GREETINGS = {"on_time", "late", "already", "no_session"}  # the participant's own name, large


def tap_language(row):
    """The participant's own language for their tap; the kiosk's for a badge that is nobody's or staff's."""
    if row["participant_id"] is None or row["language"] is None:
        return kiosk_language()
    return language_or_default(row["language"])


def tap_view(row, now):
    """Text and tone of one tap, in the language of the one who tapped."""
    language = tap_language(row)
    with force_locale(language):
        return dict(_tap_text(row, now), lang=language, dir=direction(language))


def _tap_text(row, now):
    detail = json.loads(row["detail_json"])
    name = row["first_name"] or ""
    result = row["result"]
    session = detail.get("session")
    view = {"id": row["id"], "result": result, "tone": "good", "title": "", "sub": "", "extra": "",
            "icon": TAP_ICONS[result], "sound": TAP_SOUNDS.get(result, "")}
    if session:
        view["extra"] = f"{session['group']} · {session['start']}–{session['end']}"
    welcome = _("Welkom, %(name)s", name=name)
    if result == "on_time":
        view.update(title=welcome, sub=_("Je bent ingecheckt"))
    elif result == "late":
        view.update(title=welcome, sub=_("Fijn dat je er bent, je bent ingecheckt"))
    elif result == "already":
        view.update(title=welcome, sub=_("Je bent al ingecheckt om %(time)s", time=_local(detail["first_at"])),
                    tone="info")
    elif result == "unknown_badge":
        view.update(title=_("Deze pas kennen we nog niet"), sub=_("Meld je even bij de balie"), tone="help")
    elif result == "no_session":
        upcoming = detail.get("next")
        view.update(title=welcome, sub=_("De sessie van vandaag gaat niet door") if "cancelled" in detail
                    else _("Je hebt nu geen sessie"), tone="info",
                    extra=_("Je volgende sessie: %(day)s %(start)s–%(end)s",
                            day=_day_name(date.fromisoformat(upcoming["date"]), now),
                            start=upcoming["start"], end=upcoming["end"]) if upcoming else "")
        if "cancelled" in detail:
            view["extra"] = " · ".join(part for part in (detail["cancelled"], view["extra"]) if part)
    elif result == "inactive":
        view.update(title=_("Deze pas is niet meer actief"), sub=_("Meld je even bij de balie, we helpen je graag"),
                    tone="help")
    elif result == "staff":
        view.update(title=_("Medewerkersmenu"), tone="staff")
    return view


def render_taps(conn, newest_id):
    """The tap panel: the newest tap large, the ones just before it small."""
    now = datetime.now(timezone.utc)
    rows = conn.execute("SELECT c.*, p.language FROM local_checkins c LEFT JOIN roster_people p "
                        "ON p.participant_id = c.participant_id WHERE c.id <= ? ORDER BY c.id DESC LIMIT 4",
                        (newest_id,)).fetchall()
    newest = rows[0]
    # Earlier names only beneath someone's own name: under "we don't know this badge" a
    # participant could read another person's greeting as theirs.
    recent = [r for r in rows[1:] if (now - parse_iso(r["at"])).total_seconds() < RECENT_SECONDS
              and r["first_name"]] if newest["result"] in GREETINGS else []
    status = status_payload(conn) if newest["result"] == "staff" else None
    return render_template("_tap.html", tap=tap_view(newest, now),
                           recent=[tap_view(r, now) for r in recent], status=status,
                           seconds=int(current_app.config["KIOSK_RESULT_SECONDS"]))


def _sse(event, html):
    data = "\n".join(f"data: {line}" for line in html.splitlines())
    return f"event: {event}\n{data}\n\n"


@bp.get("/events")
def events():
    """The check-in screen's event stream."""
    return tap_events(render_taps)


def tap_events(render):
    """Server-sent events: each new tap's panel, `render(conn, tap id)`, pushed within a few
    tens of milliseconds. `after` is the newest tap the page knew when rendered, so a tap
    made while the stream was (re)connecting is still shown, if it is recent."""
    conn = store.open_db(current_app.config["KIOSK_DB"])
    last = newest_tap(conn)
    after = request.args.get("after", type=int)
    if after is not None and after < last:
        newest = conn.execute("SELECT at FROM local_checkins WHERE id = ?", (last,)).fetchone()
        if (datetime.now(timezone.utc) - parse_iso(newest["at"])).total_seconds() < RECENT_SECONDS:
            last = after

    @stream_with_context
    def stream():
        nonlocal last
        quiet_since = time.monotonic()
        try:
            yield "retry: 1000\n\n"
            while True:
                newest = conn.execute("SELECT max(id) FROM local_checkins").fetchone()[0] or 0
                if newest > last:
                    last = newest
                    quiet_since = time.monotonic()
                    yield _sse("tap", render(conn, newest))
                elif time.monotonic() - quiet_since > KEEPALIVE_SECONDS:
                    quiet_since = time.monotonic()
                    yield ": keepalive\n\n"
                time.sleep(POLL_SECONDS)
        finally:
            conn.close()

    return Response(stream(), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def init_app(app):
    """Template helpers: the kiosk's language and role."""
    @app.context_processor
    def _inject():
        return {"lang": kiosk_language(), "role": app.config["KIOSK_ROLE"],
                "sound": str(app.config["KIOSK_SOUND"]).lower() in ("1", "on", "true", "yes")}
