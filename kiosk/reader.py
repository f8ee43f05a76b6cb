"""The reader process (`flask --app kiosk reader`): owns the badge reader and, on a
station, the serial instruments. Every tap is committed before anything is shown."""
import logging
import signal
import threading

from . import station, store
from .sdnotify import Watchdog

log = logging.getLogger("fitwerk.kiosk.reader")
COMMAND_POLL_S = 0.2


class TapRecorder:
    """Turns reader events into committed taps and recorded reader health."""

    def __init__(self, conn, role="checkin", lock_s=300):
        self.conn, self.role, self.lock_s = conn, role, lock_s
        self.lock = threading.Lock()

    def on_tap(self, uid):
        """Commit one tap; the screen picks it up from the database."""
        with self.lock:
            if self.role == "station":
                tap = station.tap(self.conn, uid, self.lock_s)
            else:
                tap = store.capture_tap(self.conn, uid)
        log.info("tap …%s: %s", uid[-4:], tap["result"])
        return tap

    def on_status(self, state, detail=""):
        """Record the reader's state for the screen and /status.json."""
        with self.lock:
            store.set_status(self.conn, "reader", state, detail)
        log.info("reader %s %s", state, detail)


class InstrumentFeed:
    """One serial instrument of a station: readings and health into the database."""

    def __init__(self, conn, name, spec, lock):
        from devices import Instrument
        self.conn, self.name, self.lock = conn, name, lock
        self.instrument = Instrument.from_spec(spec, on_measurement=self.on_measurement,
                                               on_error=self.on_error, on_status=self.on_status)

    def _safely(self, action, *args):
        # The instrument's loop must outlive any trouble in our bookkeeping.
        try:
            with self.lock:
                action(*args)
        except Exception:  # noqa: BLE001 - logged, the loop goes on
            log.exception("%s: could not record an instrument event", self.name)

    def on_measurement(self, values):
        """A valid measurement: keep it for the station screen."""
        self._safely(station.record_reading, self.conn, self.name, values)
        log.info("%s: measurement received", self.name)

    def on_error(self, reason):
        """A refused frame or a device error: shown, never stored as a value."""
        self._safely(station.record_reading, self.conn, self.name, None, reason)
        log.warning("%s: %s", self.name, reason)

    def on_status(self, state, detail):
        """Port health for /status.json."""
        self._safely(store.set_status, self.conn, self.name, state, detail)
        log.info("%s %s %s", self.name, state, detail)


def carry_out_commands(conn, feeds, lock, stop):
    """Send the screen's requests (start a measurement, height for PC mode) to the devices."""
    while not stop.wait(COMMAND_POLL_S):
        try:
            with lock:
                commands = station.take_commands(conn)
            for name, payload in commands:
                feed = feeds.get(name)
                if feed is None:
                    continue
                try:
                    feed.instrument.start_measurement(**payload)
                except ValueError as exc:
                    feed.on_error(str(exc))
        except Exception:  # noqa: BLE001 - a bad command must not end the loop
            log.exception("could not carry out instrument commands")


def main(app):
    """Entry point of `flask --app kiosk reader`."""
    from devices.reader import kiosk_reader_value, open_reader

    config = app.config
    conn = store.open_db(config["KIOSK_DB"])
    recorder = TapRecorder(conn, config["KIOSK_ROLE"], int(config["KIOSK_STATION_LOCK_S"]))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    recorder.on_status("missing", "starting")
    threads = []
    if config["KIOSK_ROLE"] == "station":
        feeds = {}
        for name, key in (("scale", "KIOSK_SCALE"), ("bp", "KIOSK_BP")):
            if not config.get(key):
                continue
            try:
                feeds[name] = InstrumentFeed(conn, name, config[key], recorder.lock)
            except ValueError as exc:  # a bad KIOSK_SCALE/KIOSK_BP: say so, keep the reader going
                log.error("%s: %s", key, exc)
                store.set_status(conn, name, "error", f"{key}: {exc}")
                continue
            threads.append(threading.Thread(target=feeds[name].instrument.run, args=(stop,),
                                            name=name, daemon=True))
        threads.append(threading.Thread(target=carry_out_commands, args=(conn, feeds, recorder.lock, stop),
                                        name="commands", daemon=True))
    for thread in threads:
        thread.start()
    watchdog = Watchdog()
    value = kiosk_reader_value(config)
    try:
        reader = open_reader(value, recorder.on_tap, recorder.on_status, on_round=watchdog.ping)
    except (ValueError, ImportError) as exc:
        # Say it on the screen and stay up: a restart loop would not fix the configuration.
        log.error("KIOSK_READER: %s", exc)
        recorder.on_status("error", f"KIOSK_READER klopt niet: {exc}")
        reader = None
    log.info("reader process started on %s", value)
    watchdog.ready(f"reading badges on {value}")
    try:
        if reader is None:
            while not stop.wait(1):
                watchdog.ping()
        else:
            reader.run(stop)
    finally:
        watchdog.stopping()
        stop.set()
        for thread in threads:
            thread.join(5)
        recorder.on_status("missing", "reader process stopped")
        conn.close()
