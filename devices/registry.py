"""The serial instrument drivers by name, as used by the CLI and KIOSK_SCALE / KIOSK_BP."""
from __future__ import annotations

from devices.and_scale import AndScale
from devices.and_tm2657 import AndTM2657
from devices.driver import Driver
from devices.omron import OmronHBP9020, OmronHBP9030
from devices.tanita import Tanita
from devices.tanita_bc418 import TanitaBC418

DRIVERS: dict[str, type[Driver]] = {
    cls.name: cls for cls in (Tanita, TanitaBC418, AndScale, OmronHBP9030, OmronHBP9020, AndTM2657)
}


def drivers() -> dict[str, type[Driver]]:
    """Return a copy of the driver registry: name -> driver class."""
    return dict(DRIVERS)


def driver_class(name: str) -> type[Driver]:
    """Look a driver up by name; ValueError listing the known names if there is none."""
    try:
        return DRIVERS[name]
    except KeyError:
        raise ValueError(f"unknown driver {name!r}; known drivers: {', '.join(DRIVERS)}") from None
