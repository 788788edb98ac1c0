"""The Mailchimp step's log line counts written records, not payloads: a failed or refused write keeps its
payload (for the replay and the audit), and a step whose every write failed once said "1 records sent"."""

from __future__ import annotations

import pandas as pd

from jde_mc_pipeline.defs.mailchimp.assets import writes_summary


def test_a_step_whose_every_write_failed_says_none_was_written() -> None:
    sent = pd.DataFrame({"outcome": ["failed"], "payload": [{"email_address": "a@b.org"}]})

    assert writes_summary(sent, 5.0) == "0 of 1 records written in 5.0 s (0/s; 1 failed, 0 refused)"


def test_written_failed_and_refused_are_counted_apart() -> None:
    outcomes = ["created", "updated", "renamed", "left_scope:no_role", "failed", "rejected:Invalid Resource"]
    sent = pd.DataFrame({"outcome": outcomes, "payload": [{}] * len(outcomes)})

    assert writes_summary(sent, 2.0) == "4 of 6 records written in 2.0 s (2/s; 1 failed, 1 refused)"
