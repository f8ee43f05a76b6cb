"""Taking a measurement a physiotherapist can trust: contraindications asked before each
instrument, blood pressure as a series after a seated rest, a reason for whatever is not
measured, and what is left to do for the person at this moment."""
import json
from dataclasses import dataclass

from common import clock
from common.db import transaction
from common.intake import ANSWERS, ARMS, CUFFS, QUESTIONS, contraindicated, record_states

BP_VALUES = ("systolic_mmhg", "diastolic_mmhg", "pulse_bpm", "mean_arterial_mmhg")


class Invalid(ValueError):
    """A station action that cannot be done as asked: about which form field (None: the
    station as a whole), what (`code`, see station_views.MESSAGES) and the details the
    message needs; `needs_confirmation` lists values outside the warning ranges."""

    def __init__(self, field, code, needs_confirmation=(), **params):
        super().__init__(f"{field}: {code}" if field else code)
        self.field, self.code, self.params = field, code, params
        self.needs_confirmation = tuple(needs_confirmation)


# --- contraindications ---------------------------------------------------------------

def screening_from(form):
    """The answers given on the form: {instrument: {"answers": {code: yes|no|unknown}, "observed"}}."""
    screening = {}
    for instrument, questions in QUESTIONS.items():
        answers = {}
        for code in questions:
            answer = form.get(f"ci_{code}")
            if answer:
                if answer not in ANSWERS:
                    raise Invalid(f"ci_{code}", "answer_choice")
                answers[code] = answer
        observed = (form.get(f"ci_{instrument}_observed") or "").strip()[:200]
        if answers or observed:
            screening[instrument] = {"answers": answers, **({"observed": observed} if observed else {})}
    return screening


def unanswered(screening, instrument):
    """The questions of the instrument nobody answered yet."""
    answers = screening.get(instrument, {}).get("answers", {})
    return [code for code in QUESTIONS[instrument] if code not in answers]


def require_answers(screening, instrument):
    """Refuse to use an instrument before its questions are answered."""
    if unanswered(screening, instrument):
        raise Invalid(f"ci_{instrument}", "answer_first", instrument=instrument)


def allowed_arms(screening):
    """The arms blood pressure may be taken on."""
    ruled_out = contraindicated(screening, "bp")
    return [arm for arm in ARMS if f"arm_{arm}" not in ruled_out]


# --- blood pressure as a series -----------------------------------------------------------

@dataclass(frozen=True)
class SeriesRules:
    """How a series is taken: readings, seconds apart, the last how many averaged, seated rest."""

    readings: int = 3
    interval_s: float = 60.0
    average_last: int = 2
    rest_s: float = 300.0

    @classmethod
    def from_config(cls, config):
        """From KIOSK_BP_READINGS, KIOSK_BP_INTERVAL_S, KIOSK_BP_AVERAGE_LAST, KIOSK_BP_REST_S."""
        rules = cls(int(config["KIOSK_BP_READINGS"]), float(config["KIOSK_BP_INTERVAL_S"]),
                    int(config["KIOSK_BP_AVERAGE_LAST"]), float(config["KIOSK_BP_REST_S"]))
        if not 1 <= rules.average_last <= rules.readings:
            raise ValueError("KIOSK_BP_AVERAGE_LAST must be between 1 and KIOSK_BP_READINGS")
        return rules


def start_series(conn, participant_id, arm, cuff, screening):
    """The person sits down: the rest begins now, on this arm with this cuff."""
    require_answers(screening, "bp")
    if arm not in allowed_arms(screening):
        raise Invalid("bp_arm", "arm_excluded" if allowed_arms(screening) else "both_arms_excluded")
    if cuff not in CUFFS:
        raise Invalid("bp_cuff", "cuff")
    with transaction(conn):
        conn.execute("INSERT INTO bp_series(participant_id, started_at, started_epoch, arm, cuff) "
                     "VALUES (?, ?, ?, ?, ?)", (participant_id, clock.iso(clock.wall_epoch()), clock.wall_epoch(),
                                                arm, cuff))


def mean_of(readings, last):
    """The mean of the last `last` readings, per value, to one decimal."""
    chosen = readings[-last:]
    result = {}
    for key in BP_VALUES:
        values = [r[key] for r in chosen if r.get(key) is not None]
        if len(values) == len(chosen):
            result[key] = round(sum(values) / len(values), 1)
    return result


def series(conn, participant_id, since, rules):
    """The participant's current series: its readings (counted or why not), the rest left, the mean."""
    row = conn.execute("SELECT * FROM bp_series WHERE participant_id = ? AND started_at >= ? ORDER BY id DESC "
                       "LIMIT 1", (participant_id, since or "")).fetchone()
    if row is None:
        return None
    now = clock.wall_epoch()
    rest_until = row["started_epoch"] + rules.rest_s
    readings, last_counted = [], None
    for reading in conn.execute("SELECT * FROM instrument_readings WHERE instrument = 'bp' AND at >= ? "
                                "AND values_json IS NOT NULL ORDER BY id", (row["started_at"],)):
        values = json.loads(reading["values_json"])
        at = clock.parse_iso(reading["at"]).timestamp()
        item = {"at": reading["at"], "arm": row["arm"], "cuff": row["cuff"],
                **{k: values[k] for k in BP_VALUES if k in values}, "flags": values.get("flags", {})}
        # A reading a little early still counts: the monitor's own cycle varies by seconds.
        if at < rest_until:
            item["counted"], item["why_not"] = False, "tijdens de rust"
        elif last_counted is not None and at - last_counted < rules.interval_s * 0.9:
            item["counted"], item["why_not"] = False, "te kort na de vorige"
        elif sum(r["counted"] for r in readings) >= rules.readings:
            item["counted"], item["why_not"] = False, "serie was al compleet"
        else:
            item["counted"], last_counted = True, at
        readings.append(item)
    counted = [r for r in readings if r["counted"]]
    next_in = max(rest_until - now, (last_counted + rules.interval_s - now) if last_counted else 0, 0)
    return {"id": row["id"], "arm": row["arm"], "cuff": row["cuff"], "readings": readings,
            "counted": len(counted), "rest_left_s": max(0, rest_until - now),
            "next_in_s": next_in if len(counted) < rules.readings else 0,
            "complete": len(counted) >= rules.readings, "rules": rules,
            "mean": mean_of(counted, rules.average_last) if len(counted) >= rules.average_last else None}


def series_result(current, rules):
    """Values, provenance extras and the readings to keep, from a complete series."""
    if current is None:
        raise Invalid("bp", "series_not_started")
    if not current["complete"]:
        raise Invalid("bp", "series_incomplete", counted=current["counted"], readings=rules.readings)
    readings = [{k: v for k, v in r.items() if k != "why_not"} for r in current["readings"]]
    series_facts = {"readings": rules.readings, "averaged": rules.average_last, "interval_s": rules.interval_s,
                    "rest_s": rules.rest_s, "arm": current["arm"], "cuff": current["cuff"]}
    return current["mean"], series_facts, readings


# --- what is done and what is left --------------------------------------------------------

def progress(conn, participant_id, done_before):
    """Per moment and instrument: done | skipped | contraindicated | todo, from what the server
    knew at the last roster pull and what this station saved since."""
    status = {moment: dict(instruments) for moment, instruments in (done_before or {}).items()}
    for row in conn.execute("SELECT body_json FROM outbox WHERE kind = 'measurement' ORDER BY seq"):
        body = json.loads(row["body_json"])
        if body.get("participant_id") != participant_id:
            continue
        for instrument, state in record_states(body.get("values", {}), body.get("skipped", {})).items():
            status.setdefault(body["moment"], {})[instrument] = state
    return status
