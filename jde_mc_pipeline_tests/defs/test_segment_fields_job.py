"""Segment fields through the Dagster job, configured as the Launchpad would (`sync_settings` config):
the extract step reads F0005 and carries the descriptions, the mapping step sends them, and every
member in Mailchimp holds its party's region tag and customer class as JDE says (re-derived from the
emulator's raw rows and the demo's UDC lists, not by the mapping code). A second run of the same day
writes nothing."""

from __future__ import annotations

import json
from collections import Counter

from jde_mc_pipeline.emulators.ais.demo_udc import UDC_LISTS
from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld
from jde_mc_pipeline_tests.deployment import START_DATE
from jde_mc_pipeline_tests.sync import expected, support

SEGMENTS = json.dumps(
    [
        {"column": "F0101.AC01", "tag_prefix": "JDE Region: "},
        {"column": "F0101.AC02", "merge_field": "CUSTTYPE", "type": "dropdown"},
    ]
)


def test_the_job_sends_the_configured_segment_fields(sync_world: SyncWorld) -> None:
    sync_world.configure("sync_settings", segment_fields=SEGMENTS)

    result = sync_world.run(START_DATE, SYNC_DAY)

    assert result.success
    codes = {row["AN8"]: row for row in expected.raw_rows(sync_world.jde.url)["F0101"]}
    regions, classes = UDC_LISTS[("01", "01")], UDC_LISTS[("01", "02")]
    members = support.all_members(sync_world.mailchimp)
    assert members
    seen = Counter()
    for held in members:
        row = codes[int(held["merge_fields"]["JDEAN8"])]
        region, klass = row["AC01"].strip(), row["AC02"].strip()
        tags = {t["name"] for t in held["tags"] if t["name"].startswith("JDE Region: ")}
        assert tags == ({f"JDE Region: {regions.get(region, region)}"} if region else set()), held
        assert held["merge_fields"].get("CUSTTYPE", "") == (classes.get(klass, klass) if klass else "")
        seen[klass] += 1
    assert seen["OEM"] and seen["DIS"], "the demo holds a class without a UDC row and one with"
    events = sync_world.store.query("SELECT count(*) AS n FROM mapping_events WHERE event = 'udc_missing'")
    assert int(events["n"].iloc[0]) >= seen["OEM"]

    writes = support.write_requests(sync_world.mailchimp)
    again = sync_world.run(SYNC_DAY, SYNC_DAY)

    assert again.success
    assert support.write_requests(sync_world.mailchimp) == writes
