"""The body-composition scale computes for the right person: the station sends the participant's
own sex and age (from the station's roster) with height, clothes tare and body type, checks the
scale's echo, and without sex and age keeps the weight only. Real processes, a Tanita on a pty."""
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
    """A station kiosk (role decided on the server) with a Tanita in PC mode on a pty."""
    add_physio(live_admin)
    add_fatma(live_admin)
    with running_station(procs, tmp_path, live_admin, ("scale",), badges=4,
                         env={"KIOSK_CLOTHES_TARE_KG": "0.8"}) as (kiosk, card, sims):
        yield live_admin, kiosk, card, sims["scale"]


def struck(page, field):
    """Whether the scale's value for `field` is shown struck through (not to be saved)."""
    return "line-through" in page.eval_on_selector(f".instrument[data-instrument=scale] dd[data-field={field}]",
                                                   "d => getComputedStyle(d).textDecorationLine")


def measurements(admin, name):
    return admin.api("GET", f"/participants/{admin.people[name]['id']}/measurements").json()["measurements"]


@pytest.mark.browser
def test_the_scale_computes_with_the_participants_own_sex_and_age_and_its_echo_is_checked(station, page_at):
    admin, kiosk, card, scale = station
    page = page_at(800, 480)
    page.goto(kiosk.url)
    unlock(page, card, PHYSIO_BADGE)
    card.tap(FATMA_BADGE)
    page.wait_for_selector("h1:has-text('Fatma')")
    age = wait_for(lambda: page.get_attribute(".person-facts", "data-age"), message="age shown")
    assert page.get_attribute(".person-facts", "data-sex") == "female" and "geboortejaar 1985" in page.inner_text(
        ".person-facts")
    assert page.input_value("input[name=tare_kg]") == "0.8"  # the station's default, changeable
    answer_questions(page)
    page.fill("input[name=height_cm]", "164")
    page.fill("input[name=tare_kg]", "1.0")
    page.select_option("select[name=body_type]", "athlete")

    # The scale's own settings win (a 40-year-old man): its result is somebody else's.
    scale.echo_instead(sex=1, age=40)
    page.click("button:has-text('Gegevens naar weegschaal')")
    page.wait_for_selector(".instrument[data-instrument=scale] .error:has-text('geen meting van deze persoon')",
                           timeout=15000)
    assert scale.received[-7:] == ["M1", "D001.0", "D12", "D22", "D3164.0", f"D4{int(age):02d}", "G"]
    page.click("button.save")
    page.wait_for_selector("text=weegschaal is niet gemeten")  # a refused frame never becomes a value

    scale.echo_instead()  # the scale takes what it is sent
    page.click("button:has-text('Gegevens naar weegschaal')")
    page.wait_for_selector("[data-field=fat_pct]", timeout=15000)
    assert "Rekende met: vrouw" in page.inner_text(".instrument[data-instrument=scale]")
    assert not struck(page, "fat_pct") and page.locator(".weight-only:visible").count() == 0
    screenshot(page, "station-scale-set-up-800x480")
    page.click("button.save")
    page.wait_for_selector("text=Opgeslagen")
    (m,) = wait_for(lambda: measurements(admin, "Fatma"), 20, message="measurement on the admin")
    assert m["sources"]["scale"]["inputs"] == {"sex": "female", "age": int(age), "height_cm": 164.0,
                                               "body_type": "athlete", "tare_kg": 1.0}
    assert m["fat_pct"] == scale.sent[-1]["fat_pct"] and m["height_cm"] == 164.0


@pytest.mark.browser
def test_without_sex_and_age_the_station_says_so_sends_nothing_and_keeps_the_weight_only(station, page_at):
    admin, kiosk, card, scale = station
    page = page_at(800, 480)
    page.goto(kiosk.url)
    unlock(page, card, PHYSIO_BADGE)
    card.tap(admin.people["Mohamed"]["uid"])
    page.wait_for_selector("h1:has-text('Mohamed')")
    assert "onbekend: de weegschaal meet alleen het gewicht" in page.inner_text(".person-facts")
    assert page.locator("button:has-text('Gegevens naar weegschaal')").count() == 0
    answer_questions(page)
    page.fill("input[name=height_cm]", "181")
    sent = scale.send_measurement(weight_kg=91.4)  # the scale measured with its own settings
    page.wait_for_selector("[data-field=weight_kg]:has-text('91.4')", timeout=15000)
    # Before saving, the screen says what will be dropped: the scale's own fat, water, … struck through.
    note = page.locator(".instrument[data-instrument=scale] .weight-only:visible")
    assert note.inner_text() == "Geslacht of leeftijd onbekend: alleen het gewicht wordt bewaard."
    assert struck(page, "fat_pct") and not struck(page, "weight_kg")
    screenshot(page, "station-weight-only-800x480")
    page.click("button.save")
    page.wait_for_selector("text=Opgeslagen")
    (m,) = wait_for(lambda: measurements(admin, "Mohamed"), 20, message="measurement on the admin")
    assert m["weight_kg"] == 91.4 and m["height_cm"] == 181.0 and m["bmi"] == round(91.4 / 1.81 ** 2, 1)
    assert not {"fat_pct", "muscle_mass_kg", "water_pct", "impedance_ohm"} & set(m)
    assert m["sources"]["scale"]["weight_only"] == "no_sex_or_age" and "inputs" not in m["sources"]["scale"]
    assert scale.received == [] and sent["fat_pct"]
