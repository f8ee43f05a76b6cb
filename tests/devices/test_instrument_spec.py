"""KIOSK_SCALE / KIOSK_BP specs: the CLI's syntax, driver defaults, clear errors."""
import pytest

import devices
from devices.driver import LineSettings
from devices.spec import InstrumentConfig, parse_instrument_spec


def test_spec_with_options_overrides_the_driver_defaults():
    config = parse_instrument_spec("tanita /dev/ttyUSB0 --baud 19200 --parity e --stopbits 2 --bytesize 7")
    assert config == InstrumentConfig("tanita", "/dev/ttyUSB0", LineSettings(19200, 7, "E", 2))


@pytest.mark.parametrize("driver, line", [
    ("tanita", LineSettings(9600, 8, "N", 1)),
    ("tanita-bc418", LineSettings(4800, 8, "N", 1)),
    ("and-scale", LineSettings(2400, 7, "E", 1)),
    ("omron-hbp9030", LineSettings(9600, 8, "N", 1)),
    ("omron-hbp9020", LineSettings(2400, 8, "N", 1)),
    ("and-tm2657", LineSettings(2400, 8, "N", 1)),
])
def test_spec_without_options_takes_the_drivers_line_settings(driver, line):
    assert parse_instrument_spec(f"{driver} /dev/ttyUSB0").line == line


@pytest.mark.parametrize("text", [None, "", "   \n"])
def test_empty_or_unset_spec_means_no_instrument(text):
    assert parse_instrument_spec(text) is None


@pytest.mark.parametrize("url", ["socket://127.0.0.1:7000", "loop://", "hwgrep://0403:6001",
                                 "/dev/serial/by-id/usb-FTDI_FT232R-if00-port0"])
def test_spec_accepts_pyserial_urls(url):
    assert parse_instrument_spec(f"omron-hbp9030 {url}").url == url


def test_spec_port_with_spaces_can_be_quoted():
    assert parse_instrument_spec("tanita '/dev/my port'").url == "/dev/my port"


@pytest.mark.parametrize("text, words", [
    ("seca /dev/ttyUSB0", "unknown driver 'seca'"),
    ("tanita", "required: port"),
    ("tanita /dev/ttyUSB0 --parity X", "parity must be N, E or O"),
    ("tanita /dev/ttyUSB0 --baud fast", "not a positive whole number"),
    ("tanita /dev/ttyUSB0 --stopbits 3", "invalid choice"),
    ("tanita /dev/ttyUSB0 --timeout 5", "unrecognized arguments"),
    ("tanita /dev/ttyUSB0 extra", "unrecognized arguments"),
    ("tanita '/dev/ttyUSB0", "No closing quotation"),
])
def test_bad_spec_is_a_clear_value_error(text, words):
    with pytest.raises(ValueError) as error:
        parse_instrument_spec(text)
    assert words in str(error.value)
    assert text in str(error.value)


def test_package_exposes_the_registry_and_spec_parser():
    assert set(devices.DRIVERS) == {"tanita", "tanita-bc418", "and-scale", "omron-hbp9030",
                                    "omron-hbp9020", "and-tm2657"}
    assert devices.drivers() == devices.DRIVERS
    assert devices.parse_instrument_spec("and-scale /dev/ttyS0").driver == "and-scale"


def test_every_driver_has_a_kind_and_a_one_line_description():
    for cls in devices.DRIVERS.values():
        assert cls.kind in ("scale", "bp")
        assert cls.description and "\n" not in cls.description
