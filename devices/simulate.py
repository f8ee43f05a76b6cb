"""Instrument simulators on a pseudo-terminal, for tests, the demo and `python -m devices simulate`.

    sim = Simulator("tanita", link="/tmp/ttyTANITA")
    path = sim.start()                   # /dev/pts/N; the link points to it
    expected = sim.send_measurement(weight_kg=82.7)
    sim.unplug(); sim.replug()           # like pulling and re-inserting the USB cable
    sim.close()

Each simulated device sends realistic frames (varied plausible values, correct checksums)
through the same frame builders the tests use; `send_measurement` returns the measurement
a correct driver must report. The A&D TM-2657 simulator answers the host's commands.
"""
from __future__ import annotations

import abc
import logging
import os
import random
import select
import threading
import time
import tty
from datetime import datetime, timedelta

from devices import and_scale, and_tm2657, omron, personal, tanita, tanita_bc418
from devices.registry import driver_class

logger = logging.getLogger(__name__)

LINE_NOISE = bytes([0x00, 0x7F, 0xFF, 0xFE])


def now_minute() -> str:
    """The current local time to the minute, as devices stamp their results."""
    return datetime.now().replace(second=0, microsecond=0).isoformat()


def body_composition(rng: random.Random, overrides: dict) -> tuple[dict, dict]:
    """Random but consistent body-composition values, plus the person (sex, age) behind them."""
    person = {"sex": overrides.pop("sex", rng.choice((1, 2))), "age": overrides.pop("age", rng.randint(18, 64)),
              "body_type": overrides.pop("body_type", 0), "tare_kg": overrides.pop("tare_kg", 0.0)}
    height = overrides.pop("height_cm", float(rng.randint(150, 200)))
    weight = overrides.pop("weight_kg", round(rng.uniform(50, 140), 1))
    fat_pct = overrides.pop("fat_pct", round(rng.uniform(10, 40), 1))
    fat_mass = round(weight * fat_pct / 100, 1)
    fat_free = round(weight - fat_mass, 1)
    muscle = round(fat_free * 0.95, 1)
    water = round(fat_free * 0.73, 1)
    values = {
        "weight_kg": weight,
        "height_cm": height,
        "bmi": round(weight / (height / 100) ** 2, 1),
        "fat_pct": fat_pct,
        "fat_mass_kg": fat_mass,
        "fat_free_mass_kg": fat_free,
        "muscle_mass_kg": muscle,
        "bone_mass_kg": round(fat_free - muscle, 1),
        "water_kg": water,
        "water_pct": round(water / weight * 100, 1),
        "visceral_fat": float(rng.randint(1, 20)),
        "bmr_kcal": int(round(370 + 21.6 * fat_free)),
        "metabolic_age": max(12, min(90, person["age"] + rng.randint(-8, 12))),
        "impedance_ohm": float(rng.randint(350, 700)),
    }
    values.update(overrides)
    return values, person


def echo_of(person: dict, values: dict) -> dict:
    """What a Tanita frame says it computed with, as the drivers report it."""
    return {"sex": personal.SEXES[str(person["sex"])], "age": person["age"], "height_cm": float(values["height_cm"]),
            "body_type": personal.BODY_TYPES[str(person["body_type"])], "tare_kg": float(person["tare_kg"])}


def blood_pressure(rng: random.Random, overrides: dict) -> dict:
    """Random plausible blood-pressure values with a mean arterial pressure between them."""
    systolic = overrides.pop("systolic_mmhg", rng.randint(100, 165))
    diastolic = overrides.pop("diastolic_mmhg", rng.randint(60, min(100, systolic - 25)))
    values = {
        "systolic_mmhg": systolic,
        "diastolic_mmhg": diastolic,
        "mean_arterial_mmhg": round(diastolic + (systolic - diastolic) / 3),
        "pulse_bpm": rng.randint(50, 100),
    }
    values.update(overrides)
    return values


def cut(frame: bytes, rng: random.Random) -> bytes:
    """A frame cut off in the middle, still terminated: what a lost stretch of bytes looks like."""
    body = frame.rstrip(b"\r\n")
    return body[: rng.randint(3, max(4, len(body) // 2))] + b"\r\n"


class _Device(abc.ABC):
    """Behaviour of one simulated device; writes through the simulator."""

    noise = LINE_NOISE
    error_codes: tuple[str, ...] = ()

    def __init__(self, sim: Simulator) -> None:
        self.sim, self.rng = sim, sim.rng
        self.received: list[str] = []  # commands from the host, as the device understood them

    @abc.abstractmethod
    def frame(self, overrides: dict) -> tuple[bytes, dict]:
        """A good frame and the measurement it must yield."""

    def send_measurement(self, overrides: dict) -> dict:
        """Send one measurement; return what the driver must report."""
        frame, expected = self.frame(dict(overrides))
        self.sim.record(expected)  # before the bytes go out: a fast reader may report it at once
        self.sim.send_frame(frame)
        return expected

    def error_frame(self, code: str | None) -> bytes:
        """A frame in which the device reports an error."""
        return cut(self.frame({})[0], self.rng)

    def send_error(self, code: str | None) -> None:
        """Send a device error frame."""
        self.sim.send_frame(self.error_frame(code))

    def send_corrupt(self) -> None:
        """Send a frame damaged in transit (cut off)."""
        self.sim.send_frame(cut(self.frame({})[0], self.rng))

    def receive(self, data: bytes) -> None:  # noqa: B027 - a hook: pushed devices ignore the host
        """Bytes from the host; pushed devices ignore them."""

    def tick(self, now: float) -> None:  # noqa: B027 - a hook: most devices do nothing of their own
        """Time passes."""


class _Tanita(_Device):
    noise = LINE_NOISE + b"}"
    error_codes = ("E1", "E2", "St1")

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self._commands = bytearray()
        self._personal: dict = {}
        self._measure_at: float | None = None
        self.echo_instead: dict = {}  # a scale whose own settings override what it was sent

    def frame(self, overrides: dict) -> tuple[bytes, dict]:
        values, person = body_composition(self.rng, overrides)
        model = self.rng.choice(("SC-240", "MC-780MA", "BC-420MA"))
        serial = f"{self.rng.randint(1, 99999999):08d}"
        when = datetime.fromisoformat(now_minute())
        fields: list[tuple[str, object]] = [
            ("MO", model), ("SN", serial), ("ID", f"{self.rng.randint(0, 10**16):016d}"),
            ("Da", when.strftime("%d/%m/%Y")), ("TI", when.strftime("%H:%M")),
            ("Bt", person["body_type"]), ("GE", person["sex"]), ("AG", person["age"]), ("Hm", values["height_cm"]),
            ("Pt", person["tare_kg"]), ("Wk", values["weight_kg"]), ("FW", values["fat_pct"]),
            ("fW", values["fat_mass_kg"]), ("MW", values["fat_free_mass_kg"]),
            ("mW", values["muscle_mass_kg"]), ("sW", 10), ("bW", values["bone_mass_kg"]),
            ("wW", values["water_kg"]), ("ww", values["water_pct"]), ("MI", values["bmi"]),
            ("IF", int(values["visceral_fat"])), ("rb", round(values["bmr_kcal"] * 4.184)),
            ("rB", values["bmr_kcal"]), ("rA", values["metabolic_age"]), ("ZF", values["impedance_ohm"]),
        ]
        if model == "MC-780MA":  # segmental data: the long frames
            for letter in "FfMmS":
                for segment in "RLrlT":
                    fields.append((letter + segment, round(self.rng.uniform(5, 30), 1)))
        expected = {**values, "device_model": model, "device_serial": serial,
                    "measured_at": when.isoformat(), "driver": "tanita", "inputs": echo_of(person, values)}
        return tanita.build_frame(fields), expected

    def error_frame(self, code: str | None) -> bytes:
        code = code or self.rng.choice(self.error_codes)
        if code == "St1":
            return tanita.build_frame([("MO", "MC-780MA"), ("St", 1), ("Wk", 80.0)])
        return code.encode("ascii") + b"\r\n"

    def send_corrupt(self) -> None:
        frame = bytearray(self.frame({})[0])
        if self.rng.random() < 0.5:
            frame[self.rng.randrange(1, len(frame) - 8)] ^= 1 << self.rng.randrange(8)
            if b"\r" in frame[:-2] or b"\n" in frame[:-2]:
                frame = bytearray(cut(bytes(frame), self.rng))
            self.sim.send_frame(bytes(frame))
        else:
            self.sim.send_frame(cut(bytes(frame), self.rng))

    def receive(self, data: bytes) -> None:  # noqa: B027 - a hook: pushed devices ignore the host
        """PC mode: echo each code, keep personal data, measure on G."""
        self._commands.extend(data)
        while b"\n" in self._commands:
            line, _, rest = bytes(self._commands).partition(b"\n")
            self._commands = bytearray(rest)
            self._command(line.strip().decode("latin-1"))

    def _command(self, command: str) -> None:
        if not command:
            return
        self.received.append(command)
        if command == "M1":
            self._personal = {}
        elif command[:2] in ("D0", "D1", "D2", "D3", "D4") and command[2:]:
            try:
                self._personal[command[:2]] = float(command[2:])
            except ValueError:
                self.sim.send_frame(b"!\r\n")
                return
        elif command == "G":
            if "D3" not in self._personal or "D4" not in self._personal:
                self.sim.send_frame(b"G\r\nE4\r\n")
                return
            self._measure_at = time.monotonic() + 0.3
        else:
            self.sim.send_frame(b"!\r\n")
            return
        self.sim.send_frame(command[:2].encode("ascii") + b"\r\n")

    def tick(self, now: float) -> None:  # noqa: B027 - a hook: most devices do nothing of their own
        if self._measure_at is not None and now >= self._measure_at:
            self._measure_at = None
            sent = {"height_cm": self._personal["D3"], "age": int(self._personal["D4"]),
                    "sex": int(self._personal.get("D1", 1)), "body_type": int(self._personal.get("D2", 0)),
                    "tare_kg": self._personal.get("D0", 0.0)}
            self.send_measurement({**sent, **self.echo_instead})


class _BC418(_Device):
    def frame(self, overrides: dict) -> tuple[bytes, dict]:
        values, person = body_composition(self.rng, overrides)
        when = now_minute()
        keys = ("weight_kg", "height_cm", "bmi", "fat_pct", "fat_mass_kg", "fat_free_mass_kg",
                "water_kg", "visceral_fat", "bmr_kcal", "impedance_ohm")
        expected = {key: values[key] for key in keys}
        expected.update(device_model="BC-418", measured_at=when, driver="tanita-bc418")
        frame = tanita_bc418.build_frame({**expected, **person})
        expected["inputs"] = echo_of(person, values)
        del expected["inputs"]["tare_kg"]  # the BC-418 does not report the tare
        return frame, expected


class _AndScale(_Device):
    def frame(self, overrides: dict) -> tuple[bytes, dict]:
        weight = overrides.pop("weight_kg", round(self.rng.uniform(50, 140) * 20) / 20)
        return and_scale.build_frame(weight), {"weight_kg": weight, "driver": "and-scale"}

    def send_measurement(self, overrides: dict) -> dict:
        """A person stepping on: unstable lines, stable lines, then stepping off."""
        frame, expected = self.frame(dict(overrides))
        self.sim.record(expected)
        weight = expected["weight_kg"]
        for fraction in (0.3, 0.8, 1.02):
            self.sim.send_frame(and_scale.build_frame(round(weight * fraction, 2), header="US"))
        for _ in range(3):
            self.sim.send_frame(frame)
        self.sim.send_frame(and_scale.build_frame(0.0))
        return expected

    def error_frame(self, code: str | None) -> bytes:
        return b"OL,+9999E+19 kg\r\n"


class _OmronHBP9030(_Device):
    error_codes = ("1", "2", "3")

    def frame(self, overrides: dict) -> tuple[bytes, dict]:
        values = blood_pressure(self.rng, overrides)
        del values["mean_arterial_mmhg"]
        movement = bool(values.pop("body_movement", False))
        values.update(measured_at=now_minute(), device_model="HBP-9030", driver="omron-hbp9030",
                      flags={"body_movement": movement})
        patient_id = f"{self.rng.randint(0, 10**20 - 1):020d}"
        return omron.build_hbp9030_frame(values, patient_id=patient_id, body_movement=int(movement)), values

    def error_frame(self, code: str | None) -> bytes:
        patient_id = f"{self.rng.randint(0, 10**20 - 1):020d}"
        error = int(code or self.rng.choice(self.error_codes))
        return omron.build_hbp9030_frame({"measured_at": now_minute()}, patient_id=patient_id, error=error)


class _OmronHBP9020(_Device):
    def frame(self, overrides: dict) -> tuple[bytes, dict]:
        values = blood_pressure(self.rng, overrides)
        values.update(measured_at=now_minute(), device_model="HBP-9020", driver="omron-hbp9020",
                      flags={"device_flag": "0"})
        patient_id = f"{self.rng.randint(0, 10**20 - 1):020d}"
        return omron.build_hbp9020_frame(values, patient_id=patient_id), values


class _AndTM2657(_Device):
    """Answers ST / SP / RB like the monitor; a started measurement completes after `measure_seconds`."""

    noise = bytes([0x00, 0x7F, 0xFF, 0xFE])
    error_codes = tuple(and_tm2657.ERRORS)

    def __init__(self, sim: Simulator) -> None:
        super().__init__(sim)
        self._commands = bytearray()
        self._measuring_until: float | None = None
        yesterday = (datetime.now() - timedelta(days=1)).replace(second=0, microsecond=0).isoformat()
        old = blood_pressure(self.rng, {})
        # A previous participant's result is still in memory: the host must not report it.
        self._stored = and_tm2657.build_result_block({**old, "measured_at": yesterday})

    def frame(self, overrides: dict) -> tuple[bytes, dict]:
        values = blood_pressure(self.rng, overrides)
        values["measured_at"] = now_minute()
        return (and_tm2657.build_result_block(values),
                {**values, "device_model": "TM2657", "driver": "and-tm2657"})

    def _complete(self, overrides: dict) -> dict:
        block, expected = self.frame(overrides)
        self.sim.record(expected)
        self._stored = block
        return expected

    def send_measurement(self, overrides: dict) -> dict:
        """A measurement completed with the monitor's own button: stored until the host reads it."""
        self._measuring_until = None
        return self._complete(dict(overrides))

    def send_error(self, code: str | None) -> None:
        """The next result the host reads is an error."""
        code = code or self.rng.choice(self.error_codes)
        self._measuring_until = None
        self._stored = and_tm2657.build_result_block({"measured_at": now_minute()}, error=code)

    def send_corrupt(self) -> None:
        """The next result the host reads is malformed."""
        self._stored = and_tm2657.HEADER + bytes([and_tm2657.STX]) + b"TM2657\x1e99\x1eRB" + bytes([and_tm2657.ETX])

    def receive(self, data: bytes) -> None:  # noqa: B027 - a hook: pushed devices ignore the host
        self._commands.extend(data)
        for command in and_tm2657.parse_commands(self._commands):
            if command == "ST":
                self._measuring_until = time.monotonic() + self.sim.measure_seconds
                self.sim.send_frame(and_tm2657.ACK_FRAME)
            elif command == "SP":
                self._measuring_until = None
                self.sim.send_frame(and_tm2657.ACK_FRAME)
            elif command == "RB":
                self.sim.send_frame(and_tm2657.ACK_FRAME)
                self.sim.send_frame(self._stored)
            else:
                self.sim.send_frame(and_tm2657.NAK_FRAME)

    def tick(self, now: float) -> None:  # noqa: B027 - a hook: most devices do nothing of their own
        if self._measuring_until is not None and now >= self._measuring_until:
            self._measuring_until = None
            if self.sim.errors and self.rng.random() < 0.3:
                self.send_error(None)
            else:
                self._complete({})


DEVICES = {
    "tanita": _Tanita,
    "tanita-bc418": _BC418,
    "and-scale": _AndScale,
    "omron-hbp9030": _OmronHBP9030,
    "omron-hbp9020": _OmronHBP9020,
    "and-tm2657": _AndTM2657,
}


class Simulator:
    """A simulated instrument behind a pseudo-terminal, optionally reachable through a symlink."""

    def __init__(self, driver: str, link: str | os.PathLike | None = None, *, interval: float | None = None,
                 errors: bool = False, noise: bool = False, seed: int | None = None,
                 measure_seconds: float = 1.0) -> None:
        driver_class(driver)  # ValueError for an unknown name
        self.driver = driver
        self.link = os.fspath(link) if link is not None else None
        self.interval = interval
        self.errors = errors
        self.noise = noise
        self.measure_seconds = measure_seconds
        self.rng = random.Random(seed)
        self.sent: list[dict] = []  # measurements a correct driver reports, in order
        self.path: str | None = None
        self._device = DEVICES[driver](self)
        self._write_lock = threading.Lock()
        self._master: int | None = None
        self._slave: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def start(self) -> str:
        """Open the pseudo-terminal (and link); return the slave's path, e.g. /dev/pts/7."""
        master, slave = os.openpty()
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self.path = os.ttyname(slave)
        if self.link:
            if os.path.lexists(self.link) and not os.path.islink(self.link):
                os.close(master)
                os.close(slave)
                self._master = self._slave = None
                raise FileExistsError(f"{self.link} exists and is not a symlink; not replacing it")
            temporary = f"{self.link}.{os.getpid()}.tmp"
            os.symlink(self.path, temporary)
            os.replace(temporary, self.link)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"simulate-{self.driver}", daemon=True)
        self._thread.start()
        return self.path

    def send_measurement(self, **overrides) -> dict:
        """Send a realistic measurement (values overridable by contract name); return the expected result."""
        return self._device.send_measurement(overrides)

    @property
    def received(self) -> list[str]:
        """Commands the host sent, in order (a Tanita's PC-mode set-up)."""
        return list(self._device.received)

    def echo_instead(self, **values) -> None:
        """A Tanita whose own settings win over PC mode: its next measurements echo these
        (sex 1|2, age, height_cm, body_type 0|2, tare_kg) instead of what it was sent."""
        self._device.echo_instead = values

    def send_error(self, code: str | None = None) -> None:
        """Send a device-reported error (e.g. 'E2' for a Tanita, 'E44' for the TM-2657)."""
        self._device.send_error(code)

    def send_corrupt(self) -> None:
        """Send a frame damaged in transit."""
        self._device.send_corrupt()

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are."""
        self._write(data)

    def unplug(self) -> None:
        """Close the pseudo-terminal and remove the link, like pulling the USB cable."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        self._thread = None
        with self._write_lock:
            for fd in (self._master, self._slave):
                if fd is not None:
                    os.close(fd)
            self._master = self._slave = None
        if self.link and os.path.islink(self.link):
            os.unlink(self.link)

    def replug(self) -> str:
        """A new pseudo-terminal (and the link to it), like plugging the cable back in."""
        if self._master is not None:
            self.unplug()
        return self.start()

    def close(self) -> None:
        """Stop and release everything."""
        if self._master is not None:
            self.unplug()

    def record(self, expected: dict) -> dict:
        """Remember a measurement the host is expected to report."""
        self.sent.append(expected)
        return expected

    def send_frame(self, frame: bytes) -> None:
        """Write one frame, with stray bytes and split writes when noise is on."""
        if self.noise and self.rng.random() < 0.5:
            frame = frame + bytes([self.rng.choice(self._device.noise)])
        self._write(frame)

    def _write(self, data: bytes) -> None:
        with self._write_lock:
            if self._master is None:
                return
            chunks, position = [data], 0
            if self.noise:
                chunks = []
                while position < len(data):
                    size = self.rng.randint(1, 24)
                    chunks.append(data[position:position + size])
                    position += size
            for chunk in chunks:
                if not self._write_all(chunk):
                    return
                if self.noise:
                    time.sleep(self.rng.uniform(0, 0.004))

    def _write_all(self, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._master, view)
            except BlockingIOError:
                # Nobody is reading: a real device's bytes are lost too.
                logger.debug("simulator %s: output buffer full, dropping bytes", self.driver)
                return False
            except OSError:
                return False
            view = view[written:]
        return True

    def _serve(self) -> None:
        master, stop = self._master, self._stop
        next_auto = time.monotonic() + self.interval if self.interval else None
        while not stop.is_set():
            try:
                ready, _, _ = select.select([master], [], [], 0.02)
                data = os.read(master, 4096) if ready else b""
            except (OSError, ValueError):
                return
            if data:
                self._device.receive(data)
            now = time.monotonic()
            self._device.tick(now)
            if next_auto is not None and now >= next_auto:
                next_auto = now + self.interval
                self._automatic()

    def _automatic(self) -> None:
        chance = self.rng.random()
        if self.errors and chance < 0.2:
            self.send_error()
        elif self.errors and chance < 0.35:
            self.send_corrupt()
        else:
            self.send_measurement()
