"""`python -m devices list | read | simulate` run as real subprocesses."""
import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import pytest

from devices.__main__ import main
from devices.omron import build_hbp9030_frame

ROOT = str(Path(__file__).resolve().parents[2])
SECRET_ID = "ANNA-DE-VRIES-190385"


def devices_cli(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "devices", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, **options)


def start_read(*args: str) -> subprocess.Popen:
    """Start `read` and wait until it reports its port open."""
    process = subprocess.Popen([sys.executable, "-m", "devices", "read", *args], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr.readline().startswith("ok: connected")
    return process


def test_list_names_every_driver_with_its_kind():
    result = devices_cli("list")
    assert result.returncode == 0
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()}
    assert rows == {"tanita": "scale", "tanita-bc418": "scale", "and-scale": "scale",
                    "omron-hbp9030": "bp", "omron-hbp9020": "bp", "and-tm2657": "bp"}


def test_read_prints_one_measurement_as_one_json_object(simulator):
    sim = simulator("tanita")
    process = start_read("tanita", sim.path, "--timeout", "10")
    expected = sim.send_measurement()
    stdout, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert len(stdout.splitlines()) == 1
    assert json.loads(stdout) == expected


def test_read_accepts_line_settings(simulator):
    sim = simulator("and-scale")
    process = start_read("and-scale", sim.path, "--baud", "9600", "--bytesize", "8", "--parity", "N",
                         "--stopbits", "1", "--timeout", "10")
    expected = sim.send_measurement()
    stdout, _ = process.communicate(timeout=15)
    assert json.loads(stdout) == expected


def test_read_reports_bad_frames_on_stderr_and_skips_them(simulator):
    sim = simulator("omron-hbp9030")
    process = start_read("omron-hbp9030", sim.path, "--timeout", "10")
    good = {"systolic_mmhg": 118, "diastolic_mmhg": 76, "pulse_bpm": 70, "measured_at": "2026-07-11T09:05:00"}
    sim.send_raw(build_hbp9030_frame(good, patient_id=SECRET_ID, error=2))
    sim.send_raw(build_hbp9030_frame(good, patient_id=SECRET_ID)[:30] + b"\r\n")
    sim.send_raw(build_hbp9030_frame(good, patient_id=SECRET_ID))
    stdout, stderr = process.communicate(timeout=15)
    assert process.returncode == 0
    assert json.loads(stdout) == {**good, "device_model": "HBP-9030", "driver": "omron-hbp9030",
                                  "flags": {"body_movement": False}}
    assert "rejected: blood-pressure monitor reported error 2" in stderr
    assert "rejected: wrong frame length" in stderr
    assert "ANNA" not in stdout + stderr and "190385" not in stdout + stderr


def test_read_starts_the_tm2657_itself(simulator):
    sim = simulator("and-tm2657", measure_seconds=0.2)
    result = devices_cli("read", "and-tm2657", sim.path, "--timeout", "10")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == sim.sent[-1]


def test_read_exits_1_when_no_measurement_arrives_in_time(simulator):
    sim = simulator("tanita")
    result = devices_cli("read", "tanita", sim.path, "--timeout", "0.5")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no valid measurement within 0.5 s" in result.stderr


def test_read_on_a_missing_port_says_so_and_exits_1(tmp_path):
    result = devices_cli("read", "tanita", str(tmp_path / "ttyUSB9"), "--timeout", "0.5")
    assert result.returncode == 1
    assert result.stderr.startswith("missing: cannot open")


def test_read_with_unknown_driver_is_a_usage_error():
    result = devices_cli("read", "seca", "/dev/ttyUSB0", "--timeout", "0.5")
    assert result.returncode == 2
    assert "unknown driver 'seca'" in result.stderr


def test_simulate_prints_its_pty_and_read_gets_a_measurement_through_the_link(tmp_path):
    link = tmp_path / "ttyOMRON"
    simulate = subprocess.Popen([sys.executable, "-m", "devices", "simulate", "omron-hbp9020",
                                 "--interval", "0.2", "--noise", "--link", str(link)],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        path = simulate.stdout.readline().strip()
        assert path.startswith("/dev/pts/")
        assert os.path.realpath(link) == path
        result = devices_cli("read", "omron-hbp9020", str(link), "--timeout", "10")
        assert result.returncode == 0, result.stderr
        measurement = json.loads(result.stdout)
        assert measurement["driver"] == "omron-hbp9020"
        assert measurement["diastolic_mmhg"] < measurement["mean_arterial_mmhg"] < measurement["systolic_mmhg"]
    finally:
        simulate.send_signal(signal.SIGTERM)
        assert simulate.wait(timeout=5) == 0
    assert not os.path.lexists(link)


def test_simulate_rejects_an_unknown_driver():
    result = devices_cli("simulate", "seca")
    assert result.returncode == 2 and "unknown driver" in result.stderr


def test_card_subcommand_is_handed_to_the_badge_reader_module(monkeypatch):
    calls = []
    fake = types.ModuleType("devices.card")
    fake.main = lambda argv: calls.append(argv) or 0
    monkeypatch.setitem(sys.modules, "devices.card", fake)
    assert main(["card", "watch", "--reader", "usb"]) == 0
    assert calls == [["watch", "--reader", "usb"]]


@pytest.mark.parametrize("args", [[], ["frobnicate"]])
def test_cli_without_a_known_command_is_a_usage_error(args):
    assert devices_cli(*args).returncode == 2


# --- a Tanita in PC mode: the set-up sent, and the echo checked -----------------------

PC_MODE = ["--height", "176", "--sex", "female", "--age", "41", "--tare", "0.8", "--body-type", "athlete"]


def test_read_sends_the_pc_mode_set_up_and_prints_what_the_scale_computed_with(simulator):
    sim = simulator("tanita")
    result = devices_cli("read", "tanita", sim.path, *PC_MODE, "--timeout", "10")
    assert result.returncode == 0, result.stderr
    assert sim.received == ["M1", "D000.8", "D12", "D22", "D3176.0", "D441", "G"]
    measurement = json.loads(result.stdout)
    assert measurement["inputs"] == {"sex": "female", "age": 41, "height_cm": 176.0, "body_type": "athlete",
                                     "tare_kg": 0.8}
    assert measurement == sim.sent[-1]


def test_read_refuses_a_result_whose_echo_differs_from_what_was_sent(simulator):
    sim = simulator("tanita")
    sim.echo_instead(sex=1, age=40)  # the scale's own settings won: a 40-year-old man
    result = devices_cli("read", "tanita", sim.path, *PC_MODE, "--timeout", "10")
    assert result.returncode == 1
    assert result.stdout == ""
    assert ("rejected: the scale computed with other personal data than was sent (sex, age): "
            "not this person's measurement") in result.stderr
    assert sim.received[-1] == "G" and len(sim.sent) == 1  # the scale did measure; its result was refused


def test_read_without_sex_and_age_sends_nothing_personal_and_only_listens(simulator):
    sim = simulator("tanita")
    process = subprocess.Popen([sys.executable, "-m", "devices", "read", "tanita", sim.path, "--height", "176",
                                "--timeout", "10"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert process.stderr.readline().startswith("note: no --sex and --age: nothing personal is sent")
    assert process.stderr.readline().startswith("ok: connected")
    expected = sim.send_measurement()
    stdout, _ = process.communicate(timeout=15)
    assert process.returncode == 0 and json.loads(stdout) == expected
    assert sim.received == []


@pytest.mark.parametrize("args, message", [
    (["--sex", "male", "--height", "170"], "--sex and --age go together"),
    (["--sex", "male", "--age", "30"], "--sex and --age go together, with --height"),
    (["--sex", "male", "--age", "3", "--height", "170"], "age must be a whole number between 5 and 99"),
])
def test_read_refuses_an_incomplete_or_implausible_set_up(simulator, args, message):
    sim = simulator("tanita")
    result = devices_cli("read", "tanita", sim.path, *args, "--timeout", "1")
    assert result.returncode == 2 and message in result.stderr
    assert sim.received == []


def test_read_refuses_personal_data_for_a_device_that_takes_none(simulator):
    sim = simulator("omron-hbp9030")
    result = devices_cli("read", "omron-hbp9030", sim.path, "--height", "170", "--sex", "male", "--age", "30",
                         "--timeout", "1")
    assert result.returncode == 2 and "does not take personal data" in result.stderr
