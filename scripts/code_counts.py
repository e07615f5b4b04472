"""Issue #15's before/after counts for portal/, kyc/ and remote_signing/.

    .venv/bin/python scripts/code_counts.py                     # this tree
    .venv/bin/python scripts/code_counts.py --before ab6ea00    # a revision beside it
    .venv/bin/python scripts/code_counts.py --before ab6ea00 --mypy

``--before REV`` checks REV out into a temporary git worktree (removed again) and
prints both columns. Imports are read with ``ast`` as in ``scripts/import_graph.py``
(module- and function-level; ``if TYPE_CHECKING:`` left out). ``--mypy`` also runs
``mypy --strict --ignore-missing-imports`` over the three packages of each tree
(slow: minutes per tree on two cores).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from import_graph import TOP_PACKAGES, Project, circles, module_graph

HERE = Path(__file__).resolve().parents[1]
TYPE_IGNORE = re.compile(r"#\s*type:\s*ignore")


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def counts(root: Path, *, mypy: bool) -> dict[str, str]:
    project = Project(root)
    found = list(project.imports())
    loops = circles(module_graph(project))
    top_level = circles(module_graph(project, in_functions=False))
    in_functions = {i.statement for i in found if i.in_function and not i.type_checking}
    guarded = {i.statement for i in found if i.guarded}
    sizes = sorted(((_lines(p), str(p.relative_to(root))) for p in project.paths.values()),
                   reverse=True)
    ignores = sum(len(TYPE_IGNORE.findall(p.read_text(encoding="utf-8")))
                  for p in project.paths.values())
    row = {
        "modules": str(len(project.paths)),
        "import circles (SCCs > 1 module)": str(len(loops)),
        "largest circle (modules)": str(len(loops[0]) if loops else 0),
        "circles over module-level imports only (largest)":
            f"{len(top_level)} ({len(top_level[0]) if top_level else 0})",
        "function-level imports of project modules": str(len(in_functions)),
        "except ImportError around project imports": str(len(guarded)),
        "# type: ignore": str(ignores),
        "lines (portal, kyc, remote_signing)": str(sum(n for n, _ in sizes)),
    }
    for rank, (n, name) in enumerate(sizes[:5], 1):
        row[f"largest module #{rank}"] = f"{name} ({n})"
    if mypy:
        row["mypy --strict --ignore-missing-imports errors"] = _mypy_errors(root)
    return row


def _mypy_errors(root: Path) -> str:
    with tempfile.TemporaryDirectory() as cache:
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports",
             "--cache-dir", cache, *TOP_PACKAGES],
            cwd=root, capture_output=True, text=True, check=False)
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    match = re.search(r"Found (\d+) errors?", summary)
    return match.group(1) if match else ("0" if summary.startswith("Success") else summary)


def _table(columns: dict[str, dict[str, str]]) -> str:
    keys = list(dict.fromkeys(k for column in columns.values() for k in column))
    lines = ["| count | " + " | ".join(columns) + " |",
             "|---|" + "---|" * len(columns)]
    lines += ["| " + key + " | " + " | ".join(c.get(key, "") for c in columns.values()) + " |"
              for key in keys]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--before", metavar="REV", help="a revision to compare with")
    parser.add_argument("--mypy", action="store_true", help="also count mypy --strict errors")
    args = parser.parse_args(argv)
    columns: dict[str, dict[str, str]] = {}
    if args.before:
        with tempfile.TemporaryDirectory() as place:
            tree = Path(place) / "before"
            subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.before],
                           cwd=HERE, check=True, capture_output=True)
            try:
                columns[f"before ({args.before})"] = counts(tree, mypy=args.mypy)
            finally:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)],
                               cwd=HERE, check=False, capture_output=True)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                          capture_output=True, text=True, check=False).stdout.strip()
    columns[f"after (working tree at {head})"] = counts(HERE, mypy=args.mypy)
    print(_table(columns))
    return 0


if __name__ == "__main__":
    sys.exit(main())
