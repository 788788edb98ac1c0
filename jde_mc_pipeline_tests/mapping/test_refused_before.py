"""mapping.md §5: a payload Mailchimp refused for good is not sent again until it changes."""

from __future__ import annotations

from jde_mc_pipeline.audit.state import DuckDBSyncedState, memory_state
from jde_mc_pipeline.mapping.batch import map_batch
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER, MappingOptions
from jde_mc_pipeline_tests.mapping.builders import TODAY, combine, frames, party, remember, remember_refusal

REFUSED = "refused before in run r1; not re-sent until its JDE data changes"


def mapped(tables, state):
    return map_batch(frames(**tables), MappingOptions(), state=state, today=TODAY)


def refused_state(result, an8: int, title: str) -> DuckDBSyncedState:
    """The state after Mailchimp refused the member payload of `an8` for good in run r1."""
    state = memory_state()
    row = result.members.loc[result.members["key"] == str(an8)].iloc[0]
    remember_refusal(state, LIST_MEMBER, an8, row["payload_hash"], title, "r1")
    return state


def test_the_refused_payload_is_decided_rejected_again_without_being_sent():
    tables = combine(party(1), party(2, email="bea@example.org", first="Bea"))
    first = mapped(tables, memory_state())
    state = refused_state(first, 1, "Member In Compliance State")

    second = mapped(tables, state)

    assert second.members["key"].tolist() == ["2"]
    assert sorted(second.customers["key"]) == ["1", "2"]  # only the member was refused
    [row] = second.outcomes.loc[second.outcomes["an8"] == 1].to_dict("records")
    first_row = first.members.loc[first.members["key"] == "1"].iloc[0]
    assert row == {
        "an8": 1,
        "target": LIST_MEMBER,
        "outcome": "rejected:Member In Compliance State",
        "reason": REFUSED,
        "target_key": first_row["target_key"],
        "payload_hash": first_row["payload_hash"],
    }
    sent_trail = second.trail.loc[(second.trail["an8"] == 1) & (second.trail["target"] == LIST_MEMBER)]
    assert sent_trail.empty  # the trail holds the values of rows sent
    assert not second.trail.loc[second.trail["target"] == ECOMMERCE_CUSTOMER].empty


def test_a_changed_payload_is_sent_again():
    first = mapped(party(1), memory_state())
    state = refused_state(first, 1, "Invalid Resource")

    fixed = mapped(party(1, email="ann@acme-industries.net"), state)
    renamed_only = mapped(party(1, last="Lee-Smith"), state)

    for result in (fixed, renamed_only):
        assert result.members["key"].tolist() == ["1"]
        assert not result.outcomes["outcome"].str.startswith("rejected:").any()


def test_a_later_successful_write_forgets_the_refusal():
    first = mapped(party(1), memory_state())
    state = refused_state(first, 1, "Invalid Resource")
    row = first.members.iloc[0]
    remember(state, LIST_MEMBER, 1, row["target_key"], row["email_address"], "other-hash", row["tags_active"])

    assert state.last_rejected(LIST_MEMBER, [1]).empty
    again = mapped(party(1), state)
    assert again.members["key"].tolist() == ["1"]  # its hash differs from the synced one: sent


def test_a_refusal_is_per_target():
    first = mapped(party(1), memory_state())
    state = memory_state()
    remember_refusal(state, ECOMMERCE_CUSTOMER, 1, first.members["payload_hash"][0], "Invalid Resource")

    again = mapped(party(1), state)

    assert again.members["key"].tolist() == ["1"] and again.customers["key"].tolist() == ["1"]
