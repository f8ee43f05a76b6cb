"""`python -m bench [NAME ...] [--quick] [--keep]` (`make bench`): run the benchmarks, print
one table and write it to bench/results/latest.json. Benchmarks print; they never fail.
"""
import argparse
import importlib
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

from ._stats import failed, machine, table, write_json

BENCHMARKS = ("tap_latency", "tap_to_admin", "attendance_view", "staff_load", "backlog", "footprint",
              "kiosk_capacity", "big_data", "kiosk_year", "outcome_report")


class Context:
    """What a benchmark gets: its sizes (quick or full), a work folder, a per-run cache."""

    def __init__(self, workdir, quick):
        self.workdir, self.quick, self.cache = workdir, quick, {}
        self.shared = self.folder("shared")

    def folder(self, name):
        """A fresh folder for one benchmark's databases and logs."""
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def main(argv=None):
    """Run the chosen benchmarks (all by default); exit 0 unless the arguments are wrong."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"any of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter runs (about 2 minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (databases, process logs)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    names = args.names or list(BENCHMARKS)
    workdir = Path(tempfile.mkdtemp(prefix="fitwerk-bench-"))
    context = Context(workdir, args.quick)
    meta = {"quick": args.quick, "benchmarks": names, "machine_before": machine()}
    rows, started = [], time.monotonic()
    try:
        for name in names:
            print(f"bench: {name} …", file=sys.stderr, flush=True)
            begun = time.monotonic()
            try:
                module = importlib.import_module(f"bench.{name}")
                rows.extend(module.run(context))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a failed wait or request in one benchmark; the others still run
                traceback.print_exc()
                rows.append(failed(name, f"{type(exc).__name__}: {str(exc)[:300]}"))
            print(f"bench: {name} took {time.monotonic() - begun:.0f} s", file=sys.stderr, flush=True)
    finally:
        meta.update(machine_after=machine(), seconds=round(time.monotonic() - started), workdir=str(workdir))
        if args.keep:
            print(f"bench: work folder kept at {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(table(rows))
    path = write_json(rows, meta)
    print(f"\nwritten to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path} "
          f"({'quick' if args.quick else 'full'} run, {meta['seconds']} s; load average before "
          f"{meta['machine_before']['load_avg'][0]:.1f}, after {meta['machine_after']['load_avg'][0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
