"""`make mutation`: mutmut over the safety core, from a clean state, checked against the list
of survivors known to change nothing.

Each line of ``mutation-equivalents.txt`` (beside this script) is
``<mutant name> <fingerprint> <why it changes nothing>``; the fingerprint is the first 12 hex
of the SHA-256 of the mutant's diff, so a list entry never vouches for another change that
came to carry the same name. A survivor not on the list, or listed with another
fingerprint, fails the run; so does a mutant no test runs. A timeout (the tests hang or
crawl under the mutant) counts as caught. Entries whose
mutant is now killed are reported, to be removed. The report goes to ``mutants/report.md``.

    python .ci/mutation.py            run, report, check
    python .ci/mutation.py --list     also print a line for each survivor, for the list
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENTS = Path(__file__).resolve().parent / "mutation-equivalents.txt"
MUTMUT = [sys.executable, "-m", "mutmut"]
LINE = re.compile(r"^\s*(\S+): (\S+)\s*$")


def mutmut(*args: str) -> str:
    done = subprocess.run([*MUTMUT, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"mutation: `mutmut {' '.join(args)}` failed ({done.returncode})")
    return done.stdout


def fingerprint(name: str) -> str:
    """The first 12 hex of the SHA-256 of the mutant's diff (its status line left out)."""
    shown = mutmut("show", name).split("\n", 1)[1]
    return hashlib.sha256(shown.encode()).hexdigest()[:12]


def listed() -> dict[str, tuple[str, str]]:
    """name -> (fingerprint, reason) from the list; a line without a reason is an error."""
    found: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(EQUIVALENTS.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            raise SystemExit(f"mutation: {EQUIVALENTS.name}:{number}: name, fingerprint, reason")
        found[parts[0]] = (parts[1], parts[2])
    return found


def module_of(name: str) -> str:
    """``staticmw.http.ranges.x_parse__mutmut_3`` -> ``staticmw.http.ranges``."""
    return name.rsplit(".", 1)[0]


def main() -> int:
    show_lines = "--list" in sys.argv
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # every run from nothing
    (ROOT / "mutants").mkdir()
    log = ROOT / "mutants" / "run.log"
    with open(log, "w") as output:  # mutmut's progress line, redrawn for every mutant
        run = subprocess.run(
            [*MUTMUT, "run", "--max-children", "2"], cwd=ROOT, stdout=output, stderr=output
        )
    if run.returncode != 0:
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
        print(f"mutation: `mutmut run` failed ({run.returncode})", file=sys.stderr)
        return 1
    statuses: dict[str, str] = {}
    for line in mutmut("results", "--all", "true").splitlines():
        match = LINE.match(line)
        if match:
            statuses[match.group(1)] = match.group(2)
    if not statuses:
        print("mutation: mutmut reported no mutants", file=sys.stderr)
        return 1
    known = listed()
    problems: list[str] = []
    # A timeout is a mutant that made the tests hang or crawl: noticed, as a kill is.
    caught = ("killed", "timeout")
    survivors = sorted(name for name, status in statuses.items() if status not in caught)
    for name in survivors:
        status = statuses[name]
        if status != "survived":
            problems.append(f"{name}: {status}")
            continue
        mark = fingerprint(name)
        if show_lines:
            print(f"{name} {mark} ")
        entry = known.get(name)
        if entry is None:
            problems.append(f"{name}: survived, and is not in {EQUIVALENTS.name}")
        elif entry[0] != mark:
            problems.append(f"{name}: survived, but its change is not the one listed")
    stale = sorted(set(known) - set(survivors))
    by_module: dict[str, Counter[str]] = {}
    for name, status in statuses.items():
        by_module.setdefault(module_of(name), Counter())[status] += 1
    report = [
        "| module | mutants | killed | timed out | survived (each listed as equivalent) |",
        "|---|---|---|---|---|",
    ]
    for module, counts in sorted(by_module.items()):
        total = sum(counts.values())
        report.append(
            f"| {module} | {total} | {counts['killed']} | {counts['timeout']} | "
            f"{total - counts['killed'] - counts['timeout']} |"
        )
    (ROOT / "mutants" / "report.md").write_text("\n".join(report) + "\n")
    print("\n".join(report))
    for name in stale:
        print(f"mutation: {name} is listed but no longer survives: remove it from the list")
    for problem in problems:
        print(f"mutation: {problem}", file=sys.stderr)
        name = problem.split(":", 1)[0]
        if name in statuses:
            print(mutmut("show", name), file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
