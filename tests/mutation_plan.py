"""Which fast unit tests judge the mutants of each rule module in `make mutate`: a pytest
plugin (pyproject's [tool.mutmut] loads it) that, while mutmut runs a mutant, keeps only
the tests of that mutant's module, so a survivor costs seconds, not the whole selection."""
import os

PLAN = {
    "common/schedule.py": ("tests/test_attendance_rules.py", "tests/test_calendar.py"),
    "common/badge.py": ("tests/test_badge_uid.py",),
    "common/protocol.py": ("tests/test_protocol.py", "tests/test_badge_uid.py"),
    "admin/attendance.py": ("tests/test_attendance_rules.py", "tests/test_attendance_cache.py"),
    "admin/sync.py": ("tests/test_sync_api.py", "tests/test_ingest.py"),
    "admin/auth.py": ("tests/test_auth_rules.py", "tests/test_auth_matrix.py", "tests/test_admin_api.py"),
    "devices/tanita.py": ("tests/devices/test_tanita.py",),
    "devices/tanita_bc418.py": ("tests/devices/test_tanita_bc418.py",),
    "devices/omron.py": ("tests/devices/test_omron.py",),
    "devices/and_scale.py": ("tests/devices/test_and_scale.py",),
    "devices/and_tm2657.py": ("tests/devices/test_and_tm2657.py",),
}


def plan_for(mutant):
    """The test files for a mutant named like 'common.schedule.x_session_at__mutmut_3'."""
    if "__mutmut_" not in mutant:
        return None  # mutmut's own runs (stats, clean, forced fail): everything selected
    for module, tests in PLAN.items():
        if mutant.startswith(module[:-len(".py")].replace("/", ".") + ".x"):
            return tests
    return ()


def pytest_collection_modifyitems(config, items):
    """Deselect the tests that are not the mutant's module's own."""
    allowed = plan_for(os.environ.get("MUTANT_UNDER_TEST", ""))
    if allowed is None:
        return
    dropped = [item for item in items if item.nodeid.split("::")[0] not in allowed]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item.nodeid.split("::")[0] in allowed]
