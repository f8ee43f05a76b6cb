"""The reader process (`flask --app kiosk reader`): owns the badge reader (and, on a
station, the serial instruments) and commits every tap before anything is shown."""
import logging
import signal
import threading

from . import store

log = logging.getLogger("fitwerk.kiosk.reader")


class TapRecorder:
    """Turns reader events into committed taps and recorded reader health."""

    def __init__(self, conn):
        self.conn = conn
        self.lock = threading.Lock()

    def on_tap(self, uid):
        """Commit one tap; the screen picks it up from the database."""
        with self.lock:
            tap = store.capture_tap(self.conn, uid)
        log.info("tap …%s: %s", uid[-4:], tap["result"])
        return tap

    def on_status(self, state, detail=""):
        """Record the reader's state for the screen and /status.json."""
        with self.lock:
            store.set_status(self.conn, "reader", state, detail)
        log.info("reader %s %s", state, detail)


def main(app):
    """Entry point of `flask --app kiosk reader`."""
    from devices.nfc import BadgeReader

    config = app.config
    conn = store.open_db(config["KIOSK_DB"])
    recorder = TapRecorder(conn)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    recorder.on_status("missing", "starting")
    reader = BadgeReader(config["KIOSK_NFC"], recorder.on_tap, recorder.on_status)
    log.info("reader process started on %s", config["KIOSK_NFC"])
    try:
        reader.run(stop)
    finally:
        recorder.on_status("missing", "reader process stopped")
        conn.close()
