"""The intake station meets WCAG 2.1 AA in each state and fits its screens: at 800x480 (the
official 7-inch Raspberry Pi display) and 1280x800, with every value of a Tanita and an Omron
shown, Save and Lock stay on screen. Real kiosk processes, simulated instruments on
pseudo-terminals, an emulated badge, headless Chromium."""
import pytest

from tests.a11y import assert_accessible
from tests.station_helpers import PHYSIO_BADGE, PHYSIO_PIN, add_physio, answer_questions, running_station
from tests.support.live import LiveAdmin, Processes, screenshot

pytestmark = pytest.mark.browser
SIZES = ((800, 480), (1280, 800))


@pytest.fixture(scope="module")
def station(tmp_path_factory):
    """An admin, a station kiosk with a simulated Tanita and Omron, a physio's badge."""
    tmp = tmp_path_factory.mktemp("a11y-station")
    procs = Processes(tmp)
    try:  # a set-up that fails half-way still stops what it started
        admin = LiveAdmin(procs, tmp).setup_programme(people=("Anoeshka", "Mohamed"))
        add_physio(admin)
        with running_station(procs, tmp, admin) as (kiosk, card, sims):
            yield admin, kiosk, card, sims["scale"], sims["bp"]
    finally:
        procs.stop_all()


def on_screen(page, selector):
    """The element's whole box lies within the viewport, without scrolling."""
    box = page.locator(selector).bounding_box()
    view = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= view["height"] \
        and box["x"] >= 0 and box["x"] + box["width"] <= view["width"]


def check(page, state, size):
    """axe finds nothing; Save (when a participant is chosen) and Lock are on screen; a screenshot."""
    name = f"station-{state}-{size[0]}x{size[1]}"
    screenshot(page, f"a11y-{name}")
    assert_accessible(page, name)
    if page.get_attribute(".station", "data-locked") == "no":
        assert on_screen(page, "button.lock"), f"{name}: Vergrendel is off screen"
        if page.get_attribute(".station", "data-participant"):
            assert on_screen(page, "button.save"), f"{name}: Opslaan is off screen"


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_every_station_state_is_accessible_and_keeps_save_and_lock_on_screen(station, page_at, size):
    admin, kiosk, card, scale, bp = station
    page = page_at(*size)
    page.goto(kiosk.url)
    page.wait_for_selector("text=Houd je medewerkerspas tegen de lezer")
    check(page, "locked", size)
    card.tap(admin.people["Anoeshka"]["uid"])
    page.wait_for_selector(".notice-locked")
    check(page, "locked-notice", size)
    card.tap(PHYSIO_BADGE)
    page.wait_for_selector("form.pin")
    check(page, "pin", size)
    for digit in PHYSIO_PIN:
        page.click(f"[data-pin-key='{digit}']")
    page.click(".keypad .ok")
    page.wait_for_selector("text=Wie meten we?")
    check(page, "unlocked", size)
    page.fill("input[name=first_name]", "Moh")
    page.click("form.find button")
    page.wait_for_selector("ul.found button")
    check(page, "found", size)
    page.click("ul.found button:has-text('Mohamed')")
    page.wait_for_selector("h1:has-text('Mohamed')")
    check(page, "questions", size)   # the contraindication questions come first
    answer_questions(page)
    check(page, "measuring", size)

    scale.send_measurement()  # every field a Tanita in PC mode reports
    bp.send_measurement()
    for field in ("weight_kg", "fat_pct", "muscle_mass_kg", "impedance_ohm", "systolic_mmhg", "pulse_bpm"):
        page.wait_for_selector(f"[data-field={field}]", timeout=10000)
    shown = page.locator("[data-field]").count()
    assert shown >= 12, f"only {shown} values shown"
    check(page, "all-values", size)
    screenshot(page, f"station-all-values-{size[0]}x{size[1]}")

    page.click("details.manual:has-text('Bloeddrukmeter') summary")
    page.check("input[name=bp_manual]")
    page.fill("input[name=bp_systolic_mmhg]", "300")
    page.fill("input[name=bp_diastolic_mmhg]", "85")
    page.click("button.save")
    page.wait_for_selector("text=handmatige invoer vraagt een reden")
    check(page, "manual-error", size)
    assert on_screen(page, ".error[role=alert]"), "the answer to Save is off screen"
    if not page.is_visible("input[name=bp_reason]"):
        page.click("details.manual:has-text('Bloeddrukmeter') summary")
    page.fill("input[name=bp_reason]", "manchet defect")
    page.click("button.save")
    page.wait_for_selector("input[name=confirm]")
    check(page, "confirm", size)
    assert on_screen(page, "input[name=confirm]"), "the confirmation is off screen"
    page.fill("input[name=bp_systolic_mmhg]", "145")
    page.check("input[name=confirm]")
    page.click("button.save")
    page.wait_for_selector("text=Opgeslagen")
    check(page, "saved", size)
    page.click("button.lock")
    page.wait_for_selector("text=Houd je medewerkerspas tegen de lezer")
