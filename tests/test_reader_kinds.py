"""Every kind of badge reader end to end: tap -> greeting on the kiosk screen -> the admin.
PC/SC on Debian's pcscd with the vpcd virtual reader and an emulated card; a keyboard-wedge
reader on key events (and on a real uinput device where the kernel has one); nfcpy's udp: link
chosen through KIOSK_READER. One physical card is one person whichever reader saw it."""
import os
import threading
from pathlib import Path

import evdev
import pytest
from evdev import ecodes as e

from devices import Simulator
from devices.card import CardProcess
from devices.wedge import WedgeReader
from kiosk import store
from kiosk.reader import TapRecorder
from tests.station_helpers import PHYSIO_BADGE, PHYSIO_PIN, add_physio, answer_questions
from tests.support.live import Kiosk, screenshot, wait_for
from tests.support.readers import ReplayedDevice, typed

ANNA_UID = "A1B2C3D4"  # a MIFARE Classic: what PC/SC's Get Data and nfcpy report
ANNA_TYPED = "3569595041"  # the same card as a 13.56 MHz wedge reader types it (decimal, bytes reversed)


@pytest.fixture
def anna(live_admin):
    """A participant whose badge was enrolled from a PC/SC tap (hex UID)."""
    r = live_admin.api("POST", "/participants", json={"first_name": "Anna", "last_name": "Test",
                                                       "group_id": live_admin.group_id, "badge_uid": ANNA_UID})
    assert r.status_code == 201, r.text
    live_admin.people["Anna"] = {"id": r.json()["id"], "uid": ANNA_UID}
    return live_admin.people["Anna"]


def enter_pin(page):
    """The physio's PIN on the station's keypad, after their badge."""
    page.wait_for_selector("form.pin", timeout=10000)
    for digit in PHYSIO_PIN:
        page.click(f"[data-pin-key='{digit}']")
    page.click(".keypad .ok")


def kiosk_has_pin(kiosk, uid):
    wait_for(lambda: kiosk.db_rows("SELECT 1 FROM roster_badges WHERE uid = ? AND pin_hash IS NOT NULL", uid),
             message="the physio's PIN on the station")


def start(kiosk, badges):
    kiosk.start_sync()
    kiosk.start_reader()
    kiosk.start_screen()
    kiosk.wait_roster(badges=badges)
    kiosk.wait_reader_ok()
    return kiosk


@pytest.mark.browser
def test_pcsc_reader_a_tap_greets_by_name_and_shows_present_on_the_admin(live_admin, make_kiosk, pcscd, page_at):
    pcscd.start()
    kiosk = start(make_kiosk(live_admin, extra_env={"KIOSK_READER": "pcsc:ACR1252", **pcscd.env}), badges=2)
    assert kiosk.status()["reader"]["detail"] == f"lezer klaar: {pcscd.readers[0]}"
    page = page_at(800, 480)
    page.goto(kiosk.url)
    page.wait_for_selector("text=Houd je pas tegen de lezer")
    pcscd.card(live_admin.people["Anoeshka"]["uid"]).hold(1.5)  # an 8-byte FeliCa IDm, as an RC-S300 gives it
    page.wait_for_selector("text=Welkom, Anoeshka", timeout=10000)
    screenshot(page, "kiosk-welcome-pcsc")
    wait_for(lambda: live_admin.status_of("Anoeshka") == "present", message="present on the admin")


@pytest.mark.browser
def test_pcsc_reader_pcscd_stopping_is_shown_on_the_screen_and_taps_work_when_it_is_back(
        live_admin, make_kiosk, pcscd, page_at):
    pcscd.start()
    kiosk = start(make_kiosk(live_admin, extra_env={"KIOSK_READER": "pcsc", **pcscd.env}), badges=2)
    pcscd.stop()
    wait_for(lambda: kiosk.status()["reader"]["state"] == "error" and
             "pcscd draait niet" in kiosk.status()["reader"]["detail"], message="reader error")
    page = page_at(800, 480)
    page.goto(kiosk.url)
    page.wait_for_selector("[data-reader=error]:has-text('Paslezer werkt niet')")
    screenshot(page, "kiosk-pcscd-down")
    pcscd.start()
    kiosk.wait_reader_ok()
    pcscd.card(live_admin.people["Mohamed"]["uid"]).hold(1.5)
    page.wait_for_selector("text=Welkom, Mohamed", timeout=10000)
    wait_for(lambda: live_admin.status_of("Mohamed") == "present", message="present on the admin")


@pytest.mark.browser
def test_pcsc_reader_at_the_station_unlocks_identifies_and_the_measurement_reaches_the_admin(
        live_admin, procs, tmp_path, pcscd, page_at):
    add_physio(live_admin)
    scale = Simulator("tanita", link=str(tmp_path / "ttyScale"))
    scale.start()
    pcscd.start()
    try:
        kiosk = start(Kiosk(procs, tmp_path, live_admin, role="station",
                            extra_env={"KIOSK_READER": "pcsc", "KIOSK_SCALE": f"tanita {tmp_path / 'ttyScale'}",
                                       **pcscd.env}), badges=3)
        page = page_at(1280, 800)
        page.goto(kiosk.url)
        page.wait_for_selector("text=Houd je medewerkerspas tegen de lezer")
        kiosk_has_pin(kiosk, PHYSIO_BADGE)
        pcscd.card(PHYSIO_BADGE).hold(1.5)
        enter_pin(page)
        page.wait_for_selector("text=Wie meten we?", timeout=10000)
        pcscd.card(live_admin.people["Anoeshka"]["uid"]).hold(1.5)
        page.wait_for_selector("h1:has-text('Anoeshka')", timeout=10000)
        answer_questions(page)   # the contraindication questions come before any value counts
        scale.send_measurement(weight_kg=82.7, fat_pct=18.6)
        page.wait_for_selector("[data-field=weight_kg]:has-text('82.7')", timeout=10000)
        page.check("input[value=intake]")
        page.click("button.save")
        page.wait_for_selector("text=Opgeslagen")
        pid = live_admin.people["Anoeshka"]["id"]
        (m,) = wait_for(lambda: live_admin.api("GET", f"/participants/{pid}/measurements").json()["measurements"],
                        timeout=20, message="measurement on the admin")
        assert m["weight_kg"] == 82.7 and m["taken_by"] == "fysio@example.test"
    finally:
        scale.close()


@pytest.mark.browser
def test_one_card_through_a_wedge_reader_and_a_pcsc_reader_is_one_person(
        live_admin, anna, make_kiosk, pcscd, page_at):
    # The kiosk's reader process reads PC/SC; a wedge reader's loop runs here, on key events
    # (this kernel may offer no input device), and commits its taps to the same kiosk database.
    pcscd.start()
    kiosk = start(make_kiosk(live_admin, extra_env={"KIOSK_READER": "pcsc", **pcscd.env}), badges=3)
    page = page_at(800, 480)
    page.goto(kiosk.url)
    conn = store.open_db(kiosk.db)
    device, stop = ReplayedDevice(), threading.Event()
    wedge = WedgeReader("dec-reversed:/dev/input/by-id/usb-reader-event-kbd", TapRecorder(conn).on_tap,
                        open_device=lambda path: device)
    thread = threading.Thread(target=wedge.run, args=(stop,), daemon=True)
    thread.start()
    try:
        device.type(f"{ANNA_TYPED}\n")
        page.wait_for_selector("text=Welkom, Anna", timeout=10000)
        screenshot(page, "kiosk-welcome-wedge")
        wait_for(lambda: live_admin.status_of("Anna") == "present", message="present on the admin")
        pcscd.card(ANNA_UID).hold(1.5)
        page.wait_for_selector("[data-result=already]", timeout=10000)
    finally:
        stop.set()
        thread.join(5)
        conn.close()
    rows = kiosk.db_rows("SELECT badge_uid, participant_id, result FROM local_checkins ORDER BY id")
    assert rows == [{"badge_uid": ANNA_UID, "participant_id": anna["id"], "result": "on_time"},
                    {"badge_uid": ANNA_UID, "participant_id": anna["id"], "result": "already"}]
    assert [(c["participant_id"], c["result"]) for c in live_admin.checkins()] == [(anna["id"], "on_time")]


@pytest.mark.browser
def test_wedge_reader_at_the_station_unlocks_with_an_em4100_fob_and_identifies_a_hex_typed_badge(
        live_admin, procs, tmp_path, page_at):
    # The physio's EM4100 fob is enrolled by the number printed on it; the participant's
    # badge is typed in hex by a second wedge reader. Both readers' loops run here on key
    # events and commit through the station's tap rules; screen, sync and admin are real.
    add_physio(live_admin, "0012345678", "--format", "em4100")
    scale = Simulator("tanita", link=str(tmp_path / "ttyScale"))
    scale.start()
    kiosk = Kiosk(procs, tmp_path, live_admin, role="station",
                  extra_env={"KIOSK_READER": "nfc:tty:USB99:pn532", "KIOSK_SCALE": f"tanita {tmp_path / 'ttyScale'}"})
    kiosk.start_sync()
    kiosk.start_reader()  # owns the scale; its own badge reader is absent
    kiosk.start_screen()
    kiosk.wait_roster(badges=3)
    conn = store.open_db(kiosk.db)
    recorder = TapRecorder(conn, "station", 300)
    fob, card, stop = ReplayedDevice(), ReplayedDevice(), threading.Event()
    readers = [WedgeReader(spec, recorder.on_tap, open_device=lambda path, d=device: d)
               for spec, device in (("em4100:/dev/input/by-id/usb-125khz-event-kbd", fob),
                                    ("hex:/dev/input/by-id/usb-mifare-event-kbd", card))]
    threads = [threading.Thread(target=r.run, args=(stop,), daemon=True) for r in readers]
    for thread in threads:
        thread.start()
    try:
        page = page_at(1280, 800)
        page.goto(kiosk.url)
        page.wait_for_selector("text=Houd je medewerkerspas tegen de lezer")
        kiosk_has_pin(kiosk, "0000BC614E")
        fob.type("0012345678\n")
        enter_pin(page)
        page.wait_for_selector("text=Wie meten we?", timeout=10000)
        card.type(f"{live_admin.people['Mohamed']['uid']}\n")
        page.wait_for_selector("h1:has-text('Mohamed')", timeout=10000)
        answer_questions(page)   # the contraindication questions come before any value counts
        scale.send_measurement(weight_kg=91.4, fat_pct=22.0)
        page.wait_for_selector("[data-field=weight_kg]:has-text('91.4')", timeout=10000)
        page.check("input[value=intake]")
        page.click("button.save")
        page.wait_for_selector("text=Opgeslagen")
        pid = live_admin.people["Mohamed"]["id"]
        (m,) = wait_for(lambda: live_admin.api("GET", f"/participants/{pid}/measurements").json()["measurements"],
                        timeout=20, message="measurement on the admin")
        assert m["weight_kg"] == 91.4 and m["taken_by"] == "fysio@example.test"
    finally:
        stop.set()
        for thread in threads:
            thread.join(5)
        conn.close()
        scale.close()


def test_nfc_reader_chosen_by_kiosk_reader_wins_over_kiosk_nfc(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin, nfc="tty:USB99:pn532")
    kiosk.env["KIOSK_READER"] = f"nfc:udp:127.0.0.1:{kiosk.nfc_port}"
    start(kiosk, badges=2)
    with CardProcess(kiosk.env["KIOSK_READER"].partition(":")[2]) as card:
        card.tap(live_admin.people["Anoeshka"]["uid"], hold=2.5)  # the udp: link polls ~1 s per round
    wait_for(lambda: live_admin.status_of("Anoeshka") == "present", message="present on the admin")


def test_an_unknown_kiosk_reader_is_shown_as_an_error_and_the_process_stays_up(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin, extra_env={"KIOSK_READER": "serial:/dev/ttyUSB0"})
    kiosk.start_reader()
    kiosk.start_screen()
    wait_for(lambda: kiosk.status()["reader"]["state"] == "error", message="reader error")
    assert "KIOSK_READER klopt niet" in kiosk.status()["reader"]["detail"]
    assert "nfc:, pcsc:, wedge:" in kiosk.status()["reader"]["detail"]
    assert kiosk.procs.procs["reader-checkin"].poll() is None


def test_wedge_reader_process_on_a_real_input_device(live_admin, anna, make_kiosk):
    if not Path("/dev/uinput").exists():
        os.system("modprobe uinput >/dev/null 2>&1")
    if not Path("/dev/uinput").exists():
        pytest.skip("no /dev/uinput: this kernel offers no uinput (CONFIG_INPUT_UINPUT); the wedge reader "
                    "process was not run on a kernel input device here, only its loop on key events")
    keys = [getattr(e, f"KEY_{d}") for d in range(10)] + [e.KEY_ENTER]
    with evdev.UInput({e.EV_KEY: keys}, name="fitwerk test wedge reader") as device:
        start(make_kiosk(live_admin, extra_env={"KIOSK_READER": f"wedge:{device.device.path}"}), badges=3)
        for kind, code, value, _ in typed(f"{ANNA_TYPED}\n"):
            if kind == e.EV_KEY:
                device.write(kind, code, value)
                device.syn()
        wait_for(lambda: live_admin.status_of("Anna") == "present", message="present on the admin")
