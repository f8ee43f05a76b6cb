"""The intake station's screen: locked, staff badge and PIN, pick a participant, live readings, save."""
import json

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from common.intake import ANSWERS, ARMS, CUFFS, QUESTIONS, STATES
from common.vocabulary import INSTRUMENTS, MEASUREMENT_FIELDS, MOMENTS
from devices import DRIVERS, parse_instrument_spec

from . import htmx, intake, station
from .db import get_db
from .screen import newest_tap, status_payload, tap_events

bp = Blueprint("station", __name__, url_prefix="/station")


def field_labels():
    """Each measurement field's label with its unit, in the screen's language."""
    return {name: f"{gettext(f.label)} ({f.unit})" if f.unit else gettext(f.label)
            for name, f in MEASUREMENT_FIELDS.items()}
HIDDEN_KEYS = ("driver", "device_model", "device_serial", "measured_at", "inputs", "flags")
NOTICES = {
    "staff": _l("Ontgrendeld."),
    "locked": _l("Het station is vergrendeld: een fysiotherapeut ontgrendelt het met de eigen pas."),
    "unknown_badge": _l("Deze pas kennen we niet. Zoek de deelnemer op voornaam."),
    "inactive": _l("Deze pas is niet meer actief."),
    "pin": _l("Typ je pincode."),
    "no_pin": _l("Je hebt nog geen pincode: stel die in op de medewerkerssite (Mijn account) en probeer het daarna opnieuw."),
    "pin_locked": _l("Te veel foute pincodes: deze pas is %(minutes)s geblokkeerd."),
}


def N_(text):
    """Mark a message id for the catalogue; it is translated when shown."""
    return text


# The station's answers to station.Invalid codes; %(label)s is the field's label.
MESSAGES = {
    "locked": N_("het station is vergrendeld"),
    "no_participant": N_("deelnemer niet gevonden"),
    "not_a_number": N_("%(label)s: geen getal"),
    "impossible": N_("%(label)s: onmogelijke waarde (tussen %(low)s en %(high)s)"),
    "reason_needed": N_("handmatige invoer vraagt een reden"),
    "new_reading": N_("er kwam intussen een nieuwe meting binnen; controleer de waarden"),
    "no_values": N_("nog geen waarden: wacht op de instrumenten of voer ze handmatig in"),
    "confirm": N_("controleer deze waarden: %(fields)s"),
    "not_chosen": N_("geen deelnemer gekozen"),
    "moment": N_("kies het meetmoment"),
    "height_for_scale": N_("vul de lengte in: de weegschaal rekent met lengte, geslacht en leeftijd"),
    "scale_setup": N_("weegschaal: %(detail)s"),
    "scale_mismatch": N_("de weegschaal rekende met andere gegevens (%(names)s) dan die van %(first_name)s: "
                         "dit is geen meting van deze persoon, meet opnieuw"),
    "answer_choice": N_("kies ja, nee of weet niet"),
    "answer_first": N_("beantwoord eerst de vragen voor %(instrument)s"),
    "arm_excluded": N_("deze arm is uitgesloten: meet aan de andere arm"),
    "both_arms_excluded": N_("bloeddruk is aan beide armen uitgesloten: sla de meting over"),
    "cuff": N_("kies de manchetmaat"),
    "series_not_started": N_("start eerst de rustperiode van de bloeddrukserie"),
    "series_incomplete": N_("de bloeddrukserie is nog niet compleet: %(counted)s van %(readings)s metingen"),
    "third_weight": N_("de twee gewichten verschillen meer dan 0,2 kg: weeg een derde keer"),
    "diastolic_not_below": N_("de onderdruk moet lager zijn dan de bovendruk"),
    "not_measured": N_("%(instrument)s is niet gemeten: meet, voer handmatig in of geef een reden"),
}


def message(error):
    """What the station says about a station.Invalid, in the kiosk's language."""
    names = field_labels()
    labels = ", ".join(names.get(f, f) for f in error.needs_confirmation)
    params = dict(error.params)
    if "instrument" in params:
        params["instrument"] = gettext(INSTRUMENTS.get(params["instrument"], params["instrument"])).lower()
    if isinstance(params.get("names"), list):
        params["names"] = ", ".join(gettext(name) for name in params["names"])
    return gettext(MESSAGES[error.code], label=names.get(error.field, error.field), fields=labels, **params)


def error_input(error, form):
    """The form control a refused save is about, so its message shows next to it: a typed-in
    value's error names the field (weight_kg), its input is the instrument's (scale_weight_kg)."""
    for instrument, fields in station.MANUAL_FIELDS.items():
        if error.field in fields and form.get(f"{instrument}_manual"):
            return f"{instrument}_{error.field}"
    return error.field


def missing_instrument(error):
    """The instrument a save lacks a reason for, so its "not measured?" field opens."""
    return error.params.get("instrument") if error.code == "not_measured" else None


def _lock_s():
    return int(current_app.config["KIOSK_STATION_LOCK_S"])


def _tare_kg():
    return float(current_app.config["KIOSK_CLOTHES_TARE_KG"])


def settings(conn):
    """How this station measures, from its configuration and the physio team's warning ranges."""
    config = current_app.config
    return station.Settings(instruments=tuple(instruments()), default_tare_kg=_tare_kg(),
                            series=intake.SeriesRules.from_config(config),
                            warn_ranges=station.ranges_in_use(conn, station.warn_ranges(config["KIOSK_WARN_RANGES"])),
                            check_days=int(config["KIOSK_DEVICE_CHECK_DAYS"]))


@bp.before_request
def _only_on_a_station():
    if current_app.config["KIOSK_ROLE"] != "station":
        abort(404)
    # Only htmx posts from the kiosk's own page: a custom header no other site can send.
    if request.method == "POST" and not htmx:
        abort(400)


def instruments():
    """Configured instruments: name (scale, bp) → driver class, which says what the device can do."""
    found = {}
    for name, key in (("scale", "KIOSK_SCALE"), ("bp", "KIOSK_BP")):
        try:
            config = parse_instrument_spec(current_app.config.get(key))
        except ValueError:
            config = None
        if config is not None:
            found[name] = DRIVERS[config.driver]
    return found


def panel_context(conn, **extra):
    """Everything the station panel shows."""
    current = station.state(conn, _lock_s())
    progress = (intake.progress(conn, current["participant_id"], current["known"].get("measured"))
                if current.get("participant_id") else {})
    return {"station": current, "moments": MOMENTS, "manual_fields": station.MANUAL_FIELDS,
            "form": {}, "error": None, "error_input": None, "confirm": (), "missing": None, "default_tare_kg": _tare_kg(),
            "questions": QUESTIONS, "answers": ANSWERS, "arms": ARMS, "cuffs": CUFFS, "states": STATES,
            "progress": progress, "standing": current["known"].get("standing", []), **extra,
            **live_context(conn, current)}


def live_context(conn, current=None):
    """The instruments' latest readings for the participant being measured."""
    current = current or station.state(conn, _lock_s())
    statuses = {name: conn.execute("SELECT state, detail FROM process_status WHERE name = ?", (name,)).fetchone()
                for name in ("scale", "bp")}
    readings = station.latest_readings(conn, current.get("identified_at")) if current.get("participant_id") else {}
    rules = settings(conn)
    checks = station.known_checks(conn)
    for reading in readings.values():
        if reading["error"]:  # the echo check's message is translated; a device's own text stays as it is
            reading["error"] = gettext(station.reading_error(reading["error"]))
        serial = (reading["values"] or {}).get("device_serial")
        reading["check"] = station.device_check(rules, serial, checks) if serial else None
        reading["serial"] = serial
    scale = readings.get("scale")
    if scale and any(field in (scale["values"] or {}) for field in station.BODY_COMPOSITION):
        # What the save will drop, said before it happens (a contraindication is shown by the
        # page itself from the answers in the form: kiosk.css).
        scale["weight_only"] = ("no_sex_or_age" if not (current.get("sex") and current.get("age"))
                                else None if scale["values"].get("inputs") else "no_echo")
    series = (intake.series(conn, current["participant_id"], current.get("identified_at"), rules.series)
              if current.get("participant_id") else None)
    return {"readings": readings, "body_composition": station.BODY_COMPOSITION, "instrument_status": statuses, "instruments": instruments(), "labels": field_labels(),
            "instrument_names": INSTRUMENTS, "hidden_keys": HIDDEN_KEYS, "series": series, "rules": rules, "arms": ARMS}


@bp.get("/")
def page():
    """The station's full screen: its panel, the status corner, the event stream."""
    conn = get_db()
    return render_template("station/page.html", status=status_payload(conn), **panel_context(conn),
                           events_url=url_for("station.events", after=newest_tap(conn)))


@bp.get("/events")
def events():
    """The station's event stream: the panel again after each tap."""
    return tap_events(render_after_tap)


def render_after_tap(conn, tap_id):
    """The station panel after a tap: unlocked, participant identified, or why not."""
    row = conn.execute("SELECT result, detail_json FROM local_checkins WHERE id = ?", (tap_id,)).fetchone()
    notice = None
    if row["result"] in NOTICES:
        notice = {"result": row["result"], "text": str(NOTICES[row["result"]]) % json.loads(row["detail_json"])
                  if row["result"] == "pin_locked" else NOTICES[row["result"]]}
    return render_template("station/_panel.html", **panel_context(conn, notice=notice))


@bp.get("/panel")
def panel():
    """The whole station panel."""
    return render_template("station/_panel.html", **panel_context(get_db()))


@bp.get("/live")
def live():
    """Live readings, refreshed by the page every second."""
    return render_template("station/_live.html", **live_context(get_db()))


def _refuse_while_locked(conn):
    # Names of participants and the instruments are for an unlocked station only.
    if station.state(conn, _lock_s())["locked"]:
        abort(403, description="het station is vergrendeld")


@bp.post("/pin")
def pin():
    """The PIN asked after a staff badge: unlocks the station, or says why not."""
    conn = get_db()
    try:
        station.enter_pin(conn, request.form.get("pin", ""), _lock_s())
    except station.PinRefused as exc:
        # 200: htmx swaps the panel with the reason in it.
        return render_template("station/_panel.html", **panel_context(conn, error=str(exc)))
    return render_template("station/_panel.html", **panel_context(conn, notice={"result": "staff",
                                                                                 "text": NOTICES["staff"]}))


@bp.post("/find")
def find():
    """Participants by first name, for a forgotten badge."""
    conn = get_db()
    _refuse_while_locked(conn)
    return render_template("station/_found.html", people=station.find(conn, request.form.get("first_name", "")))


@bp.post("/select")
def select():
    """Measure this participant."""
    conn = get_db()
    try:
        station.select(conn, request.form.get("participant_id", type=int), _lock_s())
    except station.Invalid as exc:
        return render_template("station/_panel.html", **panel_context(conn, error=message(exc)))
    return render_template("station/_panel.html", **panel_context(conn))


@bp.post("/command")
def command():
    """Start a measurement on a host-driven monitor, or send the set-up to a Tanita in PC mode;
    the answer goes to a feedback line the live poll does not overwrite."""
    conn = get_db()
    _refuse_while_locked(conn)
    name = request.form.get("instrument")
    if name not in instruments():
        abort(400)
    payload = {}
    if name == "scale":
        # Sex and age come from the participant's record, never from the form: the station never guesses.
        try:
            payload = station.scale_setup(station.state(conn, _lock_s()), request.form.to_dict(), _tare_kg())
        except station.Invalid as exc:
            return render_template("station/_feedback.html", error=message(exc))
        if payload is None:
            return render_template("station/_feedback.html", text=gettext(
                "Niets persoonlijks verstuurd (geslacht of geboortedatum onbekend, of een contra-indicatie): "
                "de weegschaal meet alleen het gewicht."))
    station.queue_command(conn, name, payload)
    return render_template("station/_feedback.html", text=gettext("Verstuurd naar het instrument."))


@bp.post("/series")
def start_series():
    """The participant sits down: the blood-pressure series' rest begins, on this arm and cuff."""
    conn = get_db()
    current = station.state(conn, _lock_s())
    if current["locked"] or not current.get("participant_id"):
        abort(409)
    form = request.form.to_dict()
    try:
        intake.start_series(conn, current["participant_id"], form.get("bp_arm"), form.get("bp_cuff"),
                            intake.screening_from(form))
    except intake.Invalid as exc:
        return render_template("station/_feedback.html", error=message(exc))
    return render_template("station/_feedback.html", text=gettext("Rustperiode gestart: de deelnemer zit rustig."))


@bp.post("/save")
def save():
    """Save the measurement in one local transaction."""
    conn = get_db()
    form = request.form.to_dict()
    try:
        seq = station.save(conn, form, form.get("moment", ""), _lock_s(), settings(conn))
    except station.Invalid as exc:
        return render_template("station/_panel.html", **panel_context(conn, error=message(exc), form=form,
                                                                      error_input=error_input(exc, form),
                                                                      confirm=exc.needs_confirmation,
                                                                      missing=missing_instrument(exc)))
    return render_template("station/_panel.html", **panel_context(conn, saved=seq))


@bp.post("/lock")
def lock():
    """Lock the station now."""
    conn = get_db()
    station.lock(conn)
    return render_template("station/_panel.html", **panel_context(conn))
