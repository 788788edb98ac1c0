"""The AIS emulator serves F0005 like the other tables: the demo's UDC lists with KY right-justified as
JDE stores it, read through the project's client; the demo parties carry category codes of those lists
(and a few without a UDC row); the churn reassigns category codes, stamped like every change."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime

from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.demo import churn_changes, generate_demo
from jde_mc_pipeline.emulators.ais.demo_udc import UDC_LISTS
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.udc import add_descriptions, read_udc

TODAY = date(2026, 11, 27)


def test_the_demo_udc_lists_are_served_and_read_trimmed(jde_emulator_factory) -> None:
    server = jde_emulator_factory(demo=50, seed=3, clock=ManualClock(datetime(2026, 11, 27, 12, 0)))
    with AisClient(server.url, "JDE", "JDE", environment="JDV920") as ais:
        raw = [row["F0005_KY"] for rows in ais.iter_pages("F0005") for row in rows]  # as AIS answers
        lists = read_udc(ais, [("01", "02"), ("40", "PC"), ("55", "ZZ")])

    assert len(raw) == sum(len(codes) for codes in UDC_LISTS.values())
    assert all(len(code) == 10 and code.startswith(" ") for code in raw)  # right-justified in KY
    assert lists[("01", "02")] == UDC_LISTS[("01", "02")]
    assert lists[("40", "PC")]["WHSL"] == "Wholesale"
    assert lists[("55", "ZZ")] == {}


def test_descriptions_ride_beside_the_codes_and_a_code_without_a_row_gets_none(jde_emulator_factory) -> None:
    server = jde_emulator_factory(demo=300, seed=3, clock=ManualClock(datetime(2026, 11, 27, 12, 0)))
    with AisClient(server.url, "JDE", "JDE", environment="JDV920") as ais:
        frames = {"F0101": ais.browse("F0101"), "F03012": ais.browse("F03012")}
        described = add_descriptions(
            ais, frames, [("F0101", "AC02", "01", "02"), ("F03012", "CPGP", "40", "PC")]
        )

    book = described["F0101"]
    known = book["AC02"].isin(list(UDC_LISTS[("01", "02")]))
    assert (book.loc[known, "AC02_DL01"] == book.loc[known, "AC02"].map(UDC_LISTS[("01", "02")])).all()
    assert book.loc[book["AC02"] == "OEM", "AC02_DL01"].isna().all() and (book["AC02"] == "OEM").any()
    assert "AC02_DL01" not in frames["F0101"].columns  # the input frames are left as they were
    groups = described["F03012"].loc[described["F03012"]["CPGP"] != "", "CPGP_DL01"]
    assert len(groups) and groups.notna().all()


def test_demo_parties_carry_category_codes_and_the_churn_reassigns_them() -> None:
    demo = generate_demo(2000, 5, TODAY)
    industries = Counter(row["ABAC03"].strip() for row in demo["F0101"])
    assert set(industries) - {""} <= set(UDC_LISTS[("01", "03")]) and len(industries) >= 5
    assert {row["AICPGP"].strip() for row in demo["F03012"]} - {""} == set(UDC_LISTS[("40", "PC")])
    assert generate_demo(2000, 5, TODAY)["F0101"] == demo["F0101"]  # deterministic for the seed

    before = {row["ABAN8"]: row for row in demo["F0101"]}
    changes = churn_changes(random.Random(11), demo, 400, TODAY)
    recoded = [
        row
        for row in changes["F0101"]
        if row["ABAN8"] in before
        and any(row[c].strip() != before[row["ABAN8"]][c].strip() for c in ("ABAC01", "ABAC02", "ABAC03"))
        and row["ABALPH"] == before[row["ABAN8"]]["ABALPH"]
    ]
    assert recoded and all("ABUPMJ" not in row for row in recoded)  # the server stamps them
