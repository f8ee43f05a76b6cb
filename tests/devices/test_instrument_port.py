"""End to end over real pseudo-terminals: simulator -> pyserial -> Instrument -> callbacks."""
import logging
import os
import socket
import threading
import time

import pytest

from devices.instrument import Instrument
from devices.omron import build_hbp9030_frame
from devices.simulate import Simulator
from devices.spec import parse_instrument_spec
from devices.tanita import build_frame

PUSHED = ["tanita", "tanita-bc418", "and-scale", "omron-hbp9030", "omron-hbp9020"]
FAST_POLL = {"poll_interval": 0.1, "reply_timeout": 0.5}


@pytest.mark.parametrize("driver", PUSHED)
def test_pushed_measurement_arrives_through_a_pseudo_terminal(driver, simulator, instrument):
    sim = simulator(driver)
    _, recorder = instrument(f"{driver} {sim.path}")
    assert recorder.wait_for(lambda r: "ok" in r.of("status"))
    expected = sim.send_measurement()
    assert recorder.wait_measurements() == [expected]


@pytest.mark.parametrize("driver", PUSHED)
def test_measurements_survive_stray_bytes_and_split_writes(driver, simulator, instrument):
    sim = simulator(driver, noise=True)
    _, recorder = instrument(f"{driver} {sim.path}")
    assert recorder.wait_for(lambda r: "ok" in r.of("status"))
    expected = [sim.send_measurement() for _ in range(3)]
    assert recorder.wait_measurements(3) == expected
    assert recorder.of("error") == []


def test_tanita_measurement_with_overrides_reports_exactly_those_values(simulator, instrument):
    sim = simulator("tanita")
    _, recorder = instrument(f"tanita {sim.path}")
    assert recorder.wait_for(lambda r: "ok" in r.of("status"))
    sim.send_measurement(weight_kg=82.7, height_cm=170.0)
    [measurement] = recorder.wait_measurements()
    assert (measurement["weight_kg"], measurement["height_cm"], measurement["bmi"]) == (82.7, 170.0, 28.6)


def test_bad_frames_are_reported_and_the_next_good_one_still_arrives(simulator, instrument):
    sim = simulator("tanita")
    _, recorder = instrument(f"tanita {sim.path}")
    assert recorder.wait_for(lambda r: "ok" in r.of("status"))
    sim.send_raw(build_frame([("Wk", 70.0)]).replace(b"CS,", b"CS,0"))
    sim.send_error("E2")
    expected = sim.send_measurement()
    assert recorder.wait_measurements() == [expected]
    assert recorder.of("error")[0] == "malformed checksum"
    assert "impedance error" in recorder.of("error")[1]


@pytest.mark.parametrize("driver", PUSHED + ["and-tm2657"])
def test_simulator_errors_and_corruption_never_become_wrong_measurements(driver, simulator, instrument):
    sim = simulator(driver, errors=True, noise=True, interval=0.03, measure_seconds=0.05)
    port, recorder = instrument(f"{driver} {sim.path}", driver_options=FAST_POLL if driver == "and-tm2657" else None)
    if driver == "and-tm2657":
        assert recorder.wait_for(lambda r: "ok" in r.of("status"))
        for _ in range(5):
            port.start_measurement()
            time.sleep(0.15)
    else:
        recorder.wait_for(lambda r: len(r.of("error")) >= 3 and len(r.of("measurement")) >= 3, timeout=3)
    for measurement in recorder.of("measurement"):
        assert measurement in sim.sent
    assert recorder.of("measurement") and recorder.of("error")


def test_tm2657_start_measurement_sends_start_and_reports_the_new_result(simulator, instrument):
    sim = simulator("and-tm2657", measure_seconds=0.2)
    port, recorder = instrument(f"and-tm2657 {sim.path}", driver_options=FAST_POLL)
    assert recorder.wait_for(lambda r: "ok" in r.of("status"))
    port.start_measurement()
    [measurement] = recorder.wait_measurements()
    assert sim.sent == [measurement]
    time.sleep(0.3)
    assert len(recorder.of("measurement")) == 1, "the same result must not be reported twice"


def test_tm2657_old_result_in_memory_is_never_reported(simulator, instrument):
    sim = simulator("and-tm2657")
    _, recorder = instrument(f"and-tm2657 {sim.path}", driver_options=FAST_POLL)
    time.sleep(0.5)
    assert recorder.of("measurement") == [] and recorder.of("error") == []


def test_tm2657_measurement_started_on_the_monitor_is_picked_up(simulator, instrument):
    sim = simulator("and-tm2657")
    _, recorder = instrument(f"and-tm2657 {sim.path}", driver_options=FAST_POLL)
    time.sleep(0.3)
    expected = sim.send_measurement(systolic_mmhg=141, diastolic_mmhg=92)
    assert recorder.wait_measurements() == [expected]


def test_tm2657_patient_moved_is_reported_as_a_clear_error(simulator, instrument):
    sim = simulator("and-tm2657")
    _, recorder = instrument(f"and-tm2657 {sim.path}", driver_options=FAST_POLL)
    time.sleep(0.3)
    sim.send_error("E44")
    assert recorder.wait_for(lambda r: r.of("error"))
    assert recorder.of("error") == ["patient moved: keep the arm still and measure again (E44)"]


def test_tanita_pc_mode_measurement_uses_the_personal_data_sent(simulator, instrument):
    sim = simulator("tanita")
    port, recorder = instrument(f"tanita {sim.path}")
    assert recorder.wait_for(lambda r: "ok" in r.of("status"))
    port.start_measurement(height_cm=176.0, sex="female", age=41)
    [measurement] = recorder.wait_measurements()
    assert measurement["height_cm"] == 176.0
    assert recorder.of("error") == []


def test_bad_personal_data_is_refused_at_once():
    port = Instrument(parse_instrument_spec("tanita /dev/null"))
    with pytest.raises(ValueError):
        port.start_measurement(height_cm=170, sex="male", age=3)


def test_unplug_and_replug_reports_missing_then_ok_and_recovers(simulator, instrument, tmp_path):
    link = tmp_path / "ttyTANITA"
    sim = simulator("tanita", link=link)
    _, recorder = instrument(f"tanita {link}")
    first = sim.send_measurement() if recorder.wait_for(lambda r: "ok" in r.of("status")) else None
    recorder.wait_measurements(1)
    sim.unplug()
    assert recorder.wait_for(lambda r: r.distinct_statuses() == ["ok", "missing"])
    sim.replug()
    assert recorder.wait_for(lambda r: r.distinct_statuses() == ["ok", "missing", "ok"])
    second = sim.send_measurement()
    assert recorder.wait_measurements(2) == [first, second]


def test_port_missing_at_start_is_reported_and_found_when_it_appears(simulator, instrument, tmp_path):
    link = tmp_path / "ttyBP"
    _, recorder = instrument(f"omron-hbp9030 {link}")
    assert recorder.wait_for(lambda r: r.of("status") == ["missing"])
    sim = simulator("omron-hbp9030", link=link)
    assert recorder.wait_for(lambda r: r.distinct_statuses() == ["missing", "ok"])
    expected = sim.send_measurement()
    assert recorder.wait_measurements() == [expected]


def test_tm2657_recovers_after_replug_and_measures_again(simulator, instrument, tmp_path):
    link = tmp_path / "ttyTM"
    sim = simulator("and-tm2657", link=link, measure_seconds=0.1)
    port, recorder = instrument(f"and-tm2657 {link}", driver_options=FAST_POLL)
    assert recorder.wait_for(lambda r: "ok" in r.of("status"))
    sim.unplug()
    assert recorder.wait_for(lambda r: "missing" in r.of("status"))
    sim.replug()
    assert recorder.wait_for(lambda r: r.distinct_statuses()[-1:] == ["ok"] and "missing" in r.of("status"))
    port.start_measurement()
    assert recorder.wait_measurements() == sim.sent


def test_start_request_while_disconnected_is_dropped_with_an_error(instrument, tmp_path):
    port, recorder = instrument(f"and-tm2657 {tmp_path / 'absent'}")
    assert recorder.wait_for(lambda r: "missing" in r.of("status"))
    port.start_measurement()
    assert recorder.wait_for(lambda r: r.of("error"))
    assert recorder.of("error") == ["instrument not connected: measurement not started"]


def test_unknown_url_scheme_is_an_error_status_not_an_exception(instrument):
    _, recorder = instrument("tanita nosuch://device")
    assert recorder.wait_for(lambda r: r.of("status") == ["error"])


def test_socket_url_reaches_a_tcp_serial_server(instrument):
    server = socket.create_server(("127.0.0.1", 0))
    port_number = server.getsockname()[1]
    frame = build_frame([("MO", "SC-240"), ("Wk", 70.1)])
    done = threading.Event()

    def serve():
        # pyserial drops what is already waiting when it connects, so keep sending like a live device.
        connection, _ = server.accept()
        with connection:
            while not done.wait(0.05):
                connection.sendall(frame)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        _, recorder = instrument(f"tanita socket://127.0.0.1:{port_number}")
        measurement = recorder.wait_measurements()[0]
        assert measurement == {"weight_kg": 70.1, "device_model": "SC-240", "driver": "tanita"}
    finally:
        done.set()
        server.close()
        thread.join(timeout=2)


def test_stop_event_ends_run_within_a_read_timeout(simulator):
    sim = simulator("tanita")
    port = Instrument(parse_instrument_spec(f"tanita {sim.path}"), read_timeout=0.1)
    stop = threading.Event()
    thread = threading.Thread(target=port.run, args=(stop,))
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    stop.set()
    thread.join(timeout=2)
    assert not thread.is_alive() and time.monotonic() - started < 0.5
    assert port.state == "ok"


def test_simulator_link_points_to_its_pseudo_terminal_and_goes_away_on_unplug(simulator, tmp_path):
    link = tmp_path / "ttyX"
    sim = simulator("and-scale", link=link)
    assert os.path.realpath(link) == sim.path
    sim.unplug()
    assert not os.path.lexists(link)
    new_path = sim.replug()
    assert os.path.realpath(link) == new_path


def test_simulator_never_replaces_a_real_file_with_its_link(tmp_path):
    real = tmp_path / "ttyUSB0"
    real.write_text("not a link")
    with pytest.raises(FileExistsError):
        Simulator("tanita", link=real).start()
    assert real.read_text() == "not a link"


def test_omron_id_never_reaches_callbacks_or_logs(simulator, instrument, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "ANNA-DE-VRIES-190385"
    reading = {"systolic_mmhg": 118, "diastolic_mmhg": 76, "pulse_bpm": 70, "measured_at": "2026-07-11T09:05:00"}
    sim = simulator("omron-hbp9030")
    _, recorder = instrument(f"omron-hbp9030 {sim.path}")
    assert recorder.wait_for(lambda r: "ok" in r.of("status"))
    sim.send_raw(build_hbp9030_frame(reading, patient_id=secret, error=4))
    sim.send_raw(build_hbp9030_frame(reading, patient_id=secret)[:45] + b"\r\n")
    sim.send_raw(build_hbp9030_frame({**reading, "systolic_mmhg": 290}, patient_id=secret))
    sim.send_raw(build_hbp9030_frame(reading, patient_id=secret))
    recorder.wait_measurements()
    assert len(recorder.of("error")) == 3
    everything = repr(recorder.events) + caplog.text
    assert "ANNA" not in everything and "190385" not in everything
