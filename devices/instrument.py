"""The thin port: keeps one serial instrument open, feeds its driver, reports through callbacks.

    instrument = Instrument(parse_instrument_spec(os.environ["KIOSK_SCALE"]),
                            on_measurement=save, on_error=show_error, on_status=show_status)
    threading.Thread(target=instrument.run, args=(stop,), daemon=True).start()
    instrument.start_measurement()          # station screen's "measure" button

Device trouble (port missing, unplugged mid-read, permission, garbage) never raises out
of `run`: it becomes a status (`ok`, `missing`, `error`) and the port is reopened every
`retry_interval` seconds. Exceptions raised by the callbacks themselves do propagate.
A stop takes effect within `read_timeout` seconds.
"""
from __future__ import annotations

import errno
import logging
import os
import queue
import termios
import threading
import time
from typing import Callable

import serial

from devices.driver import FrameError
from devices.registry import driver_class
from devices.spec import InstrumentConfig, parse_instrument_spec

logger = logging.getLogger(__name__)

OK, MISSING, ERROR = "ok", "missing", "error"
_PORT_ERRORS = (serial.SerialException, OSError, termios.error)
_GONE = {errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO}


class _PortLost(Exception):
    """The open port failed; carries the status to report."""

    def __init__(self, state: str, detail: str):
        super().__init__(detail)
        self.state, self.detail = state, detail


def _ignore(*_args) -> None:
    return None


class Instrument:
    """One serial instrument: open, read, parse, report; reconnect by itself."""

    def __init__(self, config: InstrumentConfig, *,
                 on_measurement: Callable[[dict], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 on_status: Callable[[str, str], None] | None = None,
                 retry_interval: float = 3.0, read_timeout: float = 0.2,
                 driver_options: dict | None = None) -> None:
        self.config = config
        self.driver_class = driver_class(config.driver)
        self.on_measurement = on_measurement or _ignore
        self.on_error = on_error or _ignore
        self.on_status = on_status or _ignore
        self.retry_interval = retry_interval
        self.read_timeout = read_timeout
        self.driver_options = dict(driver_options or {})
        self.state: str | None = None
        self.detail = ""
        self._requests: queue.SimpleQueue[tuple[list[bytes], dict]] = queue.SimpleQueue()

    @classmethod
    def from_spec(cls, text: str | None, **kwargs) -> Instrument | None:
        """Build from a KIOSK_SCALE / KIOSK_BP style spec; None when the spec is empty."""
        config = parse_instrument_spec(text)
        return None if config is None else cls(config, **kwargs)

    def start_measurement(self, **personal) -> None:
        """Ask the device to measure (thread-safe); ValueError for bad personal data.

        Host-driven monitors get their start command; a Tanita in PC mode gets
        height_cm, sex, age (tare_kg, body_type optional); pushed devices need nothing.
        A request made while the port is not connected is dropped with an error.
        """
        commands = self.driver_class.start_commands(**personal)
        if commands:
            self._requests.put((commands, personal))

    def run(self, stop: threading.Event) -> None:
        """Serve the instrument until `stop` is set; reopens the port whenever it goes away."""
        while not stop.is_set():
            port = self._open()
            if port is None:
                self._drop_requests()
                stop.wait(self.retry_interval)
                continue
            try:
                self._serve(port, stop)
            except _PortLost as lost:
                self._set_status(lost.state, f"{lost.detail}; retrying every {self.retry_interval:g} s")
                self._drop_requests()
            finally:
                self._close(port)
            if not stop.is_set():
                stop.wait(min(self.retry_interval, 0.5))

    def _open(self) -> serial.SerialBase | None:
        url = self.config.url
        try:
            port = serial.serial_for_url(url, **self.config.serial_kwargs(), timeout=self.read_timeout,
                                         write_timeout=2.0, exclusive="://" not in url or None)
        except (ValueError, *_PORT_ERRORS) as exc:
            gone = getattr(exc, "errno", None) in _GONE or (
                isinstance(exc, serial.SerialException) and getattr(exc, "errno", None) is None)
            self._set_status(MISSING if gone else ERROR,
                             f"cannot open {url}: {exc}; retrying every {self.retry_interval:g} s")
            return None
        self._set_status(OK, f"connected: {self.config.describe()}")
        return port

    @staticmethod
    def _close(port: serial.SerialBase) -> None:
        try:
            port.close()
        except _PORT_ERRORS:
            pass

    def _serve(self, port: serial.SerialBase, stop: threading.Event) -> None:
        driver = self.driver_class(**self.driver_options)
        while not stop.is_set():
            now = time.monotonic()
            while not self._requests.empty():
                commands, personal = self._requests.get_nowait()
                driver.expect(personal)  # the frame this starts must echo what was sent
                driver.queue_commands(commands, now)
            for item in driver.tick(now):
                if isinstance(item, FrameError):
                    self._report(item)
                else:
                    self._write(port, item)
            for event in driver.feed(self._read(port)):
                self._report(event)

    def _read(self, port: serial.SerialBase) -> bytes:
        try:
            return port.read(port.in_waiting or 1)
        except _PORT_ERRORS as exc:
            raise self._lost(exc) from None

    def _write(self, port: serial.SerialBase, data: bytes) -> None:
        try:
            port.write(data)
        except _PORT_ERRORS as exc:
            raise self._lost(exc) from None

    def _lost(self, exc: BaseException) -> _PortLost:
        url = self.config.url
        gone = "://" in url or not os.path.exists(url)
        return _PortLost(MISSING if gone else ERROR, f"lost {url}: {exc}")

    def _report(self, event) -> None:
        if isinstance(event, FrameError):
            logger.warning("%s: %s", self.config.driver, event.reason)
            self.on_error(event.reason)
        else:
            logger.info("%s: measurement received", self.config.driver)
            self.on_measurement(event)

    def _drop_requests(self) -> None:
        dropped = False
        while not self._requests.empty():
            self._requests.get_nowait()
            dropped = True
        if dropped:
            self.on_error("instrument not connected: measurement not started")

    def _set_status(self, state: str, detail: str) -> None:
        if (state, detail) == (self.state, self.detail):
            return
        log = logger.info if state == OK else logger.warning
        log("%s: %s (%s)", self.config.driver, state, detail)
        self.state, self.detail = state, detail
        self.on_status(state, detail)
