"""The job `record_history`: what `jde-mc history` prints, from the Dagster UI (Launchpad config: the AN8
or e-mail, and `live`).

Why an op job that records a materialization of `record_history_report`, not a software-defined asset:
the report answers one question about one party and is no data set other assets build on. As an asset
with required config it would join "Materialize all" (and `--select '*'`) and fail there for want of an
AN8; as an op job it is launched on purpose, and the reports still gather under one key in the asset
catalog (each lookup one materialization, the AN8 or e-mail in its metadata), where a data engineer looks
for the latest answer.

It reads the audit read-only (audit/history.py, either backend) and, with `live`, makes two GETs to
Mailchimp. It is not in the `mailchimp` pool: two reads at a time fit beside a sync's connections
(Mailchimp's cap is 10 per user, the sync uses at most `JDE_MC_MAX_CONNECTIONS`, 8 by default), and a
lookup must not wait for a long sync step. An AN8 or e-mail the audit does not know fails the run with
that message.
"""

import json

import dagster as dg
from pydantic import Field

from jde_mc_pipeline.audit.history import RecordNotFoundError, add_live, record_history
from jde_mc_pipeline.audit.history_text import render
from jde_mc_pipeline.defs.metadata import numbers
from jde_mc_pipeline.defs.resources import AuditStoreResource, MailchimpResource

HISTORY_JOB = "record_history"
REPORT_KEY = dg.AssetKey("record_history_report")


class HistoryConfig(dg.Config):
    """Whose history, and whether to read Mailchimp now."""

    an8_or_email: str = Field(description="an AN8 (digits) or an e-mail address")
    live: bool = Field(
        default=False, description="also read what Mailchimp holds now (GETs only) beside what we last sent"
    )


def build_history_job() -> dg.JobDefinition:
    """The report op and its one-op job (module doc)."""

    @dg.op(
        out=dg.Out(dg.Nothing),
        description="Reads a record's history from the audit (and with live, Mailchimp's record now) and "
        "records it as a materialization of record_history_report.",
        tags={"writes": "none"},
    )
    def record_history_report(
        context: dg.OpExecutionContext,
        config: HistoryConfig,
        audit: AuditStoreResource,
        mailchimp: MailchimpResource,
    ):
        try:
            history = record_history(audit.store(read_only=True), config.an8_or_email)
        except (RecordNotFoundError, ValueError, FileNotFoundError) as error:
            raise dg.Failure(description=str(error), allow_retries=False) from None
        if config.live:
            with mailchimp.client() as client:
                add_live(history, client, mailchimp.list_id, mailchimp.store_id)
        yield dg.AssetMaterialization(asset_key=REPORT_KEY, metadata=metadata(history, config))
        context.log.info(
            f"history of {config.an8_or_email}: AN8 {', '.join(map(str, history['an8s']))}, "
            f"{sum(len(t['outcomes']) for t in history['targets'].values())} outcomes"
        )
        yield dg.Output(None)

    @dg.job(
        name=HISTORY_JOB,
        description="A record's history from the audit (config an8_or_email; live: beside Mailchimp's "
        "record now): last checked and synced, what was sent and answered, every outcome and event. "
        "Writes nothing.",
        tags={"jde_mc/target": "none"},
    )
    def record_history_job() -> None:
        record_history_report()

    return record_history_job


def metadata(history: dict, config: HistoryConfig) -> dict[str, dg.MetadataValue]:
    """The report (the command's text as markdown), the summary per target, and the whole history as JSON."""
    summary: dict[str, dg.MetadataValue] = {
        "asked": dg.MetadataValue.text(config.an8_or_email),
        "an8s": dg.MetadataValue.text(", ".join(map(str, history["an8s"]))),
        "report": dg.MetadataValue.md(f"```text\n{render(history)}\n```"),
        "history": dg.MetadataValue.json(json.loads(json.dumps(history))),
    }
    for target, story in history["targets"].items():
        for moment in ("last_checked", "last_synced"):
            row = story[moment]
            summary[f"{target}_{moment}"] = dg.MetadataValue.text(
                f"{row['at']} run {row['run_id']}: {row['outcome']}" if row else "never"
            )
        summary.update(numbers({f"{target}_outcomes": len(story["outcomes"])}))
        if "live" in story:
            summary.update(
                numbers({f"{target}_live_differences": sum(f["differs"] for f in story["live"]["fields"])})
            )
    return summary
