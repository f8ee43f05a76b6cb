"""How a measurement is taken, as rules: blood-pressure series and their mean (hand-computed),
contraindications, repeated weighings, what must be said when an instrument is not used,
warning ranges, device checks — on a real kiosk database, no processes."""
import json
from datetime import date

import pytest

from common import clock
from common.hashing import hash_secret
from kiosk import intake, station, store

PHYSIO = "0102030405060AAA"
NO = {"ci_implant": "no", "ci_pregnant": "no", "ci_arm_right": "no", "ci_arm_left": "no"}
FAST = intake.SeriesRules(readings=3, interval_s=60, average_last=2, rest_s=300)


@pytest.fixture
def conn(tmp_path):
    """A station database with a physio's badge and Fatma, picked for measuring."""
    conn = store.open_db(tmp_path / "kiosk.sqlite")
    conn.execute("INSERT INTO roster_badges(uid, staff_id, staff_role, pin_hash) VALUES (?, 7, 'physio', ?)",
                 (PHYSIO, hash_secret("2468")))
    conn.execute("INSERT INTO roster_people(participant_id, first_name, group_id, sex, birth_year) "
                 "VALUES (1, 'Fatma', 1, 'female', 1985)")
    station.tap(conn, PHYSIO, 300)
    station.enter_pin(conn, "2468", lock_s=300)
    station.select(conn, 1, 300)
    # Picked twenty minutes ago: the series and readings below happened since.
    conn.execute("UPDATE station_state SET identified_at = ?", (iso_ago(1200),))
    return conn


def iso_ago(seconds):
    return clock.iso(clock.wall_epoch() - seconds)


def series_started(conn, seconds_ago, arm="right"):
    conn.execute("INSERT INTO bp_series(participant_id, started_at, started_epoch, arm, cuff) VALUES (1, ?, ?, ?, 'M')",
                 (iso_ago(seconds_ago), clock.wall_epoch() - seconds_ago, arm))


def bp_reading(conn, seconds_ago, systolic, diastolic, pulse, **flags):
    values = {"systolic_mmhg": systolic, "diastolic_mmhg": diastolic, "pulse_bpm": pulse, "driver": "omron-hbp9030",
              "device_model": "HBP-9030", "flags": flags or {"body_movement": False}}
    conn.execute("INSERT INTO instrument_readings(instrument, values_json, at) VALUES ('bp', ?, ?)",
                 (json.dumps(values), iso_ago(seconds_ago)))


def current(conn):
    return station.state(conn, 300)


# --- blood pressure as a series ---------------------------------------------------------

def test_the_result_is_the_mean_of_the_last_two_readings_hand_computed():
    readings = [{"systolic_mmhg": 138, "diastolic_mmhg": 88, "pulse_bpm": 80},
                {"systolic_mmhg": 131, "diastolic_mmhg": 85, "pulse_bpm": 75},
                {"systolic_mmhg": 126, "diastolic_mmhg": 82, "pulse_bpm": 72}]
    # (131 + 126) / 2 = 128.5, (85 + 82) / 2 = 83.5, (75 + 72) / 2 = 73.5: divided by two, not three.
    assert intake.mean_of(readings, 2) == {"systolic_mmhg": 128.5, "diastolic_mmhg": 83.5, "pulse_bpm": 73.5}
    # All three: (138 + 131 + 126) / 3 = 131.67 → 131.7; (88 + 85 + 82) / 3 = 85.0; (80 + 75 + 72) / 3 = 75.67.
    assert intake.mean_of(readings, 3) == {"systolic_mmhg": 131.7, "diastolic_mmhg": 85.0, "pulse_bpm": 75.7}


def test_a_series_counts_readings_after_the_rest_a_minute_apart_and_keeps_the_others(conn):
    series_started(conn, 600)
    bp_reading(conn, 420, 150, 95, 90)   # 180 s into a 300 s rest: kept, not counted
    bp_reading(conn, 290, 138, 88, 80)   # after the rest: 1st
    bp_reading(conn, 270, 137, 88, 80)   # 20 s later: too soon, not counted
    bp_reading(conn, 225, 131, 85, 75, body_movement=True)  # 65 s after the 1st: 2nd
    bp_reading(conn, 160, 126, 82, 72)   # 65 s later: 3rd
    taken = intake.series(conn, 1, current(conn)["identified_at"], FAST)
    assert [r["counted"] for r in taken["readings"]] == [False, True, False, True, True]
    assert [r.get("why_not") for r in taken["readings"]] == ["tijdens de rust", None, "te kort na de vorige", None,
                                                            None]
    assert taken["complete"] and taken["mean"] == {"systolic_mmhg": 128.5, "diastolic_mmhg": 83.5,
                                                   "pulse_bpm": 73.5}
    assert taken["readings"][3]["flags"] == {"body_movement": True}
    assert all(r["arm"] == "right" and r["cuff"] == "M" for r in taken["readings"])


def test_saving_a_series_keeps_every_reading_with_time_arm_cuff_and_flags(conn):
    series_started(conn, 600)
    for ago, sys_, dia, pulse in ((290, 138, 88, 80), (225, 131, 85, 75), (160, 126, 82, 72)):
        bp_reading(conn, ago, sys_, dia, pulse)
    form = {**NO, "scale_skip_reason": "weegschaal defect"}
    values, sources, details = station.build_measurement(conn, form, current(conn),
                                                         station.Settings(series=FAST))
    assert values == {"systolic_mmhg": 128.5, "diastolic_mmhg": 83.5, "pulse_bpm": 73.5}
    assert sources["bp"]["series"] == {"readings": 3, "averaged": 2, "interval_s": 60, "rest_s": 300,
                                       "arm": "right", "cuff": "M"}
    assert [r["systolic_mmhg"] for r in details["bp_readings"]] == [138, 131, 126]
    assert details["skipped"] == {"scale": {"reason": "weegschaal defect"}}


def test_an_incomplete_series_cannot_be_saved(conn):
    series_started(conn, 600)
    bp_reading(conn, 290, 138, 88, 80)
    with pytest.raises(station.Invalid, match="bp: series_incomplete"):
        station.build_measurement(conn, {**NO, "scale_skip_reason": "x"}, current(conn), station.Settings(series=FAST))


def test_a_bp_reading_without_a_series_asks_for_the_rest_first(conn):
    bp_reading(conn, 10, 128, 82, 70)
    with pytest.raises(station.Invalid, match="bp: series_not_started"):
        station.build_measurement(conn, {**NO, "bp_reading": "1", "scale_skip_reason": "x"}, current(conn))


# --- contraindications ---------------------------------------------------------------------

@pytest.mark.parametrize("answers, arms", [
    ({"ci_arm_right": "no", "ci_arm_left": "no"}, ["right", "left"]),
    ({"ci_arm_right": "yes", "ci_arm_left": "no"}, ["left"]),
    ({"ci_arm_right": "no", "ci_arm_left": "unknown"}, ["right"]),   # not knowing counts as yes
    ({"ci_arm_right": "unknown", "ci_arm_left": "yes"}, []),
])
def test_a_contraindicated_arm_leaves_the_other(answers, arms):
    assert intake.allowed_arms(intake.screening_from(answers)) == arms


def test_a_series_cannot_start_on_a_contraindicated_arm_nor_before_the_questions(conn):
    with pytest.raises(intake.Invalid, match="ci_bp: answer_first"):
        intake.start_series(conn, 1, "right", "M", intake.screening_from({"ci_arm_right": "no"}))
    with pytest.raises(intake.Invalid, match="bp_arm: arm_excluded"):
        intake.start_series(conn, 1, "right", "M", intake.screening_from({**NO, "ci_arm_right": "yes"}))
    intake.start_series(conn, 1, "left", "L", intake.screening_from({**NO, "ci_arm_right": "yes"}))
    assert conn.execute("SELECT arm, cuff FROM bp_series").fetchone()[:] == ("left", "L")


def test_both_arms_contraindicated_skip_blood_pressure_with_the_codes(conn):
    form = {**NO, "ci_arm_right": "yes", "ci_arm_left": "unknown", "scale_skip_reason": "x",
            "ci_bp_observed": "gips rechts, wond links"}
    values, sources, details = station.build_measurement(conn, form, current(conn))
    assert "bp" not in sources and details["skipped"]["bp"] == {
        "reason": "contra-indicatie aan beide armen", "contraindicated": ["arm_right", "arm_left"]}
    assert details["screening"]["bp"] == {"answers": {"arm_right": "yes", "arm_left": "unknown"},
                                          "observed": "gips rechts, wond links"}


def test_an_implant_means_weight_only_and_nothing_personal_is_sent(conn):
    form = {**NO, "ci_implant": "unknown", "height_cm": "164"}
    assert station.scale_setup(current(conn), form, 0.5) is None
    device = {"weight_kg": 70.2, "fat_pct": 30.1, "muscle_mass_kg": 45.0, "height_cm": 164.0, "driver": "tanita",
              "inputs": {"sex": "female", "age": 41, "height_cm": 164.0, "body_type": "standard", "tare_kg": 0.5}}
    values, source = station._scale_values(device, current(conn), form, 0.5)
    assert values == {"weight_kg": 70.2} and source["weight_only"] == "contraindicated"


def test_scale_values_need_the_questions_answered(conn):
    conn.execute("INSERT INTO instrument_readings(instrument, values_json, at) VALUES ('scale', ?, ?)",
                 (json.dumps({"weight_kg": 70.2, "driver": "and-scale"}), iso_ago(1)))
    with pytest.raises(station.Invalid, match="ci_scale: answer_first"):
        station.build_measurement(conn, {"scale_reading": "1", "bp_skip_reason": "x"}, current(conn))


# --- what must be said, checked, confirmed -------------------------------------------------

def test_a_missing_instrument_asks_why(conn):
    with pytest.raises(station.Invalid, match="scale_skip_reason: not_measured") as raised:
        station.build_measurement(conn, {**NO, "bp_skip_reason": "x"}, current(conn))
    assert raised.value.params == {"instrument": "scale"}


@pytest.mark.parametrize("weights, agreed", [([80.1], 80.1), ([80.1, 80.3], 80.2), ([80.1, 80.6, 80.4], 80.4)])
def test_repeated_weighings_agree_on_one_weight(weights, agreed):
    assert station.agreed_weight(weights) == pytest.approx(agreed)


def test_two_weights_more_than_0_2_kg_apart_ask_for_a_third():
    with pytest.raises(station.Invalid, match="scale: third_weight"):
        station.agreed_weight([80.1, 80.4])


def test_manual_diastolic_not_below_systolic_is_refused(conn):
    form = {**NO, "bp_manual": "1", "bp_systolic_mmhg": "120", "bp_diastolic_mmhg": "120", "bp_reason": "defect",
            "bp_arm": "right", "scale_skip_reason": "x"}
    with pytest.raises(station.Invalid, match="bp_diastolic_mmhg: diastolic_not_below"):
        station.build_measurement(conn, form, current(conn))


def test_values_outside_the_physio_teams_warning_range_ask_for_confirmation_and_are_stored(conn):
    settings = station.Settings(warn_ranges=station.warn_ranges("systolic_mmhg=90-160"))
    form = {**NO, "bp_manual": "1", "bp_systolic_mmhg": "171", "bp_diastolic_mmhg": "95", "bp_reason": "defect",
            "bp_arm": "left", "scale_skip_reason": "x"}
    with pytest.raises(station.Invalid, match="confirm: confirm"):
        station.build_measurement(conn, form, current(conn), settings)
    _values, sources, details = station.build_measurement(conn, {**form, "confirm": "1"}, current(conn), settings)
    assert details["confirmed"] == ["systolic_mmhg"] and sources["bp"]["arm"] == "left"


def test_a_device_check_older_than_the_interval_is_overdue():
    checks = [{"device_serial": "SN1", "kind": "reference_weight", "checked_on": "2026-01-10", "passed": 1}]
    settings = station.Settings(check_days=90)
    assert station.device_check(settings, "SN1", checks, today=date(2026, 4, 10))["overdue"] is False
    assert station.device_check(settings, "SN1", checks, today=date(2026, 4, 11))["overdue"] is True
    assert station.device_check(settings, "SN2", checks) is None


def test_what_is_left_joins_the_servers_knowledge_and_this_stations_saves(conn):
    store.save_measurement(conn, 1, "week6", {"weight_kg": 80.0}, {"scale": {"driver": "tanita"}}, 7,
                           {"skipped": {"bp": {"reason": "x", "contraindicated": ["arm_right", "arm_left"]}}})
    progress = intake.progress(conn, 1, {"intake": {"scale": "done", "bp": "skipped"}})
    assert progress == {"intake": {"scale": "done", "bp": "skipped"},
                        "week6": {"scale": "done", "bp": "contraindicated"}}
