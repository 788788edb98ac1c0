"""The documentation's runnable examples: each `sh` block right after a `<!-- readme-example: NAME -->` line,
in README.md or in a file of docs/ (the walkthroughs too long for the README), and the audit queries of
docs/audit.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = re.compile(r"<!-- readme-example: (\S+) -->\n```sh\n(.*?)```", re.DOTALL)


def readme_example(name: str) -> str:
    """The text of example NAME (a KeyError names the ones the documentation has)."""
    found: dict[str, str] = {}
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for example, text in EXAMPLE.findall(page.read_text(encoding="utf-8")):
            assert example not in found, f"two examples named {example!r}"
            found[example] = text
    if name not in found:
        raise KeyError(f"the documentation has no example {name!r}; it has {sorted(found)}")
    return found[name]


def audit_queries() -> list[str]:
    """The statements of docs/audit.md's `sql` block, in order (its comments kept: DuckDB skips them)."""
    [block] = re.findall(
        r"```sql\n(.*?)```", (ROOT / "docs" / "audit.md").read_text(encoding="utf-8"), re.DOTALL
    )
    return [statement.strip() for statement in block.split(";") if statement.strip()]
