"""Hardware for fitwerk: serial instruments (scales, blood-pressure monitors) and badge readers.

Nothing heavy is imported here: the names below load their modules on first use, so
`import devices.nfc` does not pull in pyserial and `import devices` costs nothing.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "DRIVERS": "devices.registry",
    "drivers": "devices.registry",
    "Driver": "devices.driver",
    "FrameError": "devices.driver",
    "LineSettings": "devices.driver",
    "InstrumentConfig": "devices.spec",
    "parse_instrument_spec": "devices.spec",
    "Instrument": "devices.instrument",
    "Simulator": "devices.simulate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    """Load an exported name from its module on first access."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'devices' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
