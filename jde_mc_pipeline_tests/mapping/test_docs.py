"""docs/mapping.md must match the code: option defaults, outcome and event names."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from jde_mc_pipeline.mapping import outcomes
from jde_mc_pipeline.mapping.options import MappingOptions

DOC = (Path(__file__).resolve().parents[2] / "docs" / "mapping.md").read_text(encoding="utf-8")


def table_rows(heading: str) -> list[list[str]]:
    """The body rows of the first table under `## heading`, split into stripped cells."""
    section = DOC.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines[2:]]


def code(cell: str) -> str:
    match = re.fullmatch(r"`(.*)`", cell)
    assert match, f"expected a `code` cell, got {cell!r}"
    return match.group(1)


def test_every_option_is_documented_with_its_default():
    documented = {code(row[0]): code(row[1]) for row in table_rows("Options")}
    defaults = {
        f.name: repr(getattr(MappingOptions(), f.name)) for f in dataclasses.fields(MappingOptions) if f.init
    }
    assert documented == defaults


def test_every_outcome_decided_here_is_documented():
    documented = [code(row[0]) for row in table_rows("Outcomes")]
    assert sorted(documented) == sorted(outcomes.OUTCOMES_DECIDED_HERE)


def test_every_event_is_documented():
    assert sorted(code(row[0]) for row in table_rows("Events")) == sorted(outcomes.EVENTS)


def test_every_skip_reason_is_documented():
    for reason in (
        outcomes.REASON_NO_ROLE,
        outcomes.REASON_ROLE_NOT_ROUTED,
        outcomes.REASON_NO_ADDRESS_BOOK_ROW,
    ):
        assert f"`{reason}`" in DOC
