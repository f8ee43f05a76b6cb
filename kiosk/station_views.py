"""The intake station's screen: locked, pick a participant, live readings, save."""
from flask import Blueprint, abort, current_app, render_template, request

from devices import DRIVERS, parse_instrument_spec

from . import station
from .screen import get_db

bp = Blueprint("station", __name__, url_prefix="/station")
MOMENTS = (("intake", "Intake"), ("week6", "Week 6"), ("week12", "Week 12"), ("other", "Anders"))


def _lock_s():
    return int(current_app.config["KIOSK_STATION_LOCK_S"])


@bp.before_request
def _only_on_a_station():
    if current_app.config["KIOSK_ROLE"] != "station":
        abort(404)
    # Only htmx posts from the kiosk's own page: a custom header no other site can send.
    if request.method == "POST" and not request.headers.get("HX-Request"):
        abort(400)


def instruments():
    """Configured instruments: name → driver name and whether it is started from the screen."""
    found = {}
    for name, key in (("scale", "KIOSK_SCALE"), ("bp", "KIOSK_BP")):
        try:
            config = parse_instrument_spec(current_app.config.get(key))
        except ValueError:
            config = None
        if config is not None:
            found[name] = {"driver": config.driver, "description": DRIVERS[config.driver].description,
                           "host_driven": config.driver == "and-tm2657",
                           "pc_mode": config.driver == "tanita"}
    return found


def panel_context(conn, **extra):
    """Everything the station panel shows."""
    current = station.state(conn, _lock_s())
    return {"station": current, "moments": MOMENTS, "instruments": instruments(),
            "manual_fields": station.MANUAL_FIELDS, "labels": station.FIELD_LABELS, "form": {}, "error": None, "confirm": (), **extra,
            **live_context(conn, current)}


def live_context(conn, current=None):
    """The instruments' latest readings for the participant being measured."""
    current = current or station.state(conn, _lock_s())
    statuses = {name: conn.execute("SELECT state, detail FROM process_status WHERE name = ?", (name,)).fetchone()
                for name in ("scale", "bp")}
    readings = station.latest_readings(conn, current.get("identified_at")) if current.get("participant_id") else {}
    return {"readings": readings, "instrument_status": statuses, "instruments": instruments(),
            "labels": station.FIELD_LABELS}


@bp.get("/panel")
def panel():
    """The whole station panel."""
    return render_template("station/_panel.html", **panel_context(get_db()))


@bp.get("/live")
def live():
    """Live readings, refreshed by the page every second."""
    return render_template("station/_live.html", **live_context(get_db()))


@bp.post("/find")
def find():
    """Participants by first name, for a forgotten badge."""
    return render_template("station/_found.html", people=station.find(get_db(), request.form.get("first_name", "")))


@bp.post("/select")
def select():
    """Measure this participant."""
    conn = get_db()
    try:
        station.select(conn, request.form.get("participant_id", type=int), _lock_s())
    except station.Invalid as exc:
        return render_template("station/_panel.html", **panel_context(conn, error=str(exc)))
    return render_template("station/_panel.html", **panel_context(conn))


@bp.post("/command")
def command():
    """Start a measurement on a host-driven monitor, or send the height to a Tanita."""
    conn = get_db()
    name = request.form.get("instrument")
    if name not in instruments():
        abort(400)
    payload = {}
    if name == "scale" and request.form.get("height_cm"):
        payload = {"height_cm": request.form.get("height_cm", type=float),
                   "sex": request.form.get("sex") or "female", "age": request.form.get("age", type=int) or 40}
    station.queue_command(conn, name, payload)
    return render_template("station/_live.html", **live_context(conn), sent=name)


@bp.post("/save")
def save():
    """Save the measurement in one local transaction."""
    conn = get_db()
    form = request.form.to_dict()
    try:
        seq = station.save(conn, form, form.get("moment", ""), _lock_s())
    except station.Invalid as exc:
        return render_template("station/_panel.html", **panel_context(conn, error=str(exc), form=form,
                                                                      confirm=exc.needs_confirmation))
    return render_template("station/_panel.html", **panel_context(conn, saved=seq))


@bp.post("/lock")
def lock():
    """Lock the station now."""
    conn = get_db()
    station.lock(conn)
    return render_template("station/_panel.html", **panel_context(conn))
