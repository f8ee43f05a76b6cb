"""An intake at the station as the physio does it, on real processes with a Tanita and an Omron
on pseudo-terminals and the screen in Chromium at 800x480: the contraindication questions
(an implant: weight only, nothing personal to the scale; one arm ruled out: the other arm),
a blood-pressure series after a seated rest with its mean of the last two, what is left per
moment, and the standing answer shown at the next visit."""
import time

import pytest

from tests.station_helpers import (
    FATMA_BADGE,
    PHYSIO_BADGE,
    add_fatma,
    add_physio,
    answer_questions,
    running_station,
    unlock,
)
from tests.support.live import screenshot, wait_for


@pytest.fixture
def station(live_admin, procs, tmp_path):
    add_physio(live_admin)
    add_fatma(live_admin)
    # Three readings a second apart after a one-second rest: a minute in the field.
    with running_station(procs, tmp_path, live_admin, badges=4, env={
            "KIOSK_BP_READINGS": "3", "KIOSK_BP_INTERVAL_S": "1", "KIOSK_BP_AVERAGE_LAST": "2",
            "KIOSK_BP_REST_S": "1"}) as (kiosk, card, sims):
        yield live_admin, kiosk, card, sims["scale"], sims["bp"]


@pytest.mark.browser
def test_an_intake_with_contraindications_and_a_blood_pressure_series(station, page_at):
    admin, kiosk, card, scale, bp = station
    page = page_at(800, 480)
    page.goto(kiosk.url)
    unlock(page, card, PHYSIO_BADGE)
    card.tap(FATMA_BADGE)
    page.wait_for_selector("h1:has-text('Fatma')")
    assert [c.get_attribute("data-state") for c in page.query_selector_all(".progress td")] == ["todo"] * 6

    # Not known whether there is an implant: counts as yes. Right arm ruled out: the left one.
    answer_questions(page, implant="unknown", arm_right="yes")
    page.fill("input[name=ci_bp_observed]", "shunt rechterarm")
    page.locator("fieldset.questions").scroll_into_view_if_needed()
    screenshot(page, "station-contraindications-800x480")
    page.fill("input[name=height_cm]", "164")
    page.click("button:has-text('Gegevens naar weegschaal')")
    page.wait_for_selector("text=Niets persoonlijks verstuurd")
    assert scale.received == []
    scale.send_measurement(weight_kg=70.2)
    page.wait_for_selector("[data-field=weight_kg]:has-text('70.2')", timeout=15000)
    # The implant answer shows at once that the scale's body composition will not be kept.
    assert page.locator(".instrument[data-instrument=scale] .weight-only:visible").all_inner_texts() == [
        "Weegschaal uitgesloten (contra-indicatie): alleen het gewicht wordt bewaard."]
    assert "line-through" in page.eval_on_selector("[data-instrument=scale] dd[data-field=fat_pct]",
                                                   "d => getComputedStyle(d).textDecorationLine")

    page.check("input[name=bp_arm][value=left]")
    page.select_option("select[name=bp_cuff]", "L")
    page.click("button.start-series")
    page.wait_for_selector(".series-state:has-text('Rust')")
    time.sleep(1.1)  # the seated rest
    for systolic, diastolic, pulse, movement in ((138, 88, 80, False), (131, 85, 75, True), (126, 82, 72, False)):
        bp.send_measurement(systolic_mmhg=systolic, diastolic_mmhg=diastolic, pulse_bpm=pulse, body_movement=movement)
        page.wait_for_selector(f".readings td:has-text('{systolic}/{diastolic}')", timeout=10000)
        if systolic == 131:
            page.locator(".series").scroll_into_view_if_needed()
            screenshot(page, "station-bp-series-in-progress-800x480")
        time.sleep(1.2)
    page.wait_for_selector(".series[data-complete=yes]")
    # Hand-computed: (131 + 126) / 2 = 128.5, (85 + 82) / 2 = 83.5, (75 + 72) / 2 = 73.5.
    assert page.get_attribute(".series-mean", "data-systolic") == "128.5"
    assert "beweging tijdens meting" in page.inner_text(".series")
    page.click("button.save")
    page.wait_for_selector("text=Opgeslagen")

    pid = admin.people["Fatma"]["id"]
    (m,) = wait_for(lambda: admin.api("GET", f"/participants/{pid}/measurements").json()["measurements"], 20,
                    message="the intake on the admin")
    assert (m["systolic_mmhg"], m["diastolic_mmhg"], m["pulse_bpm"]) == (128.5, 83.5, 73.5)
    assert m["weight_kg"] == 70.2 and "fat_pct" not in m
    assert m["sources"]["scale"]["weight_only"] == "contraindicated"
    assert m["sources"]["bp"]["series"] == {"readings": 3, "averaged": 2, "interval_s": 1.0, "rest_s": 1.0,
                                            "arm": "left", "cuff": "L"}
    assert [(r["systolic_mmhg"], r["arm"], r["cuff"], r["flags"]["body_movement"]) for r in m["bp_readings"]] == [
        (138, "left", "L", False), (131, "left", "L", True), (126, "left", "L", False)]
    assert m["screening"] == {"scale": {"answers": {"implant": "unknown", "pregnant": "no"}},
                              "bp": {"answers": {"arm_right": "yes", "arm_left": "no"},
                                     "observed": "shunt rechterarm"}}

    # The next visit: what is left, and the implant remembered (after the station's next roster pull).
    wait_for(lambda: "implant" in kiosk.db_rows("SELECT station_json FROM roster_people WHERE participant_id = ?",
                                                 pid)[0]["station_json"], 60, message="standing answer on the station")
    card.tap(FATMA_BADGE)
    page.wait_for_selector(".progress td[data-state=done]")
    page.reload()
    page.wait_for_selector("h1:has-text('Fatma')")
    states = {(c.get_attribute("data-instrument"), c.evaluate("e => e.parentElement.dataset.moment")):
              c.get_attribute("data-state") for c in page.query_selector_all(".progress td")}
    assert states[("scale", "intake")] == "done" and states[("bp", "intake")] == "done"
    assert states[("bp", "week6")] == "todo"
    assert "Eerder gemeld" in page.inner_text(".question:has(input[name=ci_implant])")
    assert page.is_checked("input[name=ci_implant][value=yes]")
    page.locator(".progress").scroll_into_view_if_needed()
    screenshot(page, "station-what-is-left-800x480")
