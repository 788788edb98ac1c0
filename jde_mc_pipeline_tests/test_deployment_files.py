"""The deployment's files (Dockerfile, deploy/), checked where no Docker engine, compose, helm or cluster
runs: each file parses, Dagster accepts the instance (on a real PostgreSQL), and the files agree with the
code and with each other.

What they must agree on: the variables handed to the containers are settings the code reads (the settings
models, as defs/settings_docs.py lists them) or Dagster's `DAGSTER_*`, and the required settings are all
there; the names the run launcher uses (network, volume, staging folder) are the ones compose creates; the
webserver's workspace, the image's command, the compose health check and the Helm chart name one module
and one port; the run queue, pools and run retries are the single-machine dagster.yaml's; the image runs as
a user, installs the lock, and the README shows its install lines; the lock holds pyproject's exact pins.
None of this builds or starts anything (docs/deployment.md, "What was checked here and what was not").
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest
import yaml
from dagster._core.instance.config import dagster_instance_config
from dagster._core.utils import parse_env_var
from dagster_docker import DockerRunLauncher

from jde_mc_pipeline.defs.settings_docs import settings
from jde_mc_pipeline.settings.environment import SECRETS
from jde_mc_pipeline_tests.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = DEPLOY / "docker-compose.yaml"
HELM_VALUES = DEPLOY / "helm" / "values.yaml"
YAML_FILES = [ROOT / "dagster.yaml", *sorted(DEPLOY.rglob("*.yaml"))]

SETTINGS = {s.variable: s for s in settings()}
REQUIRED = {name for name, s in SETTINGS.items() if s.field.is_required()}
SECRET_VARIABLES = {name for part in SECRETS.values() for name in part.values()} | {"JDE_MC_AUDIT_URL"}
"""The credentials, and the audit URL (it carries a password): from a secret store, never as a value."""
IMAGE_SERVICES = ("audit-upgrade", "jde_mc_code", "dagster-webserver", "dagster-daemon")
"""The compose services that run the project's image; `postgresql` runs the official image."""
SETTINGS_SERVICES = ("audit-upgrade", "jde_mc_code", "dagster-daemon")
"""The services that read the settings: the upgrade, the definitions, and the daemon handing them to runs."""


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _env_references(node: Any) -> Iterator[str]:
    """Every `{env: NAME}` of a Dagster config tree."""
    if isinstance(node, dict):
        if set(node) == {"env"}:
            yield node["env"]
        for value in node.values():
            yield from _env_references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _env_references(value)


INSTANCE = _yaml(DEPLOY / "dagster.yaml")
ROOT_INSTANCE = _yaml(ROOT / "dagster.yaml")
INSTANCE_VARIABLES = set(_env_references(INSTANCE["storage"]))
LAUNCHER = INSTANCE["run_launcher"]["config"]
COMPOSE_FILE = _yaml(COMPOSE)
SERVICES = COMPOSE_FILE["services"]
HELM = _yaml(HELM_VALUES)
[CODE_DEPLOYMENT] = HELM["dagster-user-deployments"]["deployments"]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _is_passable(name: str) -> bool:
    """A variable the containers may be given: a setting, or Dagster's own."""
    return name in SETTINGS or name.startswith("DAGSTER_")


_REFERENCE = re.compile(r"\$\{(\w+)(?::?([?-])([^}]*))?\}")


def _interpolated(value: str, env_file: Mapping[str, str]) -> str:
    """A compose value with `${NAME}`, `${NAME:-default}` and `${NAME:?error}` resolved from `env_file`, as
    compose resolves them (an unset or empty NAME takes the default, or stops compose with the error)."""

    def resolve(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if env_file.get(name):
            return env_file[name]
        if kind == "?":
            raise LookupError(f"compose stops: {rest}")
        return rest or ""

    return _REFERENCE.sub(resolve, str(value)).replace("$$", "$")


def _env_file_with(names: set[str]) -> dict[str, str]:
    """An env file that sets only `names` (each to a sample value) and what compose needs besides."""
    return {name: f"sample-{name.lower()}" for name in names | {"DOCKER_GID"}}


def _dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            found.append((keyword.upper(), " ".join(arguments.split())))
    return found


def _instructions(keyword: str) -> list[str]:
    return [arguments for found, arguments in _dockerfile() if found == keyword]


def _image_command() -> list[str]:
    [command] = _instructions("CMD")
    return yaml.safe_load(command)  # the exec form is a JSON array, and JSON is YAML


def _option(arguments: list[str], flag: str) -> str:
    return arguments[arguments.index(flag) + 1]


def _compose_settings(service: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in (SERVICES[service].get("environment") or {}).items()}


def _helm_env() -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in CODE_DEPLOYMENT["env"]}


def _snake(key: str) -> str:
    return re.sub(r"(?<=[a-z])([A-Z])", r"_\1", key).lower()


def _snake_keys(node: Any) -> Any:
    """Helm's camelCase values as the dagster.yaml keys the chart renders them to."""
    if isinstance(node, dict):
        return {_snake(key): _snake_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_snake_keys(value) for value in node]
    return node


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_yaml_file_parses_to_a_mapping(path: Path) -> None:
    assert isinstance(_yaml(path), dict)


def test_the_instance_passes_dagsters_schema_with_the_single_machine_limits() -> None:
    config, custom_class = dagster_instance_config(str(DEPLOY))
    assert custom_class is None
    assert set(config["storage"]) == {"postgres"}
    variables = sorted(INSTANCE_VARIABLES)
    assert variables == [f"DAGSTER_POSTGRES_{part}" for part in ("DB", "HOST", "PASSWORD", "PORT", "USER")]
    for block in ("concurrency", "run_retries", "python_logs", "telemetry"):
        assert INSTANCE[block] == ROOT_INSTANCE[block], block
    assert config["run_retries"] == {"enabled": True, "max_retries": 2, "retry_on_asset_or_op_failure": False}
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"] and monitoring["max_resume_run_attempts"] == 0
    assert (
        monitoring["free_slots_after_run_end_seconds"]
        == ROOT_INSTANCE["run_monitoring"]["free_slots_after_run_end_seconds"]
    )
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"


def test_the_instance_records_a_run_in_postgresql(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """deploy/dagster.yaml as a real instance: its storage on a fresh database, a run executed and read
    back; its Docker run launcher built (it needs no Docker engine until it launches)."""
    postgres_server.create_database("deploy_instance")
    for name, value in postgres_server.dagster_env("deploy_instance").items():
        monkeypatch.setenv(name, value)
    shutil.copy(DEPLOY / "dagster.yaml", tmp_path / "dagster.yaml")

    @dg.asset
    def one() -> int:
        return 1

    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        launcher = instance.run_launcher
        assert isinstance(launcher, DockerRunLauncher)
        assert launcher.networks == [LAUNCHER["network"]]
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert not instance.run_retries_retry_on_asset_or_op_failure
        result = dg.materialize([one], instance=instance)
        assert result.success
        [record] = instance.get_run_records()
        assert record.dagster_run.run_id == result.run_id
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        assert instance.get_latest_materialization_event(dg.AssetKey("one")) is not None


def test_the_audit_upgrade_service_creates_the_audit_in_the_database_postgres_init_makes(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """postgres-init.sql as the postgres image runs it on a new volume, then the `audit-upgrade` service's
    command with the service's environment (the audit URL naming that database): exit 0, no password
    printed."""
    init_sql = (DEPLOY / "postgres-init.sql").read_text(encoding="utf-8")
    [database] = re.findall(r"CREATE DATABASE (\w+);", init_sql)
    with psycopg.connect(postgres_server.url(), autocommit=True) as connection:
        connection.execute(init_sql)
    env_file = _env_file_with(REQUIRED | INSTANCE_VARIABLES) | {
        "JDE_MC_AUDIT_URL": postgres_server.url(database)
    }
    service_env = {
        name: _interpolated(value, env_file) for name, value in _compose_settings("audit-upgrade").items()
    }
    command = SERVICES["audit-upgrade"]["command"]
    executable = Path(sys.executable).parent / command[0]
    done = subprocess.run(
        [str(executable), *command[1:]],
        env={**os.environ, **service_env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"/{database}: audit schema version" in done.stdout
    assert postgres_server.password not in done.stdout + done.stderr


def test_run_containers_are_handed_every_setting_and_the_instance() -> None:
    assert set(LAUNCHER["env_vars"]) == set(SETTINGS) | INSTANCE_VARIABLES
    assert len(LAUNCHER["env_vars"]) == len(set(LAUNCHER["env_vars"]))


def test_compose_passes_only_settings_and_every_setting_to_the_services_that_read_them() -> None:
    for service in IMAGE_SERVICES:
        stray = sorted(name for name in _compose_settings(service) if not _is_passable(name))
        assert stray == [], service
    for service in SETTINGS_SERVICES:
        assert set(_compose_settings(service)) >= set(SETTINGS) | INSTANCE_VARIABLES, service
    assert set(_compose_settings("dagster-webserver")) >= INSTANCE_VARIABLES


@pytest.mark.parametrize("missing", sorted(REQUIRED | {"JDE_MC_AUDIT_URL", "DAGSTER_POSTGRES_PASSWORD"}))
def test_compose_stops_when_a_required_setting_is_missing(missing: str) -> None:
    env_file = _env_file_with((REQUIRED | SECRET_VARIABLES | INSTANCE_VARIABLES) - {missing})
    with pytest.raises(LookupError, match=missing):
        for value in _compose_settings("dagster-daemon").values():
            _interpolated(value, env_file)


def test_the_daemon_can_hand_run_containers_every_variable_with_only_the_required_ones_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The Docker run launcher takes each of its variables from the daemon's environment and refuses to
    launch when one is missing: compose sets them all, blank when the env file leaves them out."""
    env_file = _env_file_with(
        REQUIRED | SECRET_VARIABLES | {"DAGSTER_POSTGRES_USER", "DAGSTER_POSTGRES_PASSWORD"}
    )
    daemon_env = {
        name: _interpolated(value, env_file) for name, value in _compose_settings("dagster-daemon").items()
    }
    for name in set(LAUNCHER["env_vars"]):
        monkeypatch.delenv(name, raising=False)
    for name, value in daemon_env.items():
        monkeypatch.setenv(name, value)
    launcher = DockerRunLauncher(**LAUNCHER)
    handed = dict(parse_env_var(name) for name in launcher.env_vars)
    assert set(handed) == set(LAUNCHER["env_vars"])
    assert all(handed[name] for name in REQUIRED)
    assert handed["DAGSTER_POSTGRES_HOST"] == "postgresql"


def test_compose_services_name_only_what_the_file_defines() -> None:
    networks, volumes = set(COMPOSE_FILE["networks"]), set(COMPOSE_FILE["volumes"])
    built = {spec["image"] for spec in SERVICES.values() if "build" in spec}
    assert built == {SERVICES["jde_mc_code"]["image"]}
    for name, spec in SERVICES.items():
        assert set(spec.get("networks", [])) <= networks, name
        assert set(spec.get("depends_on", {})) <= set(SERVICES), name
        for mount in spec.get("volumes", []):
            source = mount.split(":")[0]
            assert source.startswith(("/", ".")) or source in volumes, (name, mount)
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), (name, mount)
        if name in IMAGE_SERVICES:
            assert spec["image"] in built, name
            assert "build" in spec or spec.get("pull_policy") == "never", name
        else:
            assert re.fullmatch(r"[\w./-]+:[\w.-]+", spec["image"]), name
    assert (COMPOSE.parent / SERVICES["jde_mc_code"]["build"]["context"] / "Dockerfile").exists()


def test_the_run_launcher_names_the_network_volume_and_folder_compose_creates() -> None:
    assert LAUNCHER["network"] == COMPOSE_FILE["networks"]["jde_mc"]["name"]
    [mount] = LAUNCHER["container_kwargs"]["volumes"]
    volume, folder = mount.split(":")
    assert volume == COMPOSE_FILE["volumes"]["staging"]["name"]
    assert f"staging:{folder}" in SERVICES["jde_mc_code"]["volumes"]
    for service in SETTINGS_SERVICES:
        assert _compose_settings(service)["JDE_MC_STAGING_DIR"] == folder, service
    assert _helm_env()["JDE_MC_STAGING_DIR"]["value"] == folder
    assert [m["mountPath"] for m in CODE_DEPLOYMENT["volumeMounts"]] == [folder]


_BINARY_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "ki": 2**10, "mi": 2**20, "gi": 2**30}


def _bytes(quantity: str) -> int:
    """A Docker (`2g`, binary) or Kubernetes (`2Gi`) memory quantity in bytes."""
    number, unit = re.fullmatch(r"(\d+)([a-zA-Z]*)", str(quantity)).groups()  # type: ignore[union-attr]
    return int(number) * _BINARY_UNITS[unit.lower()]


def test_a_run_has_the_same_memory_limit_in_docker_and_on_kubernetes() -> None:
    """One sizing (docs/deployment.md, Memory of a run): the Helm run pods' limit is the Docker run
    containers' `mem_limit`, and what a pod requests fits in it."""
    run_pods = HELM["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]
    resources = run_pods["containerConfig"]["resources"]
    limit = _bytes(resources["limits"]["memory"])
    assert limit == _bytes(LAUNCHER["container_kwargs"]["mem_limit"]) == 2 * 2**30
    assert 0 < _bytes(resources["requests"]["memory"]) <= limit


def test_the_webserver_and_daemon_load_the_code_location_where_it_serves() -> None:
    [entry] = _yaml(DEPLOY / "workspace.yaml")["load_from"]
    server = entry["grpc_server"]
    assert server["host"] in SERVICES and "build" in SERVICES[server["host"]]
    assert str(server["port"]) == _option(_image_command(), "-p")
    assert server["location_name"] == PYPROJECT["tool"]["dagster"]["code_location_name"]
    workdir = _instructions("WORKDIR")[-1]
    copied = [arguments.split() for arguments in _instructions("COPY")]
    assert ["deploy/workspace.yaml", "deploy/workspace.yaml"] in copied
    for service in ("dagster-webserver", "dagster-daemon"):
        assert _option(SERVICES[service]["command"], "-w") == f"{workdir}/deploy/workspace.yaml", service


def test_the_image_serves_the_code_location_on_one_port_everywhere() -> None:
    command = _image_command()
    port, module = _option(command, "-p"), _option(command, "-m")
    assert command[:3] == ["dagster", "code-server", "start"]
    assert _instructions("EXPOSE") == [port]
    assert module == PYPROJECT["tool"]["dagster"]["module_name"]
    health = SERVICES["jde_mc_code"]["healthcheck"]["test"]
    assert _option(health, "-p") == port
    assert str(CODE_DEPLOYMENT["port"]) == port
    assert CODE_DEPLOYMENT["codeServerArgs"] == ["-m", module]


def test_the_module_the_image_serves_imports() -> None:
    module = _option(_image_command(), "-m")
    env = {**os.environ, "JDE_START_DATE": "2026-01-01"}
    script = f"import importlib; assert hasattr(importlib.import_module({module!r}), 'defs')"
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_image_runs_as_a_user_and_lets_every_caller_replace_its_command() -> None:
    """No ENTRYPOINT: compose, the Docker run launcher and the Helm chart each give the image a command of
    their own, which would be appended to an entrypoint."""
    keywords = [keyword for keyword, _ in _dockerfile()]
    users = _instructions("USER")
    assert users and users[-1] not in {"root", "0", "0:0"}
    assert keywords.index("USER") < keywords.index("CMD")
    assert "ENTRYPOINT" not in keywords
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", _instructions("FROM")[0])


def test_the_readme_shows_the_images_install_lines() -> None:
    installs = [arguments for arguments in _instructions("RUN") if arguments.startswith("pip install")]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n## Deploying past one machine\n" in readme
    section = readme.split("\n## Deploying past one machine\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    shown = [" ".join(shlex.split(line)) for line in block.splitlines() if line.strip()]
    assert shown == [" ".join(shlex.split(line)) for line in installs]
    assert any("-r deploy/requirements.lock" in line for line in installs)
    assert readme.index("## Deploying past one machine") < readme.index("## Code layout")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_the_lock_holds_every_exact_pin_of_pyproject() -> None:
    lines = [line for line in (DEPLOY / "requirements.lock").read_text().splitlines() if line.strip()]
    pins = [line for line in lines if not line.startswith("#")]
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]+==[\w.+!-]+", pin) for pin in pins), "only name==version lines"
    locked = {_canonical(name): version for name, _, version in (pin.partition("==") for pin in pins)}
    project = PYPROJECT["project"]
    exact = [
        requirement
        for requirement in [*project["dependencies"], *project["optional-dependencies"]["deploy"]]
        if "==" in requirement
    ]
    assert len(exact) >= 5
    for requirement in exact:
        name, _, version = requirement.partition("==")
        assert locked.get(_canonical(name.split("[")[0])) == version, requirement


def test_helm_gives_the_code_location_and_its_runs_only_settings_and_every_required_one() -> None:
    env = _helm_env()
    assert sorted(name for name in env if not _is_passable(name)) == []
    assert set(env) >= REQUIRED | {"JDE_MC_AUDIT_URL", "JDE_MC_STAGING_DIR"}
    for name in SECRET_VARIABLES:
        assert "value" not in env[name] and env[name]["valueFrom"]["secretKeyRef"]["key"] == name, name
    assert CODE_DEPLOYMENT["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert HELM["runLauncher"]["type"] == "K8sRunLauncher"
    assert HELM["postgresql"]["postgresqlScheme"] == INSTANCE["storage"]["postgres"]["postgres_db"]["scheme"]


def test_helm_runs_the_queue_retries_and_monitoring_of_the_instance() -> None:
    daemon = HELM["dagsterDaemon"]
    assert _snake_keys(daemon["runRetries"]) == ROOT_INSTANCE["run_retries"]
    assert _snake_keys(daemon["runMonitoring"]) == INSTANCE["run_monitoring"]
    concurrency = {key: value for key, value in HELM["concurrency"].items() if key != "enabled"}
    assert HELM["concurrency"]["enabled"] is True
    assert _snake_keys(concurrency) == ROOT_INSTANCE["concurrency"]
    assert daemon["runCoordinator"] == {"enabled": True, "type": "QueuedRunCoordinator"}
    assert _snake_keys(HELM["pythonLogs"]) == ROOT_INSTANCE["python_logs"]


CHART_KEYS = {
    "global.postgresqlSecretName",
    "telemetry.enabled",
    "pythonLogs.pythonLogLevel",
    "pythonLogs.managedPythonLoggers",
    "dagster-user-deployments.enabled",
    *(
        f"dagster-user-deployments.deployments[].{key}"
        for key in (
            "name",
            "image",
            "codeServerArgs",
            "port",
            "includeConfigInLaunchedRuns",
            "env",
            "volumes",
            "volumeMounts",
            "podSecurityContext",
        )
    ),
    "runLauncher.type",
    "runLauncher.config.k8sRunLauncher.runK8sConfig.podSpecConfig",
    "runLauncher.config.k8sRunLauncher.runK8sConfig.containerConfig",
    "generatePostgresqlPasswordSecret",
    *(
        f"postgresql.{key}"
        for key in (
            "enabled",
            "postgresqlHost",
            "postgresqlUsername",
            "postgresqlDatabase",
            "postgresqlScheme",
        )
    ),
    "postgresql.service.port",
    "dagsterDaemon.runCoordinator.enabled",
    "dagsterDaemon.runCoordinator.type",
    "dagsterDaemon.runMonitoring",
    "dagsterDaemon.runRetries.enabled",
    "dagsterDaemon.runRetries.maxRetries",
    "dagsterDaemon.runRetries.retryOnAssetOrOpFailure",
    "concurrency.enabled",
    "concurrency.runs.maxConcurrentRuns",
    "concurrency.runs.tagConcurrencyLimits",
    "concurrency.pools.defaultLimit",
    "concurrency.pools.granularity",
}
"""The chart's keys the values set, as read in the chart's sources (dagster-io/dagster, helm/dagster:
values.yaml and schema/schema/charts/…: values.py, global_.py, python_logs.py, telemetry.py, postgresql.py,
daemon.py, run_launcher.py, concurrency.py, user_deployments.py). A key ends where the chart takes a
Kubernetes object or a free mapping (env entries, volumes, the pod spec, runMonitoring). A new key must be
looked up there first."""


def _key_paths(node: Any, prefix: str = "") -> Iterator[str]:
    """The dotted paths of `node`'s keys, down to the first one CHART_KEYS names (`[]`: a list's items)."""
    if prefix in CHART_KEYS:
        yield prefix
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _key_paths(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list) and node and all(isinstance(item, dict) for item in node):
        for item in node:
            yield from _key_paths(item, f"{prefix}[]")
    else:
        yield prefix


def test_helm_values_set_only_keys_of_the_chart() -> None:
    assert sorted(set(_key_paths(HELM)) - CHART_KEYS) == []


def test_the_build_context_leaves_out_local_state_and_keeps_what_the_image_copies() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    assert {".git", ".venv", "data", ".dagster_home", "artifacts", ".env"} <= ignored
    for arguments in _instructions("COPY"):
        for source in arguments.split()[:-1]:
            assert not any(source == entry or source.startswith(f"{entry}/") for entry in ignored), source
            assert (ROOT / source).exists(), source
