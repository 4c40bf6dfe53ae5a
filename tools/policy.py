"""`make policy`: checkov over modules/, the stack and every environment root.

Each target may carry a `.checkov.yaml`; every `skip-check` entry in it must say why
(`- CKV_X # reason`), and every inline `#checkov:skip=` must carry a reason too.
Prints passed/failed/skipped per target and in total; exits 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tools.progress import heartbeat

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGETS = [
    "modules",
    "terraform",
    "environments/dev",
    "environments/staging",
    "environments/prod",
    "environments/bootstrap",
    "environments/twin",
]
_SKIP_ENTRY = re.compile(r"^\s*-\s*(CKV2?_[A-Z0-9_]+)\s*(?:#\s*(.*))?$")
_INLINE_SKIP = re.compile(r"#checkov:skip=(CKV2?_[A-Z0-9_]+)(?::(.*))?")


@dataclass
class Counts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other: Counts) -> None:
        self.passed += other.passed
        self.failed += other.failed
        self.skipped += other.skipped


def config_skips(target: Path) -> list[tuple[str, str]]:
    config = target / ".checkov.yaml"
    if not config.exists():
        return []
    skips = []
    for line in config.read_text().splitlines():
        matched = _SKIP_ENTRY.match(line)
        if matched:
            skips.append((matched.group(1), (matched.group(2) or "").strip()))
    return skips


def unjustified_skips() -> list[str]:
    problems = []
    for target in TARGETS:
        for check, reason in config_skips(REPO_ROOT / target):
            if len(reason) < 20:
                problems.append(f"{target}/.checkov.yaml: {check} needs a written reason")
    for path in sorted(REPO_ROOT.glob("**/*.tf")):
        if any(part.startswith(".") or part == "build" for part in path.relative_to(REPO_ROOT).parts):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for matched in _INLINE_SKIP.finditer(line):
                if len((matched.group(2) or "").strip()) < 20:
                    problems.append(
                        f"{path.relative_to(REPO_ROOT)}:{number}: {matched.group(1)} needs a reason"
                    )
    return problems


def run_checkov(checkov: str, target: Path) -> tuple[Counts, list[str]]:
    argv = [checkov, "-d", str(target), "--framework", "terraform", "-o", "json", "--quiet", "--compact"]
    if (target / ".checkov.yaml").exists():
        argv += ["--config-file", str(target / ".checkov.yaml")]
    completed = subprocess.run(argv, capture_output=True, text=True, check=False)
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        raise SystemExit(
            f"checkov gave no JSON for {target}:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}"
        ) from error
    reports = report if isinstance(report, list) else [report]
    counts = Counts()
    failures = []
    for single in reports:
        summary = single.get("summary", {})
        counts.add(Counts(summary.get("passed", 0), summary.get("failed", 0), summary.get("skipped", 0)))
        for failed in single.get("results", {}).get("failed_checks", []):
            failures.append(f"{failed['check_id']} {failed['resource']} ({failed['file_path']})")
    return counts, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checkov", default="checkov")
    parser.add_argument("--json", type=Path, help="also write the counts here")
    args = parser.parse_args(argv)

    problems = unjustified_skips()
    total = Counts()
    per_target = {}
    for target in TARGETS:
        with heartbeat(f"checkov {target}"):
            counts, failures = run_checkov(args.checkov, REPO_ROOT / target)
        total.add(counts)
        per_target[target] = counts.__dict__
        skipped_by_config = len(config_skips(REPO_ROOT / target))
        print(
            f"{target:<24} passed {counts.passed:>4}  failed {counts.failed:>3}  skipped {counts.skipped:>3}"
            + (f"  (+{skipped_by_config} skipped by .checkov.yaml)" if skipped_by_config else "")
        )
        problems += [f"{target}: FAILED {failure}" for failure in failures]
    print(f"{'total':<24} passed {total.passed:>4}  failed {total.failed:>3}  skipped {total.skipped:>3}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"total": total.__dict__, "targets": per_target}, indent=2))
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems or total.failed else 0


if __name__ == "__main__":
    sys.exit(main())
