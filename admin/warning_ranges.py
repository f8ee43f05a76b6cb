"""The physio team's warning ranges per measurement field: a station asks for a confirmation
of a value outside one. Set on the staff site and the API (physio, admin), every change in
the audit log, carried to station kiosks with the roster."""
import math

from flask import Blueprint, g, jsonify, render_template, request, url_for
from flask_babel import gettext

from common.db import transaction
from common.vocabulary import MEASUREMENT_FIELDS, N_

from .audit import audit
from .auth import api_error, api_roles, web_roles
from .db import bump_roster, get_db, now_iso
from .forms import FormError, see_other

bp = Blueprint("intake_ranges", __name__)  # under Intake in the menu
ROLES = ("admin", "physio")

# What the staff page says, per code; %(label)s is the field's label.
MESSAGES = {
    "number": N_("%(label)s: vul een getal in."),
    "both": N_("%(label)s: vul de ondergrens en de bovengrens allebei in, of laat ze allebei leeg."),
    "order": N_("%(label)s: de ondergrens moet lager zijn dan de bovengrens."),
    "limits": N_("%(label)s: een waarschuwingsgrens ligt binnen de harde grenzen, %(low)s tot en met %(high)s."),
}


class RangeError(ValueError):
    """A range that cannot be set: `status` 400 (malformed) or 422 (well-formed, not acceptable),
    the form control it is about, a code for the page; the message (English) is for the API."""

    def __init__(self, status, control, code, message, **params):
        super().__init__(message)
        self.status, self.control, self.code, self.params = status, control, code, params

    def form_error(self):
        """The error as the staff page shows it, next to its control."""
        name = self.control.partition("_")[2]
        label = gettext(MEASUREMENT_FIELDS[name].label) if name in MEASUREMENT_FIELDS else name
        unit = MEASUREMENT_FIELDS[name].unit if name in MEASUREMENT_FIELDS else ""
        return FormError(self.control, gettext(MESSAGES[self.code], label=f"{label} {unit}".strip(), **self.params))


def limits(name):
    """A field's hard limits: the plausible range; a warning range lies within it."""
    return MEASUREMENT_FIELDS[name].plausible


def check(name, low, high):
    """Refuse a range with its ends swapped or beyond the field's hard limits (422)."""
    if low >= high:
        raise RangeError(422, f"high_{name}", "order", f"'{name}': 'low' must be below 'high'")
    floor, ceiling = limits(name)
    if low < floor or high > ceiling:
        control = f"low_{name}" if low < floor else f"high_{name}"
        raise RangeError(422, control, "limits", f"'{name}': a warning range must lie within the field's hard "
                         f"limits, {floor:g} to {ceiling:g}", low=f"{floor:g}", high=f"{ceiling:g}")


def _number(value, control, where):
    """A JSON number (not a boolean, not NaN or infinite), else a 400."""
    try:
        number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
    except OverflowError:  # an integer beyond any float
        number = math.nan
    if not math.isfinite(number):
        raise RangeError(400, control, "number", f"'{where}' must be a number")
    return number


def from_json(body):
    """{"ranges": {field: {"low": n, "high": n}}} → {field: (low, high)}; RangeError when wrong."""
    if not isinstance(body, dict) or set(body) != {"ranges"} or not isinstance(body["ranges"], dict):
        raise RangeError(400, "", "number", "body must be a JSON object {\"ranges\": {field: {\"low\": number, "
                         "\"high\": number}}}")
    ranges = {}
    for name, span in body["ranges"].items():
        if name not in MEASUREMENT_FIELDS:
            raise RangeError(422, "", "number", f"unknown field '{name}'")
        if not isinstance(span, dict) or set(span) != {"low", "high"}:
            raise RangeError(400, "", "number", f"'ranges.{name}' must be an object with 'low' and 'high' only")
        low = _number(span["low"], f"low_{name}", f"ranges.{name}.low")
        high = _number(span["high"], f"high_{name}", f"ranges.{name}.high")
        check(name, low, high)
        ranges[name] = (low, high)
    return ranges


def _typed(text, control):
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise RangeError(400, control, "number", f"'{control}' must be a number")
    return value


def from_form(form):
    """The page's low_<field> and high_<field> (both empty: no range) → {field: (low, high)}."""
    ranges = {}
    for name in MEASUREMENT_FIELDS:
        low, high = (form.get(f"{end}_{name}", "").strip() for end in ("low", "high"))
        if not low and not high:
            continue
        if not low or not high:
            raise RangeError(400, f"{'high' if low else 'low'}_{name}", "both", f"'{name}': give both ends")
        ranges[name] = (_typed(low, f"low_{name}"), _typed(high, f"high_{name}"))
        check(name, *ranges[name])
    return ranges


def current(conn):
    """The ranges set, with who set them and when: {field: row}."""
    return {r["field"]: r for r in conn.execute(
        "SELECT w.*, s.email AS by_email FROM warning_ranges w LEFT JOIN staff s ON s.id = w.by_staff")}


def for_station(conn):
    """What a station's roster carries: {field: [low, high]}, in the vocabulary's order."""
    ranges = current(conn)
    return {name: [ranges[name]["low"], ranges[name]["high"]] for name in MEASUREMENT_FIELDS if name in ranges}


def _span(pair):
    return f"{pair[0]:g}–{pair[1]:g}" if pair else "none"


def replace(conn, actor, ranges):
    """Make `ranges` the whole set (a field left out has none); audit each change, old → new.
    Returns the fields that changed."""
    changed = []
    with transaction(conn):
        old = {name: (row["low"], row["high"]) for name, row in current(conn).items()}
        for name in MEASUREMENT_FIELDS:
            if old.get(name) == ranges.get(name):
                continue
            if name in ranges:
                conn.execute("INSERT INTO warning_ranges(field, low, high, by_staff, at) VALUES (?, ?, ?, ?, ?) "
                             "ON CONFLICT(field) DO UPDATE SET low = excluded.low, high = excluded.high, "
                             "by_staff = excluded.by_staff, at = excluded.at",
                             (name, *ranges[name], actor.id, now_iso()))
            else:
                conn.execute("DELETE FROM warning_ranges WHERE field = ?", (name,))
            audit(conn, actor, None, "change", f"warning range {name}: {_span(old.get(name))} → "
                                               f"{_span(ranges.get(name))}")
            changed.append(name)
        if changed:
            bump_roster(conn)  # stations take them at their next pull
    return changed


def as_json(conn):
    """The API's view: the ranges set, and every field's unit and hard limits."""
    ranges = current(conn)
    return {"ranges": {name: {"low": r["low"], "high": r["high"], "set_by": r["by_email"], "set_at": r["at"]}
                       for name, r in ranges.items()},
            "fields": {name: {"unit": f.unit, "limits": list(f.plausible)} for name, f in MEASUREMENT_FIELDS.items()}}


# --- the API ----------------------------------------------------------------------

@bp.get("/api/v1/warning-ranges")
@api_roles(*ROLES)
def api_get():
    """The warning ranges set, and each field's hard limits."""
    return jsonify(as_json(get_db()))


@bp.put("/api/v1/warning-ranges")
@api_roles(*ROLES)
def api_put():
    """Replace the whole set of warning ranges (a field left out has none)."""
    conn = get_db()
    try:
        ranges = from_json(request.get_json(silent=True))
    except RangeError as exc:
        return api_error(exc.status, str(exc))
    replace(conn, g.actor, ranges)
    return jsonify(as_json(conn))


# --- the staff page ---------------------------------------------------------------

def _page(conn, form=None, error=None, status=200):
    ranges = current(conn)
    values = form if form is not None else {
        f"{end}_{name}": f"{ranges[name][end]:g}" for name in ranges for end in ("low", "high")}
    return render_template("intake/warning_ranges.html", fields=MEASUREMENT_FIELDS, ranges=ranges, values=values,
                           error=error, saved=request.args.get("saved") == "1"), status


@bp.get("/intake/warning-ranges")
@web_roles(*ROLES)
def page():
    """The warning ranges per field, editable."""
    return _page(get_db())


@bp.post("/intake/warning-ranges")
@web_roles(*ROLES)
def save():
    """Save the page's ranges; an error is shown next to its field and nothing is written."""
    conn = get_db()
    try:
        ranges = from_form(request.form)
    except RangeError as exc:
        return _page(conn, form=request.form, error=exc.form_error(), status=422)
    replace(conn, g.actor, ranges)
    return see_other(url_for("intake_ranges.page", saved=1))
