"""The mutation score per rule module after `mutmut run` (`make mutate`), from mutmut's
own result files under mutants/; `--survivors` lists the mutants that survived."""
import json
import sys
import tomllib
from pathlib import Path

# mutmut's exit codes (mutmut/stats.py): a test failed, pytest broke, a timeout, a type check.
KILLED = {1, 3, 36, -24, 24, 152, 255, 37}
SKIPPED = {34}


def scores(root=Path(".")):
    """[(module, killed, total, survivor names)] for every module mutmut mutated."""
    modules = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    rows = []
    for module in modules:
        meta = root / "mutants" / f"{module}.meta"
        if not meta.exists():
            rows.append((module, 0, 0, []))
            continue
        codes = {k: v for k, v in json.loads(meta.read_text())["exit_code_by_key"].items() if v not in SKIPPED}
        survivors = sorted(k for k, v in codes.items() if v not in KILLED)
        rows.append((module, len(codes) - len(survivors), len(codes), survivors))
    return rows


def main(argv):
    """Print the table (and the survivors with --survivors); exit 1 when nothing was run."""
    rows = scores()
    print(f"{'module':28} {'killed':>7} {'total':>6} {'score':>6}")
    for module, killed, total, _ in rows:
        print(f"{module:28} {killed:>7} {total:>6} {f'{100 * killed / total:.0f}%' if total else '-':>6}")
    killed, total = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'all':28} {killed:>7} {total:>6} {f'{100 * killed / total:.1f}%' if total else '-':>6}")
    if "--survivors" in argv:
        for _module, _killed, _total, survivors in rows:
            for name in survivors:
                print(f"survived: {name}")
    return 0 if total else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
