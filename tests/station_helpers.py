"""Helpers for the station's tests: a physio with a badge and PIN, a participant, a station
kiosk on real processes with simulated instruments, and the screen's questions and keypad."""
from contextlib import contextmanager

from common.intake import QUESTIONS
from devices import Simulator
from devices.card import CardProcess
from tests.support.live import PASSWORD, Kiosk, wait_for

PHYSIO_BADGE = "0102030405060AAA"
PHYSIO_PIN = "2468"
FATMA_BADGE = "01010501B00AF001"
# The instruments a station has by default: the kiosk's setting and the simulator's driver.
INSTRUMENTS = {"scale": ("KIOSK_SCALE", "tanita"), "bp": ("KIOSK_BP", "omron-hbp9030")}


def add_physio(admin, badge=PHYSIO_BADGE, *badge_args, pin=PHYSIO_PIN, email="fysio@example.test"):
    """A physio's account with a staff badge (`badge_args` e.g. "--format", "em4100") and a station PIN."""
    admin.flask("create-user", email, "--role", "physio", "--password-stdin", input=PASSWORD + "\n")
    admin.flask("assign-staff-badge", email, badge, *badge_args)
    admin.set_pin(email, pin)


def add_fatma(admin):
    """Fatma, in the admin's group, with the sex and birth date the scale computes with."""
    r = admin.api("POST", "/participants", json={"first_name": "Fatma", "last_name": "Yilmaz",
                                                 "group_id": admin.group_id, "badge_uid": FATMA_BADGE,
                                                 "sex": "female", "birth_date": "1985-03-14"})
    assert r.status_code == 201, r.text
    admin.people["Fatma"] = {"id": r.json()["id"], "uid": FATMA_BADGE}


@contextmanager
def running_station(procs, tmp, admin, instruments=("scale", "bp"), badges=3, env=None, pin_badge=PHYSIO_BADGE):
    """A station kiosk (sync, reader, screen) with simulated instruments on pseudo-terminals,
    ready: roster pulled, the physio's PIN there, each instrument ok. Yields (kiosk, card, sims)."""
    sims = {name: Simulator(INSTRUMENTS[name][1], link=str(tmp / f"tty-{name}")) for name in instruments}
    try:
        for sim in sims.values():
            sim.start()
        settings = {INSTRUMENTS[name][0]: f"{INSTRUMENTS[name][1]} {tmp / f'tty-{name}'}" for name in instruments}
        kiosk = Kiosk(procs, tmp, admin, role="station", extra_env={**settings, **(env or {})})
        kiosk.start_sync()
        kiosk.start_reader()
        kiosk.start_screen()
        kiosk.wait_roster(badges=badges)
        kiosk.wait_reader_ok()
        wait_for(lambda: kiosk.db_rows("SELECT 1 FROM roster_badges WHERE uid = ? AND pin_hash IS NOT NULL",
                                       pin_badge), 20, message="the physio's PIN on the station")
        wait_for(lambda: {k: v["state"] for k, v in kiosk.status()["instruments"].items()}
                 == dict.fromkeys(instruments, "ok"), 20, message="instruments ok")
        card = CardProcess(kiosk.env["KIOSK_NFC"])
        try:
            yield kiosk, card, sims
        finally:
            card.close()
    finally:
        for sim in sims.values():
            sim.close()


def answer_questions(page, answer="no", **answers):
    """Answer every contraindication question on the station page (`answers` by code override)."""
    for codes in QUESTIONS.values():
        for code in codes:
            locator = page.locator(f"input[name=ci_{code}][value={answers.get(code, answer)}]")
            if locator.count():
                locator.check()


def skip(page, instrument, reason):
    """Say why an instrument is not measured."""
    page.eval_on_selector(f"details.skip:has(input[name={instrument}_skip_reason])", "d => d.open = true")
    page.fill(f"input[name={instrument}_skip_reason]", reason)


def unlock(page, card, badge=PHYSIO_BADGE, pin=PHYSIO_PIN):
    """The physio's badge, then their PIN on the station's keypad."""
    card.tap(badge)
    page.wait_for_selector("form.pin")
    for digit in pin:
        page.click(f"[data-pin-key='{digit}']")
    page.click(".keypad .ok")
    page.wait_for_selector("text=Wie meten we?")
