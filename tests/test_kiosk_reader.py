"""The kiosk's reader process: a missing reader is shown, the process stays up and
tells systemd it is alive; a badge link that appears later just works."""
import signal
import socket

from devices.card import CardProcess
from tests.support.live import BIN, screenshot, wait_for


def test_a_missing_reader_is_shown_on_the_screen_and_the_process_keeps_retrying(live_admin, make_kiosk, page_at):
    kiosk = make_kiosk(live_admin, nfc="tty:USB99:pn532")
    kiosk.start_reader()
    kiosk.start_screen()
    status = wait_for(lambda: kiosk.status()["reader"]["state"] == "missing" and
                      "USB99" in kiosk.status()["reader"]["detail"] and kiosk.status(), message="reader missing")
    assert status["reader"]["detail"]
    page = page_at(800, 480)
    page.goto(kiosk.url)
    page.wait_for_selector("text=Paslezer niet gevonden")
    screenshot(page, "kiosk-reader-missing")
    assert kiosk.procs.procs["reader-checkin"].poll() is None  # still running, still retrying


def test_a_reader_started_before_any_badge_exists_greets_the_first_tap(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin)
    kiosk.start_sync()
    kiosk.start_reader()
    kiosk.wait_roster()
    kiosk.wait_reader_ok()  # without any badge around
    with CardProcess(kiosk.env["KIOSK_NFC"]) as card:
        card.tap(live_admin.people["Anoeshka"]["uid"])
    wait_for(lambda: kiosk.db_rows("SELECT * FROM local_checkins WHERE first_name = 'Anoeshka'"), message="tap")


def test_the_reader_tells_systemd_it_is_ready_and_alive(live_admin, make_kiosk, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(15)
    kiosk = make_kiosk(live_admin, nfc="tty:USB99:pn532")
    proc = kiosk.procs.start("reader-notify", [str(BIN / "flask"), "--app", "kiosk", "reader"],
                             {**kiosk.env, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "2000000"})
    messages = []
    while not ({"READY=1", "WATCHDOG=1"} <= {m.split("\n")[0] for m in messages}):
        messages.append(sock.recv(4096).decode())
    assert proc.poll() is None
    sock.close()


def test_a_reader_killed_right_after_a_tap_loses_nothing_and_a_new_one_goes_on(live_admin, make_kiosk):
    kiosk = make_kiosk(live_admin)
    kiosk.start_sync()
    kiosk.start_reader()
    kiosk.wait_roster()
    kiosk.wait_reader_ok()
    with CardProcess(kiosk.env["KIOSK_NFC"]) as card:
        card.tap(live_admin.people["Anoeshka"]["uid"])
        wait_for(lambda: kiosk.db_rows("SELECT 1 FROM local_checkins WHERE first_name = 'Anoeshka'"), message="tap")
        kiosk.procs.stop("reader-checkin", signal.SIGKILL)
        kiosk.start_reader()
        wait_for(lambda: live_admin.status_of("Anoeshka") == "present", message="the tap before the kill delivered")
        # Held long enough for the new reader process to start up (imports, opening the
        # udp: link) on a loaded machine: it has to see the badge put down.
        card.tap(live_admin.people["Mohamed"]["uid"], hold=6.0)
    wait_for(lambda: live_admin.status_of("Mohamed") == "present", message="the new reader's tap delivered")
    assert len(live_admin.checkins()) == 2
