"""The staged-frame IO manager on a local folder and on fsspec's in-memory filesystem (standing in for
object storage: no rename, no local path), through Dagster runs and directly.

Every test runs in an empty working directory: the local folder is the relative `staging` (relative paths
stay relative to it), and a memory:// test asserts that the directory stays empty and that the memory
filesystem holds the files, so it cannot pass by writing to the local disk.
"""

import datetime as dt
import os
import pickle
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import fsspec
import pandas as pd
import pytest
import time_machine
from upath import UPath

from jde_mc_pipeline.defs.staged_files import is_local, modified_at
from jde_mc_pipeline.defs.staging import StagedFrameIOManager, StagingError
from jde_mc_pipeline.settings.environment import SettingsError, from_env

START = dt.date(2026, 3, 1)
PARTITIONS = dg.DailyPartitionsDefinition(start_date=START.isoformat())
KEY = dg.AssetKey(["jde", "F0101"])


def day(n: int) -> str:
    return (START + dt.timedelta(days=n)).isoformat()


@dataclass
class Storage:
    """Where a test stages its frames (`base`: what JDE_MC_STAGING_DIR would say), and what it holds."""

    kind: str
    base: str
    workdir: Path

    def files(self) -> list[str]:
        """The staged files, relative to the base, asked of the storage itself (not of the IO manager)."""
        if self.kind == "local":
            root = self.workdir / self.base
            return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        root = UPath(self.base).path
        return sorted(name.removeprefix(root + "/") for name in fsspec.filesystem("memory").find(root))

    def read(self, relative: str) -> pd.DataFrame:
        """A staged frame, read with fsspec from where the base says."""
        with fsspec.open(f"{self.base}/{relative}", "rb") as handle:
            return pickle.load(handle)

    def backdate(self, relative: str, hours: float) -> None:
        """Make a staged file look written `hours` ago: its mtime on a local disk; on the memory
        filesystem (whose times are the clock's when a file is written), the same bytes written again
        while the clock reads that time."""
        then = time.time() - hours * 3600
        if self.kind == "local":
            os.utime(self.workdir / self.base / relative, (then, then))
            return
        memory, path = fsspec.filesystem("memory"), f"{UPath(self.base).path}/{relative}"
        data = memory.cat_file(path)
        with time_machine.travel(dt.datetime.fromtimestamp(then, dt.UTC), tick=False):
            memory.pipe_file(path, data)


@pytest.fixture(params=["local", "memory"])
def storage(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Storage]:
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    if request.param == "local":
        yield Storage("local", "staging", workdir)
        return
    storage = Storage("memory", f"memory://staging-tests/{uuid.uuid4().hex}", workdir)
    yield storage
    assert list(workdir.iterdir()) == [], "a memory:// test wrote to the working directory"
    memory, root = fsspec.filesystem("memory"), UPath(storage.base).path
    if memory.exists(root):
        memory.rm(root, recursive=True)


class _Manager:
    """The IO manager driven through contexts built by Dagster's own test helpers."""

    def __init__(self, storage: Storage, **settings: float) -> None:
        self.io = StagedFrameIOManager(base_dir=storage.base, **settings)

    def store(self, frame: pd.DataFrame, keys: list[str], run_id: str = "run-1") -> None:
        context = dg.build_output_context(
            run_id=run_id,
            asset_key=KEY,
            asset_partitions_def=PARTITIONS,
            asset_partition_key_range=dg.PartitionKeyRange(keys[0], keys[-1]),
        )
        self.io.handle_output(context, frame)

    def load(self, keys: list[str], producer: str | None = None) -> pd.DataFrame:
        upstream = None if producer is None else dg.build_output_context(run_id=producer, asset_key=KEY)
        context = dg.build_input_context(
            upstream_output=upstream,
            asset_key=KEY,
            asset_partitions_def=PARTITIONS,
            asset_partition_key_range=dg.PartitionKeyRange(keys[0], keys[-1]),
        )
        return self.io.load_input(context)


def _rows(an8s: list[int], keys: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"AN8": pd.array(an8s, dtype="Int64"), "partition_key": keys})


def test_frames_are_staged_per_partition_and_loaded_by_range(storage: Storage) -> None:
    manager = _Manager(storage)
    keys = [day(n) for n in range(3)]

    manager.store(_rows([1, 2, 3], [keys[0], keys[2], keys[0]]), keys)

    assert storage.files() == [f"jde/F0101/{k}/run-1.pkl" for k in keys]
    middle = manager.load([keys[1]])
    assert middle.empty and list(middle.columns) == ["AN8", "partition_key"]
    assert middle["AN8"].dtype == "Int64"
    both = manager.load(keys)
    assert sorted(both["AN8"].tolist()) == [1, 2, 3] and both["AN8"].dtype == "Int64"
    assert manager.load([keys[2]])["AN8"].tolist() == [2]


def test_staging_refuses_rows_of_other_partitions_and_reports_missing_files(storage: Storage) -> None:
    manager = _Manager(storage)
    with pytest.raises(StagingError, match="outside this step"):
        manager.store(_rows([1], [day(9)]), [day(0)])
    with pytest.raises(StagingError, match="no partition_key column"):
        manager.store(pd.DataFrame({"AN8": [1]}), [day(0)])
    assert storage.files() == []
    where = re.escape(f"partition {day(4)} ({storage.base}/jde/F0101/{day(4)}): materialize it")
    with pytest.raises(StagingError, match=where):
        manager.load([day(4)])


def test_a_frame_that_cannot_be_pickled_leaves_no_file(storage: Storage) -> None:
    manager = _Manager(storage)
    frame = _rows([1], [day(0)]).assign(handle=[lambda: None])

    with pytest.raises(Exception, match=r"[Pp]ickle"):
        manager.store(frame, [day(0)])

    assert storage.files() == []


def test_a_run_reads_its_own_frames_while_another_run_stages_the_same_partition(storage: Storage) -> None:
    manager = _Manager(storage)
    key = [day(0)]
    manager.store(_rows([1], key), key, run_id="sensor-run")
    manager.store(_rows([2], key), key, run_id="schedule-run")

    assert manager.load(key, producer="sensor-run")["AN8"].tolist() == [1]  # not the newer file
    assert manager.load(key, producer="schedule-run")["AN8"].tolist() == [2]
    assert manager.load(key, producer="a-run-that-staged-nothing")["AN8"].tolist() == [2]  # the newest
    storage.backdate(f"jde/F0101/{key[0]}/schedule-run.pkl", hours=1)
    assert manager.load(key)["AN8"].tolist() == [1]  # by time, not by name


def test_old_runs_files_are_pruned_when_the_partition_is_written_again(storage: Storage) -> None:
    manager = _Manager(storage, keep_hours=1)
    key = [day(0)]
    manager.store(_rows([1], key), key, run_id="old")
    manager.store(_rows([2], key), key, run_id="recent")
    storage.backdate(f"jde/F0101/{key[0]}/old.pkl", hours=2)
    storage.backdate(f"jde/F0101/{key[0]}/recent.pkl", hours=0.5)

    manager.store(_rows([3], key), key, run_id="new")

    assert storage.files() == [f"jde/F0101/{key[0]}/new.pkl", f"jde/F0101/{key[0]}/recent.pkl"]


@dg.asset(
    key=KEY,
    partitions_def=PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    io_manager_key="staging",
)
def staged_parties(context: dg.AssetExecutionContext) -> pd.DataFrame:
    """A party in the first and last partitions of the run (numbered by the day), none in those between,
    tagged with the run."""
    ends = sorted({context.partition_keys[0], context.partition_keys[-1]})
    return _rows([int(key[-2:]) for key in ends], ends).assign(run=context.run.run_id)


@dg.asset(
    partitions_def=PARTITIONS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    io_manager_key="staging",
    ins={"parties": dg.AssetIn(key=KEY)},
)
def mapped_parties(parties: pd.DataFrame) -> pd.DataFrame:
    return parties.assign(AN8=parties["AN8"] * 10)


def _range_tags(first: str, last: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def test_a_run_over_a_partition_range_stages_each_partition_and_the_next_step_loads_them(
    storage: Storage,
) -> None:
    resources = {"staging": from_env(StagedFrameIOManager, {"JDE_MC_STAGING_DIR": storage.base})}
    keys = [day(n) for n in range(3)]

    result = dg.materialize(
        [staged_parties, mapped_parties], resources=resources, tags=_range_tags(keys[0], keys[-1])
    )

    run = result.run_id
    mapped = result.output_for_node("mapped_parties")
    assert mapped[["AN8", "partition_key"]].to_dict("list") == {
        "AN8": [10, 30],
        "partition_key": [keys[0], keys[-1]],
    }
    assert set(mapped["run"]) == {run}
    assert storage.files() == sorted(
        [f"jde/F0101/{k}/{run}.pkl" for k in keys] + [f"mapped_parties/{k}/{run}.pkl" for k in keys]
    )
    events = result.asset_materializations_for_node("jde__F0101")
    assert sorted(e.partition for e in events) == keys
    where = events[0].metadata["staged_files"]
    expected_type = dg.PathMetadataValue if storage.kind == "local" else dg.UrlMetadataValue
    assert isinstance(where, expected_type) and where.value == f"{storage.base}/jde/F0101"

    later = dg.materialize(
        [staged_parties, mapped_parties], resources=resources, partition_key=keys[1], selection=[KEY]
    )
    alone = dg.materialize(
        [staged_parties, mapped_parties],
        resources=resources,
        tags=_range_tags(keys[0], keys[1]),
        selection=["mapped_parties"],
    )
    assert alone.output_for_node("mapped_parties")[["AN8", "run"]].to_dict("list") == {
        "AN8": [10, 20],
        "run": [run, later.run_id],  # each partition's newest file: no run of this step staged F0101
    }


def staging_job() -> dg.JobDefinition:
    """The two assets as a job staging where JDE_MC_STAGING_DIR says (a re-execution needs a job that
    Dagster can rebuild), its steps in the test's process (where the memory filesystem is)."""
    job = dg.define_asset_job("staging_job", executor_def=dg.in_process_executor)
    defs = dg.Definitions(
        assets=[staged_parties, mapped_parties],
        jobs=[job],
        resources={"staging": from_env(StagedFrameIOManager)},
    )
    return defs.resolve_job_def("staging_job")


def test_a_reexecution_reads_its_parent_runs_frames_not_a_newer_runs(
    storage: Storage, monkeypatch: pytest.MonkeyPatch, dagster_instance: dg.DagsterInstance
) -> None:
    monkeypatch.setenv("JDE_MC_STAGING_DIR", storage.base)
    job, tags = dg.reconstructable(staging_job), {"dagster/partition": day(0)}
    with dg.execute_job(job, dagster_instance, tags=tags) as parent:
        assert parent.success
    with dg.execute_job(job, dagster_instance, tags=tags, asset_selection=[KEY]) as newer:
        assert newer.success

    options = dg.ReexecutionOptions(parent_run_id=parent.run_id, step_selection=["mapped_parties"])
    with dg.execute_job(job, dagster_instance, tags=tags, reexecution_options=options) as again:
        assert again.success
    read_again = storage.read(f"mapped_parties/{day(0)}/{again.run_id}.pkl")
    assert read_again["run"].tolist() == [parent.run_id]

    assert storage.files() == sorted(
        [f"jde/F0101/{day(0)}/{parent.run_id}.pkl", f"jde/F0101/{day(0)}/{newer.run_id}.pkl"]
        + [f"mapped_parties/{day(0)}/{run}.pkl" for run in (parent.run_id, again.run_id)]
    )


def test_the_filesystem_decides_how_a_file_is_written() -> None:
    """A rename where the filesystem is local, one whole PUT elsewhere (staged_files.py)."""
    assert all(is_local(UPath(base)) for base in ("staging", "/mnt/shared/staging", "file:///mnt/staging"))
    assert not is_local(UPath("memory://staging"))


def test_the_location_and_its_options_are_read_from_the_environment() -> None:
    env = {
        "JDE_MC_STAGING_DIR": "s3://bucket/jde-mc/staging",
        "JDE_MC_STAGING_STORAGE_OPTIONS": '{"endpoint_url": "https://minio:9000", "anon": false}',
    }
    staging = from_env(StagedFrameIOManager, env)

    assert staging.base_dir == "s3://bucket/jde-mc/staging"
    assert staging.storage_options == {"endpoint_url": "https://minio:9000", "anon": False}
    assert from_env(StagedFrameIOManager, {}).storage_options == {}
    with pytest.raises(SettingsError, match="JDE_MC_STAGING_STORAGE_OPTIONS: Value error, not valid JSON"):
        from_env(StagedFrameIOManager, {"JDE_MC_STAGING_STORAGE_OPTIONS": "endpoint_url=x"})


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("JDE_MC_STAGING_STORAGE_OPTIONS", '{"key": "AKIAEXAMPLE", "secret": "s3cret-value"}', "key, secret"),
        (
            "JDE_MC_STAGING_STORAGE_OPTIONS",
            '{"client_kwargs": {"aws_secret_access_key": "s3cret-value"}}',
            "client_kwargs.aws_secret_access_key",
        ),
        ("JDE_MC_STAGING_STORAGE_OPTIONS", '{"account_name": "a", "sas_token": "s3cret-value"}', "sas_token"),
        ("JDE_MC_STAGING_DIR", "sftp://jde:s3cret-value@files.example/staging", "the URL holds a password"),
    ],
)
def test_credentials_are_refused_in_the_settings_without_quoting_them(
    variable: str, value: str, named: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        from_env(StagedFrameIOManager, {variable: value})

    assert named in str(caught.value) and variable in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_every_stores_modification_time_is_read() -> None:
    moment = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)
    assert modified_at({"mtime": moment.timestamp(), "created": 0.0}) == moment.timestamp()  # local
    assert modified_at({"LastModified": moment}) == moment.timestamp()  # s3fs
    assert modified_at({"last_modified": moment.replace(tzinfo=None)}) == moment.timestamp()  # adlfs
    assert modified_at({"updated": "2026-06-15T12:00:00.000Z"}) == moment.timestamp()  # gcsfs
    assert modified_at({"created": moment.timestamp()}) == moment.timestamp()  # memory
    assert modified_at({"updated": "yesterday"}) is None and modified_at({"size": 3}) is None
