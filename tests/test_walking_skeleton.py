"""End to end on real parts: an emulated badge on nfcpy's UDP link, the kiosk's reader,
screen and sync processes, the admin under gunicorn, and headless Chromium."""
import pytest

from devices.card import CardProcess
from tests.support.live import screenshot, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def kiosk(live_admin, make_kiosk):
    """A check-in kiosk with all three processes, roster pulled, reader up."""
    k = make_kiosk(live_admin)
    k.start_sync()
    k.start_reader()
    k.start_screen()
    k.wait_roster()
    k.wait_reader_ok()
    return k


@pytest.fixture
def card(kiosk):
    """The badge side of the UDP link, in a second process."""
    with CardProcess(kiosk.env["KIOSK_NFC"]) as c:
        yield c


def test_a_badge_tap_greets_by_name_and_shows_present_on_the_admin(live_admin, kiosk, card, page_at):
    page = page_at(800, 480)
    page.goto(kiosk.url)
    page.wait_for_selector("text=Houd je pas tegen de lezer")
    screenshot(page, "kiosk-idle-800x480")
    card.tap(live_admin.people["Anoeshka"]["uid"])
    page.wait_for_selector("text=Welkom, Anoeshka", timeout=10000)
    assert page.locator("[data-result]").first.get_attribute("data-result") == "on_time"
    screenshot(page, "kiosk-welcome-800x480")
    wait_for(lambda: live_admin.status_of("Anoeshka") == "present", message="present on the admin")
    assert len(live_admin.checkins()) == 1
    assert kiosk.status()["last_checkin"]["result"] == "on_time"


def test_a_tap_while_the_admin_is_down_is_kept_and_delivered_once_when_it_returns(live_admin, kiosk, card, page_at):
    page = page_at(800, 480)
    page.goto(kiosk.url)
    live_admin.stop()
    card.tap(live_admin.people["Mohamed"]["uid"])
    page.wait_for_selector("text=Welkom, Mohamed", timeout=10000)
    wait_for(lambda: kiosk.status()["sync"]["pending"] == 1 and not kiosk.status()["sync"]["server_reachable"],
             timeout=20, message="kiosk to show the tap as pending")
    page.wait_for_selector("text=1 nog te versturen", timeout=10000)
    screenshot(page, "kiosk-offline-pending")
    live_admin.start()
    wait_for(lambda: live_admin.status_of("Mohamed") == "present", timeout=30, message="delivered")
    wait_for(lambda: kiosk.status()["sync"]["pending"] == 0, message="acked")
    assert len(live_admin.checkins()) == 1
