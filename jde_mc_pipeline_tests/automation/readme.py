"""The README's runnable examples: each `sh` block right after a `<!-- readme-example: NAME -->` line."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example(name: str) -> str:
    """The text of example NAME (a KeyError names the ones the README has)."""
    found = dict(
        re.findall(r"<!-- readme-example: (\S+) -->\n```sh\n(.*?)```", README.read_text(), re.DOTALL)
    )
    if name not in found:
        raise KeyError(f"README.md has no example {name!r}; it has {sorted(found)}")
    return found[name]
