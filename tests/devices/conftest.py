"""Fixtures for the instrument tests: simulators on pseudo-terminals and instruments in threads."""
from __future__ import annotations

import threading
import time

import pytest

from devices.instrument import Instrument
from devices.simulate import Simulator
from devices.spec import parse_instrument_spec


class Recorder:
    """Collects an Instrument's callbacks and lets a test wait for them."""

    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []
        self._changed = threading.Condition()

    def _add(self, kind: str, value: object) -> None:
        with self._changed:
            self.events.append((kind, value))
            self._changed.notify_all()

    def on_measurement(self, measurement: dict) -> None:
        self._add("measurement", measurement)

    def on_error(self, reason: str) -> None:
        self._add("error", reason)

    def on_status(self, state: str, detail: str) -> None:
        self._add("status", state)

    def of(self, kind: str) -> list:
        with self._changed:
            return [value for event_kind, value in self.events if event_kind == kind]

    def wait_for(self, predicate, timeout: float = 5.0) -> bool:
        """Wait until predicate(recorder) holds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def wait_measurements(self, count: int = 1, timeout: float = 5.0) -> list[dict]:
        assert self.wait_for(lambda r: len(r.of("measurement")) >= count, timeout), self.events
        return self.of("measurement")

    def distinct_statuses(self) -> list[str]:
        states: list[str] = []
        for state in self.of("status"):
            if not states or states[-1] != state:
                states.append(state)
        return states


@pytest.fixture
def simulator():
    """Factory: simulator(driver, **options) -> started Simulator, closed after the test."""
    started: list[Simulator] = []

    def make(driver: str, **options) -> Simulator:
        sim = Simulator(driver, seed=options.pop("seed", 7), **options)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.close()


@pytest.fixture
def instrument():
    """Factory: instrument(spec, **options) -> (Instrument, Recorder), running in a thread until teardown."""
    running: list[tuple[threading.Event, threading.Thread]] = []

    def make(spec: str, **options) -> tuple[Instrument, Recorder]:
        recorder = Recorder()
        options.setdefault("retry_interval", 0.05)
        options.setdefault("read_timeout", 0.05)
        port = Instrument(parse_instrument_spec(spec), on_measurement=recorder.on_measurement,
                          on_error=recorder.on_error, on_status=recorder.on_status, **options)
        stop = threading.Event()
        thread = threading.Thread(target=port.run, args=(stop,), daemon=True)
        thread.start()
        running.append((stop, thread))
        return port, recorder

    yield make
    for stop, _thread in running:
        stop.set()
    for _stop, thread in running:
        thread.join(timeout=2)
        assert not thread.is_alive(), "Instrument.run did not stop"
