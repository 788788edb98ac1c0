"""Segment fields over real HTTP (both emulators as servers, a DuckDB file): category codes and their UDC
descriptions arrive as the configured merge fields and tags, a code change moves the tag and leaves the
marketer's own tags alone, a code without a UDC row is sent as the code with its event, a dropdown gains
a value it lacked, and the same JDE data again writes nothing.

The JDE side is the 30-party dataset of jde/conftest.py; the extraction goes through `pull_window`, the
path of the sync job, which reads F0005 once per code list.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from jde_mc_pipeline.audit.backends import open_store, synced_state
from jde_mc_pipeline.audit.postgres.migrations import upgrade
from jde_mc_pipeline.defs.automation.jobs import SYNC_JOB
from jde_mc_pipeline.jde.extract import Window
from jde_mc_pipeline.mapping.options import MappingOptions
from jde_mc_pipeline.mapping.segments import SegmentField
from jde_mc_pipeline.sync.stages import pull_window, sync_batch
from jde_mc_pipeline_tests.jde.conftest import DATASET_NOW
from jde_mc_pipeline_tests.sync.expected import subscriber_hash
from jde_mc_pipeline_tests.sync.support import (
    api,
    jde_delete,
    jde_upsert,
    member,
    stamp,
    tag_names,
    write_requests,
)

SEGMENTS = (
    SegmentField("F0101.AC01", tag_prefix="JDE Region: "),
    SegmentField("F0101.AC02", merge_field="CUSTTYPE", type="dropdown", name="Customer type"),
)
UDC = {
    ("01", "01"): {"W": "West", "NE": "Northeast"},
    ("01", "02"): {"DIS": "Distributor", "RET": "Retailer"},
}
CODES = {1001: ("W", "DIS"), 1002: ("NE", "OEM"), 1003: ("", "")}
LATER = stamp(date(2025, 11, 26), 120000)


@pytest.fixture
def segmented(jde_emulator, jde_dataset, settings):
    """F0005 and the parties' category codes loaded in JDE; settings with the two segment fields."""
    udc = [
        {"DRSY": sy, "DRRT": rt, "DRKY": code.rjust(10), "DRDL01": text}
        for (sy, rt), codes in UDC.items()
        for code, text in codes.items()
    ]
    jde_upsert(jde_emulator.url, "F0005", udc)
    set_codes(jde_emulator, jde_dataset, CODES)
    return replace(settings, mapping=MappingOptions(segment_fields=SEGMENTS))


def set_codes(jde_emulator, jde_dataset, codes: dict[int, tuple[str, str]], **stamped) -> None:
    master = {row["ABAN8"]: row for row in jde_dataset["F0101"]}
    changed = [
        {**master[an8], "ABAC01": ac01, "ABAC02": ac02, **{"AB" + k: v for k, v in stamped.items()}}
        for an8, (ac01, ac02) in codes.items()
    ]
    jde_upsert(jde_emulator.url, "F0101", changed)


@pytest.fixture(params=["duckdb", "postgres"])
def audit(request, store):
    """The audit store: the DuckDB file, or a PostgreSQL database (both backends keep the same rows)."""
    if request.param == "duckdb":
        return store
    url = request.getfixturevalue("postgres_url")
    upgrade(url)
    return open_store(url)


def values(audit, sql: str) -> list[tuple]:
    return [tuple(row) for row in audit.query(sql).itertuples(index=False)]


@pytest.fixture
def run(ais, mc_client, audit, segmented):
    def sync(run_id: str):
        sync.pages = []
        ais.on_page = lambda table, _: sync.pages.append(table)
        with ais:
            pulled = pull_window(
                ais, synced_state(audit), Window.through(DATASET_NOW.date()), segmented.mapping
            )
        return sync_batch(pulled.frames, mc_client, audit, segmented, run_id=run_id, job=SYNC_JOB,
                          today=DATASET_NOW.date(), deleted=pulled.deleted.tolist())  # fmt: skip

    return sync


def merge_field(server, tag: str) -> dict:
    fields = api(server, "GET", f"/lists/{server.list_id}/merge-fields", count=100).json()["merge_fields"]
    return next(f for f in fields if f["tag"] == tag)


def held(server, an8: int) -> tuple[dict, set[str]]:
    email = f"party{an8 - 1000}@example.com"
    return member(server, subscriber_hash(email))["merge_fields"], tag_names(server, subscriber_hash(email))


def test_codes_arrive_as_descriptions_in_merge_fields_and_tags_with_their_trail(
    run, mc_server, audit
) -> None:
    report = run("r1")

    assert report.reconciliation.ok
    fields, tags = held(mc_server, 1001)
    assert fields["CUSTTYPE"] == "Distributor" and tags == {"JDE Customer", "JDE Region: West"}
    fields, tags = held(mc_server, 1002)
    assert fields["CUSTTYPE"] == "OEM" and tags == {"JDE Customer", "JDE Region: Northeast"}
    fields, tags = held(mc_server, 1003)
    assert fields.get("CUSTTYPE", "") == "" and tags == {"JDE Customer"}
    custtype = merge_field(mc_server, "CUSTTYPE")
    assert (custtype["type"], custtype["name"]) == ("dropdown", "Customer type")
    assert sorted(custtype["options"]["choices"]) == ["Distributor", "OEM"]
    assert values(audit, "SELECT an8, target, detail FROM mapping_events WHERE event = 'udc_missing'") == [
        (1002, "list_member", "F0101.AC02=OEM (UDC 01/02): sent as the code")
    ]
    trail = values(
        audit,
        "SELECT field, source_value, mapped_value FROM mapped_values WHERE an8 = 1001 AND field IN "
        "('CUSTTYPE', 'tag:JDE Region: ') ORDER BY field",
    )
    assert trail == [("CUSTTYPE", "DIS", "Distributor"), ("tag:JDE Region: ", "W", "JDE Region: West")]
    pulled = values(
        audit,
        "SELECT row_json->>'AC02_DL01' FROM jde_pulls WHERE an8 = 1001 AND table_name = 'F0101'",
    )
    assert pulled == [("Distributor",)]


def test_the_same_jde_data_again_writes_nothing_and_reads_each_udc_list_once(run, mc_server) -> None:
    run("r1")
    assert run.pages.count("F0005") == 2  # one read per UDC list (01/01, 01/02), not one per party
    writes = write_requests(mc_server)

    again = run("r2")

    assert write_requests(mc_server) == writes
    assert set(again.outcomes["outcome"]) <= {"unchanged", "skipped:out_of_scope", "quarantined:no_email"}
    assert "unchanged" in set(again.outcomes["outcome"])
    assert run.pages.count("F0005") == 2


def test_a_code_change_moves_the_tag_keeps_the_marketers_tags_and_adds_the_dropdown_value(
    run, mc_server, jde_emulator, jde_dataset
) -> None:
    run("r1")
    party1 = subscriber_hash("party1@example.com")
    own = [{"name": "VIP", "status": "active"}, {"name": "JDE Regional", "status": "active"}]
    answer = api(mc_server, "POST", f"/lists/{mc_server.list_id}/members/{party1}/tags", {"tags": own})
    assert answer.status_code == 204
    set_codes(jde_emulator, jde_dataset, {1001: ("NE", "RET")}, **LATER)

    report = run("r2")

    assert report.reconciliation.ok
    fields, tags = held(mc_server, 1001)
    assert tags == {"JDE Customer", "JDE Region: Northeast", "VIP", "JDE Regional"}
    assert fields["CUSTTYPE"] == "Retailer"
    assert sorted(merge_field(mc_server, "CUSTTYPE")["options"]["choices"]) == [
        "Distributor",
        "OEM",
        "Retailer",
    ]
    outcomes = report.outcomes.set_index(["an8", "target"])["outcome"]
    assert outcomes[(1001, "list_member")] == "updated"
    assert outcomes[(1002, "list_member")] == "unchanged"


def test_a_party_leaving_scope_loses_its_segment_tags_with_its_role_tags(
    run, mc_server, jde_emulator, jde_dataset
) -> None:
    run("r1")
    master = next(row for row in jde_dataset["F0101"] if row["ABAN8"] == 1001)
    own = [{"name": "VIP", "status": "active"}]
    party1 = subscriber_hash("party1@example.com")
    api(mc_server, "POST", f"/lists/{mc_server.list_id}/members/{party1}/tags", {"tags": own})
    jde_upsert(jde_emulator.url, "F0101", [{**master, "ABAT1": "E", "ABAC01": "W", "ABAC02": "DIS",
                                           "ABUPMJ": LATER["UPMJ"], "ABUPMT": LATER["UPMT"]}])  # fmt: skip
    jde_delete(jde_emulator.url, "F03012", [{"AIAN8": 1001, "AICO": "00000"}])  # no role left

    report = run("r2")

    outcomes = report.outcomes.set_index(["an8", "target"])["outcome"]
    assert outcomes[(1001, "list_member")] == "left_scope:no_role"
    assert tag_names(mc_server, party1) == {"VIP"}


def test_any_of_the_thirty_category_codes_can_be_a_segment(
    ais, mc_client, mc_server, store, settings, jde_emulator, jde_dataset
) -> None:
    """AC07 is not read by default (jde/tables.py, on demand): named by a segment field, it is read and
    sent; its code list 01/07 has no F0005 row here, so the code itself is the tag."""
    master = next(row for row in jde_dataset["F0101"] if row["ABAN8"] == 1001)
    jde_upsert(jde_emulator.url, "F0101", [{**master, "ABAC07": "LX"}])
    segmented = replace(
        settings,
        mapping=MappingOptions(segment_fields=(SegmentField("F0101.AC07", tag_prefix="JDE Line: "),)),
    )
    with ais:
        pulled = pull_window(ais, synced_state(store), Window.through(DATASET_NOW.date()), segmented.mapping)
    report = sync_batch(pulled.frames, mc_client, store, segmented, run_id="r1", job=SYNC_JOB,
                        today=DATASET_NOW.date(), deleted=pulled.deleted.tolist())  # fmt: skip

    assert report.reconciliation.ok
    assert held(mc_server, 1001)[1] == {"JDE Customer", "JDE Line: LX"}
    assert held(mc_server, 1002)[1] == {"JDE Customer"}
    assert values(store, "SELECT an8, detail FROM mapping_events WHERE event = 'udc_missing'") == [
        (1001, "F0101.AC07=LX (UDC 01/07): sent as the code")
    ]
