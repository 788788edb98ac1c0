"""Payload frames for one target from the holder parties: MemberWrite / CustomerWrite fields per row.

Each row carries `key` (the holder AN8 as text), the write record's fields, `target_key` (subscriber
hash or customer id: the same MD5 of the e-mail), `an8s` (the AN8s folded into the record, "," joined,
holder first), `payload_hash`, and the columns the state step fills: `previous_email`, `retires` (the
record keys this write replaces) and, for members, `tags_inactive` and `retire_tags`.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from jde_mc_pipeline.mapping.canonical import json_list, json_object_hashes, json_string
from jde_mc_pipeline.mapping.changes import email_hashes
from jde_mc_pipeline.mapping.customers import customer_fields
from jde_mc_pipeline.mapping.members import member_fields
from jde_mc_pipeline.mapping.options import ECOMMERCE_CUSTOMER, LIST_MEMBER, MappingOptions
from jde_mc_pipeline.mapping.segment_payloads import segment_tags
from jde_mc_pipeline.mapping.trail import trail_frame

MEMBER_COLUMNS: tuple[str, ...] = (
    "key",
    "email_address",
    "status_if_new",
    "merge_fields",
    "tags_active",
    "tags_inactive",
    "previous_email",
    "retires",
    "retire_tags",
    "target_key",
    "an8s",
    "payload_hash",
)
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "key",
    "customer_id",
    "email_address",
    "opt_in_status",
    "company",
    "first_name",
    "last_name",
    "address",
    "previous_email",
    "retires",
    "target_key",
    "an8s",
    "payload_hash",
)


def tag_sets(options: MappingOptions, roles: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Tag tuple for each role bitmask (bit i = roles[i] held), in role order."""
    return [
        tuple(options.tag_for(role) for i, role in enumerate(roles) if mask >> i & 1)
        for mask in range(2 ** len(roles))
    ]


def object_lookup(values: list) -> np.ndarray:
    """An object array of these values, to fan them out by fancy indexing (rows share the objects)."""
    lookup = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        lookup[i] = value
    return lookup


def role_mask(frame: pd.DataFrame, roles: tuple[str, ...], prefix: str) -> np.ndarray:
    """The role bitmask per row from boolean columns `<prefix><role>`."""
    mask = np.zeros(len(frame), dtype=np.int64)
    for i, role in enumerate(roles):
        mask |= frame[f"{prefix}{role}"].to_numpy(dtype=bool).astype(np.int64) << i
    return mask


def member_payloads(holders: pd.DataFrame, options: MappingOptions, roles: tuple[str, ...], with_trail: bool):
    """(payload frame, events, trail frames) for list members."""
    n = len(holders)
    merge_fields, events, trail = member_fields(holders, options, with_trail)
    sets = tag_sets(options, roles)
    mask = role_mask(holders, roles, "group_is_")
    segment_names, segment_events, segment_trail = segment_tags(holders, options, with_trail)
    if segment_names:
        events = pd.concat([events, *segment_events], ignore_index=True)
        tags_active, tags_json = _with_segment_tags(sets, mask, segment_names)
    else:
        tags_active = object_lookup(sets)[mask]
        tags_json = np.array([json_list(tags) for tags in sets], dtype=object)[mask]
    email = holders["email"]
    hashes = json_object_hashes(
        [
            ("email_address", json_string(email), None),
            ("merge_fields", merge_fields, None),
            ("status_if_new", np.full(n, json.dumps(options.status_if_new), dtype=object), None),
            ("tags_active", tags_json, None),
        ],
        n,
    )
    frame = pd.DataFrame(
        {
            "key": holders["an8_text"].to_numpy(dtype=object),
            "email_address": email.to_numpy(dtype=object),
            "status_if_new": options.status_if_new,
            "merge_fields": merge_fields,
            "tags_active": tags_active,
            "tags_inactive": object_lookup([()])[np.zeros(n, dtype=np.int64)],
            "previous_email": None,
            "target_key": email_hashes(email),
            "an8s": holders["group_an8s"].to_numpy(dtype=object),
            "payload_hash": hashes,
            "role_mask": mask,
        }
    )
    if with_trail:
        an8 = holders["an8"].to_numpy(dtype=np.int64)
        # An object lookup, so the trail rows share one str per role set (a str array would make one each).
        roles_text = object_lookup(
            [",".join(r for i, r in enumerate(roles) if m >> i & 1) for m in range(len(sets))]
        )
        trail.insert(
            0, trail_frame(an8, LIST_MEMBER, "email_address", "F01151.EMAL", holders["email_source"], email)
        )
        trail.append(
            trail_frame(an8, LIST_MEMBER, "tags", "roles: F03012, F0101.AT1", roles_text[mask], tags_json)
        )
        trail += segment_trail
    return frame, events, trail


def _with_segment_tags(
    sets: list[tuple[str, ...]], mask: np.ndarray, names: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """(tags_active, their canonical JSON) per row: the role tags of `mask`, then each segment's tag.

    Rows share one tuple and one text per distinct combination (a few hundred), as without segments."""
    keys = pd.DataFrame({"mask": mask, **{f"s{i}": column for i, column in enumerate(names)}})
    codes = keys.groupby(list(keys.columns), sort=False).ngroup().to_numpy()
    combos = [
        sets[int(row[0])] + tuple(name for name in row[1:] if name)
        for row in keys.drop_duplicates().itertuples(index=False)
    ]
    return object_lookup(combos)[codes], np.array([json_list(tags) for tags in combos], dtype=object)[codes]


def customer_payloads(holders: pd.DataFrame, options: MappingOptions, with_trail: bool):
    """(payload frame, events, trail frames) for e-commerce customers."""
    n = len(holders)
    columns, body_fields, events, trail = customer_fields(holders, options, with_trail)
    email = holders["email"]
    hashes = json_object_hashes([*body_fields, ("email_address", json_string(email), None)], n)
    frame = pd.DataFrame(
        {
            "key": holders["an8_text"].to_numpy(dtype=object),
            "customer_id": columns["customer_id"],
            "email_address": email.to_numpy(dtype=object),
            "opt_in_status": np.full(n, options.opt_in_status, dtype=bool),
            "company": columns["company"],
            "first_name": columns["first_name"],
            "last_name": columns["last_name"],
            "address": columns["address"],
            "previous_email": None,
            "target_key": columns["customer_id"],
            "an8s": holders["group_an8s"].to_numpy(dtype=object),
            "payload_hash": hashes,
        }
    )
    if with_trail:
        an8 = holders["an8"].to_numpy(dtype=np.int64)
        trail.insert(
            0,
            trail_frame(
                an8, ECOMMERCE_CUSTOMER, "email_address", "F01151.EMAL", holders["email_source"], email
            ),
        )
    return frame, events, trail


def member_write_fields(row: dict) -> dict:
    """The keyword arguments of `MemberWrite` for one payload row (a dict or a namedtuple's `_asdict()`)."""
    return {
        "key": row["key"],
        "email_address": row["email_address"],
        "status_if_new": row["status_if_new"],
        "merge_fields": json.loads(row["merge_fields"]),
        "tags_active": tuple(row["tags_active"]),
        "tags_inactive": tuple(row["tags_inactive"]),
        "previous_email": row["previous_email"] or None,
        "retires": tuple(row["retires"]),
        "retire_tags": tuple(row["retire_tags"]),
        "an8s": group_an8s(row["an8s"]),
    }


def customer_write_fields(row: dict) -> dict:
    """The keyword arguments of `CustomerWrite` for one payload row."""
    return {
        "key": row["key"],
        "customer_id": row["customer_id"],
        "email_address": row["email_address"],
        "opt_in_status": bool(row["opt_in_status"]),
        "company": row["company"],
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "address": json.loads(row["address"]) if row["address"] else None,
        "previous_email": row["previous_email"] or None,
        "retires": tuple(row["retires"]),
        "an8s": group_an8s(row["an8s"]),
    }


def group_an8s(text: str) -> tuple[int, ...]:
    """The AN8s folded into a record, from the payload's "," joined `an8s`."""
    return tuple(int(a) for a in str(text).split(",") if a)
