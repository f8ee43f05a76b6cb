"""The intake station end to end: staff badge unlocks, participant badge identifies,
a simulated Tanita and Omron on pseudo-terminals fill in values by themselves, the
physio saves, and the admin shows the measurement with its provenance."""
import pytest
from playwright.sync_api import expect

from common.hashing import hash_secret
from kiosk import station, store
from tests.station_helpers import PHYSIO_BADGE, PHYSIO_PIN, add_physio, answer_questions, running_station, skip, unlock
from tests.support.live import PASSWORD, screenshot, wait_for

COACH_BADGE = "0102030405060BBB"


@pytest.fixture
def setup(live_admin, procs, tmp_path):
    """Station kiosk with simulated instruments, a physio with a badge, a badge link."""
    add_physio(live_admin)
    live_admin.flask("create-user", "coach@example.test", "--role", "lifecoach", "--password-stdin",
                     input=PASSWORD + "\n")
    live_admin.flask("assign-staff-badge", "coach@example.test", COACH_BADGE)
    # A series of one reading without rest: this file is about provenance.
    with running_station(procs, tmp_path, live_admin, badges=4, env={
            "KIOSK_BP_READINGS": "1", "KIOSK_BP_AVERAGE_LAST": "1", "KIOSK_BP_REST_S": "0"}) as (kiosk, card, sims):
        yield live_admin, kiosk, card, sims["scale"], sims["bp"]


@pytest.mark.browser
def test_a_full_intake_measurement_arrives_at_the_admin_with_provenance(setup, page_at):
    admin, kiosk, card, scale, bp = setup
    page = page_at(1280, 800)
    page.goto(kiosk.url)
    page.wait_for_selector("text=Houd je medewerkerspas tegen de lezer")
    screenshot(page, "station-locked")
    card.tap(admin.people["Anoeshka"]["uid"])
    page.wait_for_selector("text=Het station is vergrendeld")
    card.tap(COACH_BADGE)  # a LifeCoach may not unlock the health-data station
    page.wait_for_selector(".notice-locked")
    unlock(page, card)
    card.tap(admin.people["Anoeshka"]["uid"])
    page.wait_for_selector("h1:has-text('Anoeshka')")
    answer_questions(page)
    page.click("button.start-series")
    page.wait_for_selector(".series")
    expected_scale = scale.send_measurement(weight_kg=82.7, fat_pct=18.6)
    expected_bp = bp.send_measurement(systolic_mmhg=128, diastolic_mmhg=82, pulse_bpm=71)
    page.wait_for_selector("[data-field=weight_kg]:has-text('82.7')", timeout=10000)
    page.wait_for_selector("[data-field=systolic_mmhg]:has-text('128')", timeout=10000)
    assert "SC-240" in page.inner_text(".instrument[data-instrument=scale]") or expected_scale.get("device_model")
    page.fill("input[name=height_cm]", "170")
    page.check("input[value=intake]")
    screenshot(page, "station-values")
    page.click("button.save")
    page.wait_for_selector("text=Opgeslagen")
    screenshot(page, "station-saved")
    pid = admin.people["Anoeshka"]["id"]
    rows = wait_for(lambda: admin.api("GET", f"/participants/{pid}/measurements").json()["measurements"],
                    timeout=20, message="measurement on the admin")
    (m,) = rows
    assert m["weight_kg"] == 82.7 and m["systolic_mmhg"] == 128 and m["moment"] == "intake"
    assert m["sources"]["scale"]["driver"] == "tanita"
    assert m["sources"]["scale"].get("device_serial") == expected_scale.get("device_serial")
    assert m["sources"]["bp"]["driver"] == "omron-hbp9030"
    assert m["taken_by"] == "fysio@example.test"
    assert expected_bp["pulse_bpm"] == m["pulse_bpm"]


@pytest.mark.browser
def test_a_forgotten_badge_is_found_by_first_name_and_a_failed_instrument_entered_by_hand(setup, page_at):
    admin, kiosk, card, scale, bp = setup
    page = page_at(1280, 800)
    page.goto(kiosk.url)
    unlock(page, card)
    page.fill("input[name=first_name]", "Moh")
    page.click("form.find button")
    page.click("ul.found button:has-text('Mohamed')")
    page.wait_for_selector("h1:has-text('Mohamed')")
    answer_questions(page)
    skip(page, "scale", "weegschaal in reparatie")
    page.click("details.manual:has-text('Bloeddrukmeter') summary")
    page.check("input[name=bp_manual]")
    page.fill("input[name=bp_systolic_mmhg]", "300")
    page.fill("input[name=bp_diastolic_mmhg]", "85")
    page.fill("input[name=bp_pulse_bpm]", "7o")
    page.click("button.save")
    # Each refusal shows next to the field it is about (and in the summary beside Save).
    assert_field_error(page, "bp_pulse_bpm", "Hartslag (/min): geen getal")
    page.fill("input[name=bp_pulse_bpm]", "")
    page.click("button.save")
    assert_field_error(page, "bp_reason", "handmatige invoer vraagt een reden")
    assert page.get_attribute("input[name=bp_pulse_bpm]", "aria-invalid") is None
    screenshot(page, "station-manual-field-error")
    page.fill("input[name=bp_reason]", "manchet defect")
    page.click("button.save")
    page.wait_for_selector("text=controleer deze waarden: Bovendruk (mmHg)")
    screenshot(page, "station-confirm-implausible")
    page.fill("input[name=bp_systolic_mmhg]", "145")
    page.check("input[name=confirm]")
    page.click("button.save")
    page.wait_for_selector("text=Opgeslagen")
    pid = admin.people["Mohamed"]["id"]
    (m,) = wait_for(lambda: admin.api("GET", f"/participants/{pid}/measurements").json()["measurements"],
                    timeout=20, message="manual measurement on the admin")
    assert m["systolic_mmhg"] == 145 and m["sources"]["bp"] == {"manual": True, "reason": "manchet defect", "arm": "right"}


def assert_field_error(page, name, text):
    """`text` is the message beside Save and right after the input `name`, which has the focus, is
    on screen, marked invalid and described by it; no other control is marked."""
    page.wait_for_selector(f".feedback .error:has-text('{text}')")
    field = page.locator(f"input[name={name}]")
    expect(field).to_be_focused()
    expect(field).to_be_in_viewport()
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(text)
    expect(page.locator(f"label:has(input[name={name}]) + .field-error")).to_have_text(text)
    assert page.locator("[aria-invalid=true]").count() == 1 and page.locator(".field-error").count() == 1


def test_an_unplugged_scale_shows_missing_and_comes_back_by_itself(setup):
    _admin, kiosk, _card, scale, _bp = setup
    scale.unplug()
    wait_for(lambda: kiosk.status()["instruments"]["scale"]["state"] == "missing", 20, message="scale missing")
    scale.replug()
    wait_for(lambda: kiosk.status()["instruments"]["scale"]["state"] == "ok", 20, message="scale back")


def test_a_corrupt_frame_is_reported_and_never_becomes_a_value(setup):
    _admin, kiosk, _card, scale, _bp = setup
    scale.send_corrupt()
    rows = wait_for(lambda: kiosk.db_rows("SELECT * FROM instrument_readings WHERE instrument = 'scale'"),
                    message="the bad frame reported")
    assert rows[-1]["values_json"] is None and rows[-1]["error"]


def test_the_station_locks_itself_after_inactivity(tmp_path):
    conn = store.open_db(tmp_path / "kiosk.sqlite")
    conn.execute("INSERT INTO roster_badges(uid, staff_id, staff_role, pin_hash) VALUES (?, 7, 'physio', ?)",
                 (PHYSIO_BADGE, hash_secret(PHYSIO_PIN)))
    assert station.tap(conn, PHYSIO_BADGE, lock_s=300)["result"] == "pin"
    station.enter_pin(conn, PHYSIO_PIN, lock_s=300)
    assert station.state(conn, lock_s=300)["locked"] is False
    assert station.state(conn, lock_s=0)["locked"] is True


def test_a_participant_badge_at_a_locked_station_identifies_nobody(tmp_path):
    conn = store.open_db(tmp_path / "kiosk.sqlite")
    conn.execute("INSERT INTO roster_people(participant_id, first_name, group_id) VALUES (1, 'Anoeshka', 1)")
    conn.execute("INSERT INTO roster_badges(uid, participant_id) VALUES ('01010501B00A0001', 1)")
    assert station.tap(conn, "01010501B00A0001", lock_s=300)["result"] == "locked"
    assert station.state(conn, lock_s=300)["participant_id"] is None
    assert not conn.execute("SELECT * FROM outbox").fetchall()  # the station records no check-ins
