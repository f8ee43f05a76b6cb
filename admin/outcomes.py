"""The programme's path after referral and its results: the doctor's screening, the
physiotherapist's load-capacity tests, the handover at week 12, work found in the 15 months
after (placements, participation ladder), and the anonymous outcome report for the
municipality."""
import json
import math
import os
import subprocess
import tempfile
from datetime import date, timedelta
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from common.db import all_of, transaction
from common.protocol import one_of
from common.schedule import sessions_on
from common.vocabulary import HEALTH_ROLES, SCREENING_ROLES

from . import goals as goal_rules
from .audit import audit
from .auth import api_error, api_roles, web_roles
from .db import get_db, now_iso
from .errors import Invalid
from .forms import int_or_none

bp = Blueprint("outcomes", __name__)
api_bp = Blueprint("outcomes_api", __name__, url_prefix="/api/v1")

# Codes in the API and the CSV, labels on the pages and in the PDFs (translated when shown).
PLACEMENT_KINDS = {"volunteer": _l("vrijwilligerswerk"), "supported_work": _l("betaald werk met ondersteuning"),
                   "paid_work": _l("betaald werk"), "education": _l("opleiding"), "none": _l("geen")}
WORKING = ("volunteer", "supported_work", "paid_work")
LADDER = {1: _l("geïsoleerd"), 2: _l("sociale contacten buiten de deur"),
          3: _l("deelname aan georganiseerde activiteiten"), 4: _l("onbetaald werk"),
          5: _l("betaald werk met ondersteuning"), 6: _l("betaald werk")}
LADDER_MOMENTS = {"intake": _l("intake"), "end": _l("einde programma"), "m3": _l("3 maanden"), "m6": _l("6 maanden"),
                  "m12": _l("12 maanden"), "m15": _l("15 maanden")}
FOLLOW_MONTHS = (3, 6, 12, 15)
LOAD_TEST_MOMENTS = ("intake", "week6", "week12")
LOAD_CAPACITY = {"good": _l("goed belastbaar"), "moderate": _l("matig belastbaar"), "limited": _l("beperkt belastbaar")}
SMALL = 5                 # a cell describing fewer people than this is shown as "<5"
PLACEMENT_ROLES = ("admin", "coordinator", "lifecoach")
REPORT_ROLES = ("admin", "coordinator")


def _body():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(None, "not_an_object")
    return body


def _date(body, key, required=True):
    value = body.get(key)
    if value is None and not required:
        return None
    try:
        return date.fromisoformat(value).isoformat() if isinstance(value, str) and len(value) == 10 else _bad(key)
    except ValueError:
        return _bad(key)


def _bad(key):
    raise Invalid(key, "date")


def _text(body, key, max_len=300):
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > max_len:
        raise Invalid(key, "text_max", max=max_len)
    return value.strip()


def _number(body, key, low, high, integer=False):
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)) \
            or (isinstance(value, float) and not math.isfinite(value)) or not low <= value <= high:
        raise Invalid(key, "whole_number" if integer else "number_range", low=low, high=high)
    return value


def _participant(conn, participant_id):
    row = conn.execute("SELECT * FROM participants WHERE id = ?", (participant_id,)).fetchone()
    if row is None:
        raise LookupError("no such participant")
    return row


# --- screening, load tests, placements, ladder --------------------------------------

def record_screening(conn, actor, participant_id, body):
    """The doctor's decision; not eligible needs a reason and moves the person to `referred`."""
    decision = body.get("decision")
    if decision not in ("eligible", "not_eligible"):
        raise Invalid("decision", "either", choices="eligible or not_eligible")
    day = _date(body, "date")
    reason, referred_to = _text(body, "reason"), _text(body, "referred_to", 200)
    if decision == "not_eligible" and not reason:
        raise Invalid("reason", "reason_when_not_eligible")
    with transaction(conn):
        person = _participant(conn, participant_id)
        screening_id = conn.execute(
            "INSERT INTO screenings(participant_id, date, decision, reason, referred_to, decided_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (participant_id, day, decision, reason, referred_to, actor.id,
                                              now_iso())).lastrowid
        if decision == "not_eligible":
            conn.execute("UPDATE participants SET status = 'referred', end_reason = ? WHERE id = ?",
                         (reason, participant_id))
        elif person["status"] == "referred_in":
            conn.execute("UPDATE participants SET status = 'intake' WHERE id = ?", (participant_id,))
        audit(conn, actor, participant_id, "change", f"screening: {decision}")
    return screening_id


def record_load_test(conn, actor, participant_id, body):
    """The physiotherapist's load-capacity tests at a moment (again the same moment replaces them)."""
    moment = body.get("moment")
    if moment not in LOAD_TEST_MOMENTS:
        raise Invalid("moment", "choice", choices=", ".join(LOAD_TEST_MOMENTS))
    values = {"walk_6min_m": _number(body, "walk_6min_m", 10, 1200),
              "chair_stands_30s": _number(body, "chair_stands_30s", 0, 60, integer=True),
              "grip_left_kg": _number(body, "grip_left_kg", 0, 120),
              "grip_right_kg": _number(body, "grip_right_kg", 0, 120)}
    capacity = body.get("load_capacity")
    if capacity is not None and not one_of(capacity, LOAD_CAPACITY):
        raise Invalid("load_capacity", "choice", choices=", ".join(LOAD_CAPACITY))
    if all(v is None for v in values.values()) and capacity is None:
        raise Invalid(None, "test_or_capacity")
    day = _date(body, "date")
    with transaction(conn):
        _participant(conn, participant_id)
        conn.execute(
            "INSERT INTO load_tests(participant_id, moment, date, walk_6min_m, chair_stands_30s, grip_left_kg, "
            "grip_right_kg, load_capacity, note, taken_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(participant_id, moment) DO UPDATE SET date = excluded.date, "
            "walk_6min_m = excluded.walk_6min_m, chair_stands_30s = excluded.chair_stands_30s, "
            "grip_left_kg = excluded.grip_left_kg, grip_right_kg = excluded.grip_right_kg, "
            "load_capacity = excluded.load_capacity, note = excluded.note, taken_by = excluded.taken_by, "
            "created_at = excluded.created_at",
            (participant_id, moment, day, *values.values(), capacity, _text(body, "note", 500), actor.id, now_iso()))
        audit(conn, actor, participant_id, "change", f"load-capacity tests at {moment}")


def record_placement(conn, actor, participant_id, body):
    """Work or education found after the programme; returns its id."""
    kind = body.get("kind")
    if not one_of(kind, PLACEMENT_KINDS):
        raise Invalid("kind", "choice", choices=", ".join(PLACEMENT_KINDS))
    starts, ends = _date(body, "starts_on"), _date(body, "ends_on", required=False)
    if ends is not None and ends < starts:
        raise Invalid("ends_on", "ends_before_starts")
    hours = _number(body, "hours_per_week", 0, 60)
    with transaction(conn):
        _participant(conn, participant_id)
        placement_id = conn.execute(
            "INSERT INTO placements(participant_id, kind, starts_on, ends_on, hours_per_week, recorded_by, "
            "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (participant_id, kind, starts, ends, hours, actor.id, now_iso())).lastrowid
        audit(conn, actor, participant_id, "change", f"placement {kind}")
    return placement_id


def record_rung(conn, actor, participant_id, body):
    """The participation-ladder rung at a moment (the same moment again replaces it)."""
    moment = body.get("moment")
    if not one_of(moment, LADDER_MOMENTS):
        raise Invalid("moment", "choice", choices=", ".join(LADDER_MOMENTS))
    rung = _number(body, "rung", 1, 6, integer=True)
    if rung is None:
        raise Invalid("rung", "whole_number", low=1, high=6)
    with transaction(conn):
        _participant(conn, participant_id)
        conn.execute("INSERT INTO ladder_rungs(participant_id, moment, rung, recorded_by, recorded_at) "
                     "VALUES (?, ?, ?, ?, ?) ON CONFLICT(participant_id, moment) DO UPDATE SET rung = excluded.rung, "
                     "recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at",
                     (participant_id, moment, rung, actor.id, now_iso()))
        audit(conn, actor, participant_id, "change", f"ladder rung at {moment}")


def close_programme(conn, actor, participant_id, note):
    """Week 12: the trainer's closing note; the participant's programme is completed."""
    with transaction(conn):
        person = _participant(conn, participant_id)
        conn.execute("INSERT INTO handover_notes(participant_id, note, written_by, written_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT(participant_id) DO UPDATE SET note = excluded.note, "
                     "written_by = excluded.written_by, written_at = excluded.written_at",
                     (participant_id, note.strip()[:2000], actor.id, now_iso()))
        if person["status"] == "active":
            conn.execute("UPDATE participants SET status = 'completed' WHERE id = ?", (participant_id,))
        audit(conn, actor, participant_id, "change", "handover note; programme completed")


def predicted_walk_m(sex, age, height_cm, weight_kg):
    """Enright & Sherrill (1998) predicted six-minute walk distance in metres."""
    if sex == "male":
        return 7.57 * height_cm - 5.02 * age - 1.76 * weight_kg - 309
    if sex == "female":
        return 2.11 * height_cm - 2.29 * weight_kg - 5.78 * age + 667
    return None


# --- the handover report ------------------------------------------------------------

def _latest_values(conn, participant_id):
    """Per measurement moment: the newest value of each field (from all instruments)."""
    found = {}
    for row in conn.execute("SELECT moment, values_json FROM measurements WHERE participant_id = ? ORDER BY at",
                            (participant_id,)):
        found.setdefault(row["moment"], {}).update(
            {k: v for k, v in json.loads(row["values_json"]).items() if isinstance(v, (int, float))})
    return found


def handover(conn, participant_id):
    """Everything the LifeCoach needs at week 12: attendance per week, goals with their
    trajectory, biometrics and load tests at intake, week 6 and week 12, the closing note."""
    from common.clock import utc_now

    from . import attendance as attendance_rules
    person = _participant(conn, participant_id)
    history = attendance_rules.participant_history(conn, participant_id, utc_now())
    tests = {r["moment"]: dict(r) for r in conn.execute("SELECT * FROM load_tests WHERE participant_id = ?",
                                                         (participant_id,))}
    values = _latest_values(conn, participant_id)
    walk = tests.get("intake", {}).get("walk_6min_m")
    predicted = None
    columns = {c[1] for c in conn.execute("PRAGMA table_info(participants)")}
    if walk and {"sex", "birth_date"} <= columns and person["sex"] and person["birth_date"]:
        intake = values.get("intake", {})
        age = (date.today() - date.fromisoformat(person["birth_date"])).days // 365
        if intake.get("height_cm") and intake.get("weight_kg"):
            predicted = predicted_walk_m(person["sex"], age, intake["height_cm"], intake["weight_kg"])
    note = conn.execute("SELECT note FROM handover_notes WHERE participant_id = ?", (participant_id,)).fetchone()
    return {"person": person, "weeks": attendance_rules.weekly_summary(history),
            "goals": goal_rules.participant_goals(conn, participant_id), "tests": tests, "values": values,
            "walk_predicted_pct": round(100 * walk / predicted) if walk and predicted else None,
            "note": note["note"] if note else ""}


# --- the outcome report -------------------------------------------------------------

T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}


def t_critical(df):
    """Student's t at 97.5 % for `df` degrees of freedom (the nearest tabled df at or below)."""
    return T_975[max(k for k in T_975 if k <= df)] if df < 1000 else 1.960


def mean_ci(values):
    """Mean with its 95 % confidence interval and n; small n is suppressed by the caller."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "ci95": None}
    mean = sum(values) / n
    if n == 1:
        return {"n": 1, "mean": round(mean, 2), "ci95": None}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_critical(n - 1) * sd / math.sqrt(n)
    return {"n": n, "mean": round(mean, 2), "ci95": [round(mean - half, 2), round(mean + half, 2)]}


def _cell(count):
    return "<5" if 0 < count < SMALL else count


def _pct(part, whole):
    if whole == 0:
        return None
    if whole < SMALL or 0 < part < SMALL:
        return "<5"
    return round(100 * part / whole, 1)


def _suppressed(stat):
    return {"n": "<5", "mean": "<5", "ci95": "<5"} if 0 < stat["n"] < SMALL else stat


def _months_after(day, months):
    year, month = divmod(day.month - 1 + months, 12)
    from calendar import monthrange
    last = monthrange(day.year + year, month + 1)[1]
    return date(day.year + year, month + 1, min(day.day, last))


def outcome_figures(conn, group_id=None, location=None, starts_from=None, starts_to=None, today=None):
    """The programme's figures for a selection of groups, anonymous: counts under 5 as "<5"."""
    today = today or date.today()
    where, args = all_of(("g.id = ?", group_id), ("g.location = ?", location),
                         ("g.starts_on >= ?", starts_from and starts_from.isoformat()),
                         ("g.starts_on <= ?", starts_to and starts_to.isoformat()))
    people = conn.execute(
        "SELECT p.id, p.status, p.end_reason, g.starts_on, g.weeks, "
        "(SELECT decision FROM screenings s WHERE s.participant_id = p.id ORDER BY s.date DESC, s.id DESC LIMIT 1) "
        f"AS decision FROM participants p JOIN groups g ON g.id = p.group_id WHERE {where}", args).fetchall()
    ids = [p["id"] for p in people]
    started = [p for p in people if p["status"] in ("active", "completed", "withdrawn")]
    completed = [p for p in started if p["status"] == "completed"]
    dropped = [p for p in started if p["status"] == "withdrawn"]
    screened = [p for p in people if p["decision"] is not None]
    eligible = [p for p in screened if p["decision"] == "eligible"]
    reasons = {}
    for p in dropped:
        reasons[p["end_reason"] or "onbekend"] = reasons.get(p["end_reason"] or "onbekend", 0) + 1

    attendance, changes = _attendance_and_changes(conn, started)
    goals = _goal_figures(conn, [p["id"] for p in started])
    ladder_rows = _by_person(conn, "SELECT moment, rung FROM ladder_rungs WHERE participant_id IN ({ids})", ids)
    ladder = {}
    for moment in LADDER_MOMENTS:
        rungs = [r[1] for r in ladder_rows if r[0] == moment]
        ladder[moment] = {"n": _cell(len(rungs)), "mean": round(sum(rungs) / len(rungs), 2)
                          if len(rungs) >= SMALL else ("<5" if rungs else None),
                          "rungs": {str(r): _cell(rungs.count(r)) for r in LADDER}}
    jobs = {}
    for row in _by_person(conn, "SELECT participant_id, starts_on, ends_on FROM placements WHERE participant_id "
                                f"IN ({{ids}}) AND kind IN {WORKING}", [p["id"] for p in completed]):
        jobs.setdefault(row[0], []).append((row[1], row[2]))
    work = {}
    for months in FOLLOW_MONTHS:
        observed = [p for p in completed if _months_after(_end(p), months) <= today]
        working = 0
        for p in observed:
            day = _months_after(_end(p), months).isoformat()
            working += any(start <= day and (end is None or end >= day) for start, end in jobs.get(p["id"], ()))
        work[f"m{months}"] = {"observed": _cell(len(observed)), "working": _cell(working),
                              "pct": _pct(working, len(observed))}
    return {
        "selection": {"group_id": group_id, "location": location,
                      "from": starts_from.isoformat() if starts_from else None,
                      "to": starts_to.isoformat() if starts_to else None},
        "referred": _cell(len(people)),
        "screened": _cell(len(screened)),
        "eligible": _cell(len(eligible)), "eligible_pct": _pct(len(eligible), len(screened)),
        "started": _cell(len(started)),
        "completed": _cell(len(completed)), "completed_pct": _pct(len(completed), len(started)),
        "dropped_out": _cell(len(dropped)), "dropped_out_pct": _pct(len(dropped), len(started)),
        "dropout_reasons": {reason: _cell(n) for reason, n in sorted(reasons.items())},
        "mean_attendance_pct": _suppressed(attendance),
        **goals,
        "change_intake_to_week12": {key: _suppressed(stat) for key, stat in changes.items()},
        "ladder": ladder,
        "in_work": work,
        "small_cells": f"counts under {SMALL} are shown as \"<5\"",
    }


def _end(person):
    return date.fromisoformat(person["starts_on"]) + timedelta(days=7 * person["weeks"])


CHANGE_FIELDS = ("weight_kg", "systolic_mmhg", "diastolic_mmhg", "walk_6min_m")


def snapshot(conn, participant_id):
    """Keep a person's figures for the report before the data they come from goes (once)."""
    person = conn.execute("SELECT p.id, g.weeks FROM participants p JOIN groups g ON g.id = p.group_id "
                          "WHERE p.id = ?", (participant_id,)).fetchone()
    if person is None or conn.execute("SELECT 1 FROM outcome_snapshots WHERE participant_id = ?",
                                      (participant_id,)).fetchone():
        return
    rate, changes = _per_person(conn, [person])[participant_id]
    conn.execute("INSERT INTO outcome_snapshots(participant_id, attendance_pct, weight_kg_change, "
                 "systolic_mmhg_change, diastolic_mmhg_change, walk_6min_m_change, made_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (participant_id, rate, *(changes[f] for f in CHANGE_FIELDS), now_iso()))


def _by_person(conn, sql, ids):
    """Rows of `sql` (with a {ids} placeholder) for the given participants, in one query."""
    if not ids:
        return []
    return conn.execute(sql.format(ids=",".join("?" * len(ids))), ids).fetchall()


def _per_person(conn, people):
    """{id: (attendance rate, intake-to-week-12 changes)} for `people` (rows with id and weeks):
    from a person's snapshot once taken, else from the data; read set-wise, a few queries for
    the whole selection rather than a few per person."""
    ids = [p["id"] for p in people]
    kept = {r["participant_id"]: r for r in _by_person(
        conn, "SELECT * FROM outcome_snapshots WHERE participant_id IN ({ids})", ids)}
    live = [i for i in ids if i not in kept]
    group_of = dict(_by_person(conn, "SELECT id, group_id FROM participants WHERE id IN ({ids})", live))
    held = _sessions_held(conn, set(group_of.values()))
    attended = dict(_by_person(conn, "SELECT participant_id, COUNT(DISTINCT local_date) FROM checkins "
                                     "WHERE participant_id IN ({ids}) GROUP BY participant_id", live))
    excused = dict(_by_person(conn, "SELECT participant_id, COUNT(DISTINCT date) FROM excuses "
                                    "WHERE participant_id IN ({ids}) GROUP BY participant_id", live))
    values = {}
    for row in _by_person(conn, "SELECT participant_id, moment, values_json FROM measurements "
                                "WHERE participant_id IN ({ids}) AND moment IN ('intake', 'week12') "
                                "ORDER BY participant_id, at", live):
        values.setdefault(row[0], {}).setdefault(row[1], {}).update(
            {k: v for k, v in json.loads(row[2]).items() if isinstance(v, (int, float))})
    walks = {}
    for row in _by_person(conn, "SELECT participant_id, moment, walk_6min_m FROM load_tests WHERE participant_id "
                                "IN ({ids}) AND walk_6min_m IS NOT NULL", live):
        walks.setdefault(row[0], {})[row[1]] = row[2]
    figures = {}
    for pid in ids:
        if pid in kept:
            rate, changes = kept[pid]["attendance_pct"], {f: kept[pid][f"{f}_change"] for f in CHANGE_FIELDS}
        else:
            counted = held.get(group_of.get(pid), 0) - excused.get(pid, 0)
            rate = 100 * min(attended.get(pid, 0), counted) / counted if counted > 0 else None
            mine, walk = values.get(pid, {}), walks.get(pid, {})
            changes = {f: mine["week12"][f] - mine["intake"][f] if f in mine.get("intake", {}) and
                       f in mine.get("week12", {}) else None for f in CHANGE_FIELDS[:3]}
            changes["walk_6min_m"] = walk["week12"] - walk["intake"] if {"intake", "week12"} <= set(walk) else None
        figures[pid] = (rate, changes)
    return figures


def _sessions_held(conn, group_ids):
    """{group id: sessions of its whole programme that take place} (cancelled ones do not count)."""
    from .attendance import load_groups
    held = {}
    for group in load_groups(conn):
        if group.id in group_ids:
            days = (group.starts_on + timedelta(days=n) for n in range((group.ends_on - group.starts_on).days + 1))
            held[group.id] = sum(len(sessions_on(group, day)) for day in days)
    return held


def _attendance_and_changes(conn, people):
    """Mean attendance and mean changes (with their intervals) over `people`."""
    rates, deltas = [], {f: [] for f in CHANGE_FIELDS}
    for rate, changes in _per_person(conn, people).values():
        if rate is not None:
            rates.append(rate)
        for field, value in changes.items():
            if value is not None:
                deltas[field].append(value)
    return mean_ci(rates), {f: mean_ci(v) for f, v in deltas.items()}


def _goal_figures(conn, ids):
    if not ids:
        return {"goals_set": 0, "goals_scored_week12": 0, "goals_achieved": 0, "goals_achieved_pct": None,
                "goals_by_domain": {}, "mean_gas_t_score": {"n": 0, "mean": None, "ci95": None}}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(
        f"SELECT g.participant_id, g.domain, e.score FROM goals g LEFT JOIN goal_evaluations e "
        f"ON e.goal_id = g.id AND e.week = {goal_rules.LAST_WEEK} WHERE g.participant_id IN ({marks})", ids).fetchall()
    scored = [r for r in rows if r["score"] is not None]
    achieved = [r for r in scored if r["score"] >= 0]
    by_domain = {}
    for domain in goal_rules.DOMAINS:
        d_scored = [r for r in scored if r["domain"] == domain]
        d_achieved = [r for r in d_scored if r["score"] >= 0]
        by_domain[domain] = {"set": _cell(sum(1 for r in rows if r["domain"] == domain)),
                             "achieved": _cell(len(d_achieved)), "achieved_pct": _pct(len(d_achieved), len(d_scored))}
    finals = {}
    for r in rows:
        finals.setdefault(r["participant_id"], []).append(r["score"])
    t_scores = [goal_rules.gas_t_score(scores) for scores in finals.values() if None not in scores]
    return {"goals_set": _cell(len(rows)), "goals_scored_week12": _cell(len(scored)),
            "goals_achieved": _cell(len(achieved)), "goals_achieved_pct": _pct(len(achieved), len(scored)),
            "goals_by_domain": by_domain, "mean_gas_t_score": _suppressed(mean_ci(t_scores))}


# --- API ------------------------------------------------------------------------------

def _call(fn, *args, created=False):
    try:
        value = fn(get_db(), g.actor, *args, _body())
    except Invalid as exc:
        return api_error(400, str(exc))
    except LookupError as exc:
        return api_error(404, str(exc))
    return (jsonify(id=value), 201) if created else (jsonify(ok=True), 201)


@api_bp.post("/participants/<int:participant_id>/screening")
@api_roles(*SCREENING_ROLES)
def api_screening(participant_id):
    """{"date", "decision": "eligible"|"not_eligible", "reason"?, "referred_to"?} → 201."""
    return _call(record_screening, participant_id, created=True)


@api_bp.post("/participants/<int:participant_id>/load-tests")
@api_roles("admin", "physio")
def api_load_tests(participant_id):
    """{"moment", "date", "walk_6min_m"?, "chair_stands_30s"?, "grip_left_kg"?, "grip_right_kg"?, "load_capacity"?}."""
    return _call(record_load_test, participant_id)


@api_bp.post("/participants/<int:participant_id>/placements")
@api_roles(*PLACEMENT_ROLES)
def api_placement(participant_id):
    """{"kind", "starts_on", "ends_on"?, "hours_per_week"?} → 201 {"id"}."""
    denied = _not_own(participant_id)
    return denied or _call(record_placement, participant_id, created=True)


@api_bp.post("/participants/<int:participant_id>/ladder")
@api_roles(*PLACEMENT_ROLES)
def api_ladder(participant_id):
    """{"moment": intake|end|m3|m6|m12|m15, "rung": 1..6} → 201."""
    denied = _not_own(participant_id)
    return denied or _call(record_rung, participant_id)


def _not_own(participant_id):
    row = get_db().execute("SELECT lifecoach_id FROM participants WHERE id = ?", (participant_id,)).fetchone()
    if row is not None and g.staff["role"] == "lifecoach" and row["lifecoach_id"] != g.staff["id"]:
        return api_error(403, "not one of your participants")
    return None


def _report_args():
    def day(key):
        text = request.args.get(key)
        if text is None:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise Invalid(key, "date") from None
    group_id = request.args.get("group_id")
    if group_id is not None and (not group_id.isdecimal() or int_or_none(group_id) is None):
        raise Invalid("group_id", "number")
    return {"group_id": int(group_id) if group_id else None, "location": request.args.get("location") or None,
            "starts_from": day("from"), "starts_to": day("to")}


@api_bp.get("/reports/outcomes")
@api_roles(*REPORT_ROLES)
def api_report():
    """The programme's figures, anonymous (cells under 5 people as "<5")."""
    try:
        args = _report_args()
    except Invalid as exc:
        return api_error(400, str(exc))
    return jsonify(outcome_figures(get_db(), **args))


# --- pages ----------------------------------------------------------------------------

@bp.get("/reports/outcomes")
@web_roles(*REPORT_ROLES)
def report_page():
    """The outcome report with charts; ?format=csv or pdf for the file."""
    conn = get_db()
    try:
        args = _report_args()
    except Invalid as exc:
        return str(exc), 400
    figures = outcome_figures(conn, **args)
    groups = conn.execute("SELECT id, name, location FROM groups ORDER BY starts_on DESC").fetchall()
    locations = sorted({gr["location"] for gr in groups})
    fmt = request.args.get("format")
    if fmt == "csv":
        return _csv(figures)
    html = render_template("outcomes/report.html", f=figures, groups=groups, locations=locations,
                           args=request.args, moments=LADDER_MOMENTS, ladder=LADDER, domains=goal_rules.DOMAINS,
                           printable=fmt == "pdf")
    if fmt == "pdf":
        return _pdf(html, "uitkomsten.pdf")
    return html


def _csv(figures):
    rows = [("figure", "value")]

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        elif isinstance(value, list):
            walk(prefix, " .. ".join(str(v) for v in value))
        else:
            rows.append((prefix, "" if value is None else str(value)))
    walk("", figures)
    body = "\ufeff" + "\r\n".join(";".join(f'"{c}"' for c in row) for row in rows) + "\r\n"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": 'attachment; filename="uitkomsten.csv"'})


@bp.get("/participants/<int:participant_id>/handover")
@web_roles("admin", "coordinator", "lifecoach", "trainer")
def handover_page(participant_id):
    """The handover report for the LifeCoach: printable, or ?format=pdf (audited)."""
    conn = get_db()
    try:
        person = _participant(conn, participant_id)
    except LookupError:
        return gettext("Deelnemer niet gevonden"), 404
    if g.staff["role"] == "lifecoach" and person["lifecoach_id"] != g.staff["id"]:
        return gettext("Niet een van jouw deelnemers"), 403
    report = handover(conn, participant_id)
    audit(conn, g.actor, participant_id, "view" if request.args.get("format") != "pdf" else "export",
          "handover report")
    html = render_template("outcomes/handover.html", r=report, moments=("intake", "week6", "week12"),
                           domains=goal_rules.DOMAINS, capacity=LOAD_CAPACITY, printable=request.args.get("format") == "pdf")
    if request.args.get("format") == "pdf":
        return _pdf(html, f"overdracht-{participant_id}.pdf")
    return html


@bp.post("/participants/<int:participant_id>/handover")
@web_roles("admin", "coordinator", "trainer")
def handover_note(participant_id):
    """The trainer's closing note; completes the programme."""
    conn = get_db()
    try:
        close_programme(conn, g.actor, participant_id, request.form.get("note", ""))
    except LookupError:
        return gettext("Deelnemer niet gevonden"), 404
    return handover_page(participant_id)


def _pdf(html, filename):
    """Print HTML to PDF with headless Chromium (PDF_CHROMIUM, default /usr/bin/chromium)."""
    chromium = current_app.config.get("PDF_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        return gettext("PDF maken kan hier niet: installeer Chromium op de server (Debian-pakket chromium)."), 503
    with tempfile.TemporaryDirectory(prefix="fitwerk-pdf-") as work:
        page, out = Path(work) / "page.html", Path(work) / "out.pdf"
        page.write_text(html)
        # No network, no JavaScript engine needed: our own HTML with inline styles.
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
                        "--disable-background-networking", "--disable-component-update", "--no-pdf-header-footer",
                        f"--user-data-dir={work}/profile", f"--print-to-pdf={out}", page.as_uri()],
                       capture_output=True, timeout=60, env={**os.environ, "HOME": work}, check=False)
        if not out.exists():
            return gettext("PDF maken is mislukt."), 500
        data = out.read_bytes()
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def init_app(app):
    """Register the blueprints of goals and outcomes."""
    for blueprint in (bp, api_bp, goal_rules.bp, goal_rules.api_bp):
        app.register_blueprint(blueprint)



# --- the programme page on the staff site: screening, tests, work found --------------

PROGRAMME_ROLES = ("admin", "coordinator", "lifecoach", "physio", "doctor")
FORMS = {  # form → (rule, roles that may record it, whether a LifeCoach only for their own people)
    "screening": (record_screening, SCREENING_ROLES),
    "load-tests": (record_load_test, ("admin", "physio")),
    "placements": (record_placement, PLACEMENT_ROLES),
    "ladder": (record_rung, PLACEMENT_ROLES),
}
NUMBER_FIELDS = {"walk_6min_m", "grip_left_kg", "grip_right_kg", "hours_per_week"}
INTEGER_FIELDS = {"chair_stands_30s", "rung"}


def _form_body(form):
    """A submitted form as the JSON body the rules take: numbers as numbers, empty as absent."""
    body = {}
    for key, value in form.items():
        if key == "csrf_token" or value == "":
            continue
        try:
            body[key] = int(value) if key in INTEGER_FIELDS else float(value) if key in NUMBER_FIELDS else value
        except ValueError:
            body[key] = value   # the rule refuses it with its own message
    return body


def _programme_context(conn, participant_id):
    person = _participant(conn, participant_id)
    role = g.staff["role"]
    own = role != "lifecoach" or person["lifecoach_id"] == g.staff["id"]
    context = {"person": person, "own": own, "kinds": PLACEMENT_KINDS, "ladder": LADDER,
               "ladder_moments": LADDER_MOMENTS, "capacity": LOAD_CAPACITY, "today": date.today().isoformat()}
    if role in HEALTH_ROLES:   # the doctor's reasons are medical
        context["screenings"] = conn.execute("SELECT * FROM screenings WHERE participant_id = ? ORDER BY date DESC, id DESC",
                                             (participant_id,)).fetchall()
    if role in HEALTH_ROLES:
        context["tests"] = conn.execute("SELECT * FROM load_tests WHERE participant_id = ? ORDER BY date",
                                        (participant_id,)).fetchall()
    if role in PLACEMENT_ROLES and own:
        context["placements"] = conn.execute("SELECT * FROM placements WHERE participant_id = ? ORDER BY starts_on",
                                             (participant_id,)).fetchall()
        context["rungs"] = {r["moment"]: r["rung"] for r in conn.execute(
            "SELECT moment, rung FROM ladder_rungs WHERE participant_id = ?", (participant_id,))}
    return context


@bp.get("/participants/<int:participant_id>/programme")
@web_roles(*PROGRAMME_ROLES)
def programme_page(participant_id):
    """Screening, load-capacity tests, placements and the ladder: each role its own part (audited)."""
    conn = get_db()
    try:
        context = _programme_context(conn, participant_id)
    except LookupError:
        return gettext("Deelnemer niet gevonden"), 404
    audit(conn, g.actor, participant_id, "view", "programme page")
    return render_template("outcomes/programme.html", error=None, **context)


@bp.post("/participants/<int:participant_id>/programme/<form>")
@web_roles(*PROGRAMME_ROLES)
def programme_form(participant_id, form):
    """Record one of the programme forms; the page again with the error next to it, or a 303."""
    if form not in FORMS:
        return gettext("Onbekend formulier"), 404
    rule, roles = FORMS[form]
    if g.staff["role"] not in roles:
        return gettext("Deze rol mag dit niet vastleggen"), 403
    conn = get_db()
    try:
        context = _programme_context(conn, participant_id)
    except LookupError:
        return gettext("Deelnemer niet gevonden"), 404
    if not context["own"]:
        return gettext("Niet een van jouw deelnemers"), 403
    try:
        rule(conn, g.actor, participant_id, _form_body(request.form))
    except Invalid as exc:
        return render_template("outcomes/programme.html", error={"form": form, "message": exc.message()},
                               **_programme_context(conn, participant_id)), 422
    from flask import url_for

    from .forms import see_other
    return see_other(url_for("outcomes.programme_page", participant_id=participant_id) + f"#{form}")


def due_check_ins(conn, staff, today=None):
    """Aftercare moments (3, 6, 12, 15 months after the programme) that are due and have no
    ladder rung yet; a LifeCoach sees their own people."""
    today = today or date.today()
    rows = conn.execute(
        "SELECT p.id, p.first_name, p.last_name, p.lifecoach_id, g.starts_on, g.weeks FROM participants p "
        "JOIN groups g ON g.id = p.group_id WHERE p.status = 'completed' AND p.anonymised_at IS NULL "
        + ("AND p.lifecoach_id = ? " if staff["role"] == "lifecoach" else "") + "ORDER BY p.first_name",
        (staff["id"],) if staff["role"] == "lifecoach" else ()).fetchall()
    due = []
    for row in rows:
        done = {r[0] for r in conn.execute("SELECT moment FROM ladder_rungs WHERE participant_id = ?", (row["id"],))}
        for months in FOLLOW_MONTHS:
            day = _months_after(_end(row), months)
            if day <= today and f"m{months}" not in done:
                due.append({"participant_id": row["id"], "name": f"{row['first_name']} {row['last_name']}",
                            "moment": f"m{months}", "label": LADDER_MOMENTS[f"m{months}"], "due_on": day.isoformat()})
    return sorted(due, key=lambda d: d["due_on"])


@bp.get("/aftercare")
@web_roles(*PLACEMENT_ROLES)
def aftercare():
    """The LifeCoach's list of due aftercare check-ins (work found, the ladder)."""
    conn = get_db()
    due = due_check_ins(conn, g.staff)
    audit(conn, g.actor, None, "view", "aftercare list")
    return render_template("outcomes/aftercare.html", due=due)
