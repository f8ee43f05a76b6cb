"""`make mutate`'s plan agrees with mutmut's configuration, and picks each mutant's tests."""
import tomllib

from tests.mutation_plan import PLAN, plan_for
from tests.support.live import ROOT


def test_the_plan_covers_exactly_the_mutated_modules_and_the_selected_tests():
    mutmut = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    assert set(PLAN) == set(mutmut["only_mutate"])
    assert {t for tests in PLAN.values() for t in tests} == set(mutmut["pytest_add_cli_args_test_selection"])
    assert "tests.mutation_plan" in mutmut["pytest_add_cli_args"]
    assert all((ROOT / path).exists() for tests in PLAN.values() for path in tests)


def test_a_mutant_gets_its_own_modules_tests():
    assert plan_for("devices.tanita.xǁTanita ǁparse_line__mutmut_3".replace(" ", "")) == ("tests/devices/test_tanita.py",)
    assert plan_for("devices.tanita_bc418.x_parse__mutmut_1") == ("tests/devices/test_tanita_bc418.py",)
    assert plan_for("common.schedule.x_session_at__mutmut_2") == ("tests/test_attendance_rules.py", "tests/test_calendar.py")
    assert plan_for("stats") is None and plan_for("") is None
    assert plan_for("kiosk.store.x_best_now__mutmut_1") == ()
