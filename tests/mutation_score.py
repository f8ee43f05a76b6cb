"""The mutation score per rule module after `mutmut run` (`make mutate`), from mutmut's
own result files under mutants/: killed / (killed + survived + no test covering it).
`--survivors` lists the mutants that survived or that no test reaches."""
import json
import sys
import tomllib
from pathlib import Path

# mutmut's exit codes (mutmut/stats.py): a test failed, pytest broke, a timeout, a type check.
KILLED = {1, 3, 36, -24, 24, 152, 255, 37}
SKIPPED = {34}
NO_TESTS = {5, 33}


def scores(root=Path(".")):
    """[(module, killed, survivor names, names with no test, names not run yet)] per mutated module."""
    modules = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    rows = []
    for module in modules:
        meta = root / "mutants" / f"{module}.meta"
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        codes = {k: v for k, v in codes.items() if v not in SKIPPED}
        unrun = sorted(k for k, v in codes.items() if v is None)
        untested = sorted(k for k, v in codes.items() if v in NO_TESTS)
        survivors = sorted(k for k, v in codes.items() if v is not None and v not in KILLED | NO_TESTS)
        rows.append((module, len(codes) - len(survivors) - len(untested) - len(unrun), survivors, untested, unrun))
    return rows


def main(argv):
    """Print the table (and every surviving or untested mutant with --survivors); exit 1
    while a mutant has not been run."""
    rows = scores()
    print(f"{'module':26} {'killed':>6} {'survived':>8} {'no test':>7} {'not run':>7} {'score':>6}")
    for module, killed, survivors, untested, unrun in rows:
        judged = killed + len(survivors) + len(untested)
        score = f"{100 * killed / judged:.0f}%" if judged else "-"
        print(f"{module:26} {killed:>6} {len(survivors):>8} {len(untested):>7} {len(unrun):>7} {score:>6}")
    killed = sum(r[1] for r in rows)
    judged = killed + sum(len(r[2]) + len(r[3]) for r in rows)
    print(f"{'all':26} {killed:>6} {judged - killed:>8} {'':>7} {sum(len(r[4]) for r in rows):>7} "
          f"{f'{100 * killed / judged:.1f}%' if judged else '-':>6}")
    if "--survivors" in argv:
        for _module, _killed, survivors, untested, _unrun in rows:
            print("\n".join([f"survived: {name}" for name in survivors] + [f"no test: {name}" for name in untested]))
    return 1 if any(r[4] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
