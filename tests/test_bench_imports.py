"""The benchmarks share the tests' helpers (tests/support) but not pytest."""
import subprocess
import sys

from tests.support.live import ROOT

PROBE = """
import importlib, pkgutil, sys
import bench
for module in pkgutil.iter_modules(bench.__path__):
    importlib.import_module("bench." + module.name)
print("pytest" in sys.modules)
"""


def test_every_benchmark_module_loads_without_pytest():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
