"""Segment fields in the mapping: the spec's validation, the values sent (description, code, the code when
F0005 has no row), the tags that move when a code changes, and the trail and events that say so."""

from __future__ import annotations

import json

import pytest

from jde_mc_pipeline.jde.udc import description_column
from jde_mc_pipeline.mapping.batch import map_batch
from jde_mc_pipeline.mapping.options import LIST_MEMBER, MappingOptions
from jde_mc_pipeline.mapping.outcomes import EVENT_ROLE_LOST, EVENT_UDC_MISSING
from jde_mc_pipeline.mapping.segments import SegmentField
from jde_mc_pipeline.settings.environment import SettingsError, from_env
from jde_mc_pipeline.settings.mapping import MappingSettings
from jde_mc_pipeline_tests.mapping.builders import TODAY, combine, frames, party, synced

REGIONS = {"W": "West", "NE": "Northeast"}
CLASSES = {"DIS": "Distributor"}
SEGMENTS = (
    SegmentField("F0101.AC01", tag_prefix="JDE Region: "),
    SegmentField("F0101.AC02", merge_field="CUSTTYPE"),
    SegmentField("F0101.AC02", merge_field="CUSTCODE", value="code"),
)
OPTIONS = MappingOptions(segment_fields=SEGMENTS)


def _frames(*codes: tuple[int, str, str]):
    """Frames of parties (an8, AC01, AC02) with the descriptions jde/udc.py adds."""
    tables = combine(*(party(an8, email=f"p{an8}@example.com") for an8, _, _ in codes))
    for row, (_, ac01, ac02) in zip(tables["F0101"], codes, strict=True):
        row |= {"AC01": ac01, "AC02": ac02}
    built = frames(**tables)
    f0101 = built["F0101"]
    built["F0101"] = f0101.assign(
        **{
            description_column("AC01"): f0101["AC01"]
            .map(REGIONS)
            .astype(object)
            .where(f0101["AC01"].isin(REGIONS), None),
            description_column("AC02"): f0101["AC02"]
            .map(CLASSES)
            .astype(object)
            .where(f0101["AC02"].isin(CLASSES), None),
        }
    )
    return built


def _member(result, an8: int) -> dict:
    row = result.members.loc[result.members["key"] == str(an8)].iloc[0]
    return {"merge_fields": json.loads(row["merge_fields"]), "active": row["tags_active"],
            "inactive": row["tags_inactive"]}  # fmt: skip


def test_descriptions_codes_and_tags_are_sent_with_their_trail() -> None:
    result = map_batch(_frames((1, "W", "DIS"), (2, "", "")), OPTIONS, today=TODAY)
    first, blank = _member(result, 1), _member(result, 2)
    assert first["merge_fields"]["CUSTTYPE"] == "Distributor"
    assert first["merge_fields"]["CUSTCODE"] == "DIS"
    assert first["active"] == ("JDE Customer", "JDE Region: West")
    assert "CUSTTYPE" not in blank["merge_fields"] and "CUSTCODE" not in blank["merge_fields"]
    assert blank["active"] == ("JDE Customer",)
    trail = result.trail.loc[result.trail["an8"] == 1].set_index("field")
    assert trail.loc["CUSTTYPE", "source"] == "F0101.AC02 → F0005.DL01 (UDC 01/02)"
    assert (trail.loc["CUSTTYPE", "source_value"], trail.loc["CUSTTYPE", "mapped_value"]) == (
        "DIS",
        "Distributor",
    )
    assert trail.loc["tag:JDE Region: ", "mapped_value"] == "JDE Region: West"
    assert EVENT_UDC_MISSING not in set(result.events["event"])


def test_a_code_without_a_udc_row_is_sent_as_the_code_with_an_event() -> None:
    result = map_batch(_frames((1, "SW", "OEM")), OPTIONS, today=TODAY)
    member = _member(result, 1)
    assert member["merge_fields"]["CUSTTYPE"] == "OEM"
    assert member["active"] == ("JDE Customer", "JDE Region: SW")
    events = result.events.loc[result.events["event"] == EVENT_UDC_MISSING]
    assert sorted(events["detail"]) == [
        "F0101.AC01=SW (UDC 01/01): sent as the code",
        "F0101.AC02=OEM (UDC 01/02): sent as the code",
    ]
    assert set(events["target"]) == {LIST_MEMBER}


def test_a_code_change_moves_the_tag_and_changes_the_hash_and_nothing_else_is_untagged() -> None:
    before = map_batch(_frames((1, "W", "DIS")), OPTIONS, today=TODAY)
    state = synced(before)
    again = map_batch(_frames((1, "W", "DIS")), OPTIONS, today=TODAY, state=state)
    assert again.members.empty, "the same JDE data is unchanged"
    moved = map_batch(_frames((1, "NE", "DIS")), OPTIONS, today=TODAY, state=state)
    member = _member(moved, 1)
    assert member["active"] == ("JDE Customer", "JDE Region: Northeast")
    assert member["inactive"] == ("JDE Region: West",)
    assert EVENT_ROLE_LOST not in set(moved.events["event"])
    assert moved.members.iloc[0]["payload_hash"] != before.members.iloc[0]["payload_hash"]


def test_owns_tag_knows_the_role_tags_and_the_prefixes_only() -> None:
    assert OPTIONS.owns_tag("JDE Customer") and OPTIONS.owns_tag("JDE Region: West")
    assert not OPTIONS.owns_tag("VIP") and not OPTIONS.owns_tag("JDE Regional")
    assert OPTIONS.owned_tags == ("JDE Customer", "JDE Vendor")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ('[{"column": "F0999.AC01", "merge_field": "X"}]', "not a catalogued JDE code column"),
        ('[{"column": "F0101.ALPH", "merge_field": "X"}]', "not a catalogued JDE code column"),
        ('[{"column": "F0101.AC01"}]', "give merge_field or tag_prefix"),
        ('[{"column": "F0101.AC01", "merge_field": "A"}, {"column": "F0101.AC02", "merge_field": "A"}]',
         "merge_field A given more than once"),
        ('[{"column": "F0101.AC01", "merge_field": "COMPANY"}]', "already mapped"),
        ('[{"column": "F0101.AC01", "tag_prefix": " "}]', "must not be blank"),
        ('[{"column": "F0101.AC01", "tag_prefix": "JDE "}]', "collides with role tag 'JDE Customer'"),
        ('[{"column": "F0101.AC01", "tag_prefix": "R: "}, {"column": "F0101.AC02", "tag_prefix": "R: C"}]',
         "collide"),
        ('[{"column": "F0101.AC01", "merge_field": "X", "type": "radio"}]', "type must be one of"),
        ('[{"column": "F0101.AC01", "merge_field": "X", "colour": "red"}]', "unknown key(s) colour"),
        ('{"column": "F0101.AC01"}', "must be a JSON list of objects"),
    ],
)  # fmt: skip
def test_a_wrong_spec_stops_the_settings_with_a_clear_error(spec: str, message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        from_env(MappingSettings, {"JDE_MC_SEGMENT_FIELDS": spec})
    assert "JDE_MC_SEGMENT_FIELDS" in str(raised.value) and message in str(raised.value)


def test_the_default_is_no_segment_field_and_a_list_is_read_from_the_environment() -> None:
    assert MappingSettings().options().segment_fields == ()
    spec = '[{"column": "f03012.cpgp", "merge_field": "pricegrp", "type": "dropdown"}]'
    (field,) = from_env(MappingSettings, {"JDE_MC_SEGMENT_FIELDS": spec}).options().segment_fields
    assert (field.column, field.merge_field, field.type, field.udc) == (
        "F03012.CPGP",
        "PRICEGRP",
        "dropdown",
        ("40", "PC"),
    )


def test_a_member_retired_by_an_email_change_loses_its_segment_tags_too() -> None:
    shared = combine(party(1, email="p1@example.com"), party(2, email="p2@example.com"))
    for row, region in zip(shared["F0101"], ("W", "NE"), strict=True):
        row |= {"AC01": region, "AC02": ""}
    built = frames(**shared)
    built["F0101"]["AC01_DL01"] = built["F0101"]["AC01"].map(REGIONS).astype(object)
    built["F0101"]["AC02_DL01"] = None
    state = synced(map_batch(built, OPTIONS, today=TODAY))
    moved = combine(party(1, email="p2@example.com"), party(2, email="p2@example.com"))
    for row, region in zip(moved["F0101"], ("W", "NE"), strict=True):
        row |= {"AC01": region, "AC02": "", "UPMJ": "2026-11-02" if row["AN8"] == 1 else None}
    again = frames(**moved)
    again["F0101"]["AC01_DL01"] = again["F0101"]["AC01"].map(REGIONS).astype(object)
    again["F0101"]["AC02_DL01"] = None

    result = map_batch(again, OPTIONS, today=TODAY, state=state)

    (row,) = result.members.itertuples(index=False)
    assert row.retires, "party 1's old member is retired: another record holds its new e-mail"
    assert set(row.retire_tags) == {"JDE Customer", "JDE Vendor", "JDE Region: West"}


def test_blank_clears_clears_a_text_segment_but_never_sends_a_dropdown_a_blank() -> None:
    segments = (
        SegmentField("F0101.AC02", merge_field="CUSTTEXT"),
        SegmentField("F0101.AC02", merge_field="CUSTLIST", type="dropdown"),
    )
    options = MappingOptions(segment_fields=segments, blank_clears=True)

    fields = _member(map_batch(_frames((1, "", "")), options, today=TODAY), 1)["merge_fields"]

    assert fields["CUSTTEXT"] == "" and "CUSTLIST" not in fields
