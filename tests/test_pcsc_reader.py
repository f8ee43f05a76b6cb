"""The PC/SC reader loop on the real stack: pyscard against Debian's pcscd with the vpcd virtual
reader driver, and an emulated card (devices.vcard) that answers Get Data with its UID."""
import subprocess
import sys
import time
from pathlib import Path

import pytest

from devices.pcsc import NO_PCSCD, PcscReader
from devices.reader import open_reader
from tests.support.live import wait_for
from tests.support.readers import Callbacks, running

ROOT = Path(__file__).resolve().parent.parent
ANNA = "A1B2C3D4"  # a MIFARE Classic's 4-byte UID
BRAM = "04497622D93881"  # a 7-byte NXP UID
FIRST, SECOND = "ACS ACR1252 Dual Reader PICC 00 00", "ACS ACR1252 Dual Reader PICC 00 01"


def reader_for(kiosk, spec="", **options):
    return PcscReader(spec, kiosk.on_tap, kiosk.on_status, on_round=kiosk.on_round, retry_seconds=0.3, **options)


@pytest.fixture
def one_reader(pcscd):
    pcscd.start()
    return pcscd


def test_a_card_on_the_reader_is_reported_once_with_its_uid(one_reader):
    kiosk = Callbacks()
    with running(open_reader("pcsc", kiosk.on_tap, kiosk.on_status, on_round=kiosk.on_round)):
        assert kiosk.wait_for_state("ok") == f"lezer klaar: {FIRST}"
        one_reader.card(ANNA).hold(3.0)  # lies there for several of pcscd's polls
        wait_for(lambda: kiosk.taps, message="a tap")
        time.sleep(0.5)
    assert kiosk.taps == [ANNA]
    assert [s for s, _ in kiosk.statuses] == ["ok"]


def test_each_presentation_counts_and_a_wobble_does_not(one_reader):
    kiosk = Callbacks()
    with running(reader_for(kiosk)):
        kiosk.wait_for_state("ok")
        one_reader.card(ANNA).hold(1.0)
        wait_for(lambda: len(kiosk.taps) == 1, message="first tap")
        time.sleep(0.3)
        one_reader.card(ANNA).hold(1.0)  # put back at once: the same presentation
        time.sleep(2.0)
        assert kiosk.taps == [ANNA]
        # Held 2 s each: on a loaded machine pcscd and the reader's polling can miss a shorter one.
        one_reader.card(BRAM).hold(2.0)
        one_reader.card(ANNA).hold(2.0)  # ANNA away for > 1.5 s: a new tap
        wait_for(lambda: len(kiosk.taps) == 3, message="two more taps")
    assert kiosk.taps == [ANNA, BRAM, ANNA]


def test_with_two_readers_the_one_named_is_used(pcscd):
    pcscd.start()
    kiosk = Callbacks()
    with running(reader_for(kiosk, "picc 00 01")):
        assert kiosk.wait_for_state("ok") == f"lezer klaar: {SECOND}"
        pcscd.card(ANNA, slot=0).hold(1.5)  # on the other reader: not ours
        pcscd.card(BRAM, slot=1).hold(1.5)
        wait_for(lambda: kiosk.taps, message="a tap on the named reader")
        time.sleep(0.5)
    assert kiosk.taps == [BRAM]


def test_a_name_no_reader_has_is_missing_and_says_which_readers_there_are(one_reader):
    kiosk = Callbacks()
    with running(reader_for(kiosk, "uTrust")):
        detail = kiosk.wait_for_state("missing")
    assert detail == f"geen PC/SC-lezer met 'uTrust' in de naam (aangesloten: {FIRST}, {SECOND})"


def test_pcscd_not_running_is_an_error_until_it_starts(pcscd):
    kiosk = Callbacks()
    with running(reader_for(kiosk)):
        assert kiosk.wait_for_state("error") == NO_PCSCD
        rounds = kiosk.rounds
        time.sleep(1.0)
        assert kiosk.rounds > rounds, "the watchdog is pinged while pcscd is away"
        pcscd.start()
        kiosk.wait_for_state("ok")
        pcscd.card(ANNA).hold(1.5)
        wait_for(lambda: kiosk.taps == [ANNA], message="a tap once pcscd runs")


def test_pcscd_stopping_while_waiting_is_reported_and_the_reader_comes_back(one_reader):
    kiosk = Callbacks()
    with running(reader_for(kiosk)):
        kiosk.wait_for_state("ok")
        one_reader.stop()
        assert kiosk.wait_for_state("error") == NO_PCSCD
        one_reader.start()
        kiosk.wait_for_state("ok")
        one_reader.card(ANNA).hold(1.5)
        wait_for(lambda: kiosk.taps == [ANNA], message="a tap after pcscd came back")
    assert [s for s, _ in kiosk.statuses] == ["ok", "error", "ok"]


def test_a_reader_unplugged_is_missing_and_works_again_when_plugged_back(pcscd):
    # vpcd readers cannot be hot-unplugged: pcscd restarts without, then with, the reader's
    # configuration, and lists the readers as it does when a USB reader is pulled and put back.
    pcscd.start()
    kiosk = Callbacks()
    with running(reader_for(kiosk, "ACR1252")):
        kiosk.wait_for_state("ok")
        pcscd.stop()
        pcscd.unplug()
        pcscd.start()
        assert kiosk.wait_for_state("missing") == "geen PC/SC-lezer aangesloten"
        pcscd.stop()
        pcscd.plug()
        pcscd.start()
        assert kiosk.wait_for_state("ok") == f"lezer klaar: {FIRST}"
        pcscd.card(BRAM).hold(1.5)
        wait_for(lambda: kiosk.taps == [BRAM], message="a tap on the replugged reader")


def test_no_reader_at_all_is_missing(pcscd):
    pcscd.unplug()
    pcscd.start()
    kiosk = Callbacks()
    with running(reader_for(kiosk)):
        assert kiosk.wait_for_state("missing") == "geen PC/SC-lezer aangesloten"


def test_a_card_that_refuses_get_data_is_ignored_and_the_reader_goes_on(one_reader):
    kiosk = Callbacks()
    with running(reader_for(kiosk)):
        kiosk.wait_for_state("ok")
        refusing = one_reader.card(ANNA)
        refusing.uid = b""  # answers Get Data with 90 00 alone: no UID
        refusing.hold(1.5)
        assert refusing.apdus >= 1
        one_reader.card(BRAM).hold(1.5)
        wait_for(lambda: kiosk.taps, message="the next card's tap")
    assert kiosk.taps == [BRAM]


def test_the_readers_command_lists_pcsc_readers_with_their_kiosk_reader_value(pcscd):
    command = [sys.executable, "-m", "devices", "readers"]
    down = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert down.returncode == 0 and f"pcsc {' ' * 40}{NO_PCSCD}" in down.stdout
    pcscd.start()
    up = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT).stdout.splitlines()
    # Two readers of one make keep their index, so each value names one reader.
    assert [line.split("  ")[0] for line in up if line.startswith("pcsc:")] == [f"pcsc:{FIRST}", f"pcsc:{SECOND}"]
    assert all(f"PC/SC-lezer {name}" in "\n".join(up) for name in (FIRST, SECOND))
