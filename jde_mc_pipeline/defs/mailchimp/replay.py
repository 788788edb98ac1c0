"""The job `mailchimp_replay`: send again the recorded payloads of `failed` Mailchimp writes.

A `failed` outcome is a write that met transient trouble past the client's retries (Mailchimp down,
timeouts); its payload is in the audit store, so the replay needs neither JDE nor the mapping
(`sync/replay.py replay_failures` does the work and explains the rules). Config `run_id` picks the
failures of one run; without it every unresolved failure is replayed. Running it twice is harmless: the
second run finds nothing left to send.

It is an op job, not an asset: it fixes Mailchimp for earlier partitions' runs and produces no new data
set. Its op is in the `mailchimp` pool, like the sync's Mailchimp steps, so a replay never adds to the
connections of a running sync. The op and the job are made by `build_replay_job` (nothing at module
level: the definitions are built when the code location loads).
"""

import dagster as dg
import pandas as pd
from pydantic import Field

from jde_mc_pipeline.defs import MAILCHIMP_POOL
from jde_mc_pipeline.defs.metadata import numbers, sample
from jde_mc_pipeline.defs.resources import (
    AuditStoreResource,
    JdeAisResource,
    MailchimpResource,
    SyncSettingsResource,
)
from jde_mc_pipeline.mapping.outcomes import FAILED
from jde_mc_pipeline.settings.connector import settings_for
from jde_mc_pipeline.sync.replay import REPLAY_JOB, replay_failures


class ReplayConfig(dg.Config):
    """Which failures to replay."""

    run_id: str | None = Field(
        default=None, description="replay the failures of this run only; empty: every unresolved failure"
    )


def summary(replayed: pd.DataFrame) -> dict[str, dg.MetadataValue]:
    """What the replay fixed, for the run's metadata: counts per outcome and a sample of rows."""
    resolved = replayed.loc[replayed["resolved"].astype(bool)]
    counts = replayed.groupby(["target", "outcome"]).size() if len(replayed) else pd.Series(dtype=int)
    columns = ["replayed_run_id", "an8", "target", "target_key", "outcome", "reason"]
    return {
        **numbers(
            {
                "replayed": len(replayed),
                "resolved": len(resolved),
                "still_failed": int((replayed["outcome"] == FAILED).sum()),
            }
        ),
        "runs_fixed": dg.MetadataValue.json(sorted(resolved["replayed_run_id"].unique().tolist())),
        "outcomes": dg.MetadataValue.json({f"{t}:{o}": int(n) for (t, o), n in counts.items()}),
        "sample": sample(replayed.loc[:, columns]),
    }


def build_replay_job() -> dg.JobDefinition:
    """The replay op in the `mailchimp` pool and its one-op job (module doc)."""

    @dg.op(
        pool=MAILCHIMP_POOL,
        out=dg.Out(dg.Nothing),
        description="Re-sends the recorded payloads of unresolved failed writes and marks the ones it fixed.",
    )
    def replay_mailchimp_failures(
        context: dg.OpExecutionContext,
        config: ReplayConfig,
        jde: JdeAisResource,
        mailchimp: MailchimpResource,
        audit: AuditStoreResource,
        sync_settings: SyncSettingsResource,
    ) -> dg.Output[None]:
        store = audit.store()
        settings = settings_for(sync_settings, mailchimp, jde.timezone)
        with mailchimp.client() as client:
            replayed = replay_failures(
                store, client, settings, run_id=config.run_id, replay_run_id=context.run_id
            )
        metadata = summary(replayed)
        scope = f"run {config.run_id}" if config.run_id else "every run"
        context.log.info(
            f"replayed {len(replayed)} failed writes of {scope}: {metadata['resolved'].value} resolved, "
            f"{metadata['still_failed'].value} failed again"
        )
        return dg.Output(None, metadata=metadata)

    @dg.job(
        name=REPLAY_JOB,
        description="Re-sends the payloads of failed Mailchimp writes (config run_id: one run; empty: all "
        "unresolved) and records the new attempts; idempotent.",
        tags={"jde_mc/target": "mailchimp"},
    )
    def mailchimp_replay() -> None:
        replay_mailchimp_failures()

    return mailchimp_replay
