"""Secrets never leak (docs/configuration.md: "Secrets never appear in logs, run metadata, the audit store or
errors"), and TLS verification stays on.

Why these tests run a whole sync: a secret leaks through whatever a run writes down, and a run writes in
many places: the DuckDB audit file, the Dagster event log (metadata, log messages, errors), the compute
logs (stdout/stderr of the steps), Python log records and the staged frames. So a sync runs against
both emulators with known, distinctive secrets (the JDE password, the Mailchimp API key, every AIS token
and session cookie the emulator issued, every signed batch-results URL Mailchimp handed out), and each of
those places is searched for each secret, raw, URL-encoded and JSON-escaped, and for the Basic-auth
header values built from them. The secrets reach the resources as `dg.EnvVar`s, as the code location
gives them (defs/resources.py), so the run record and the job snapshot are searched too.

A search that finds nothing proves nothing unless it can find something: `test_the_search_finds_a_planted
_secret_in_every_place` plants a secret in each kind of place (a DuckDB JSON column, a pickled frame, a
Dagster log message, stdout of a step, a Python log record, a URL-encoded query) and requires a finding.

The emulators keep no list of what they issued (a token leaves the registry at logout, a signed URL is
computed per status answer), so the test wraps the registry's `issue` and the batch runner's `signed_url`
on the running emulator to note every value handed out.
"""

import base64
import datetime as dt
import http.server
import ipaddress
import json
import logging
import os
import pickle
import re
import ssl
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import dagster as dg
import duckdb
import pandas as pd
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jde_mc_pipeline.defs.resources import JdeAisResource, MailchimpResource
from jde_mc_pipeline.emulators.ais.clock import ManualClock
from jde_mc_pipeline.emulators.ais.server import JdeEmulatorServer
from jde_mc_pipeline.emulators.ais.tokens import Session
from jde_mc_pipeline.emulators.mailchimp.server import MailchimpEmulatorServer
from jde_mc_pipeline.jde.client import AisClient
from jde_mc_pipeline.jde.errors import AisServerError
from jde_mc_pipeline.jde.session import RetryPolicy as AisRetryPolicy
from jde_mc_pipeline.mailchimp.client import MailchimpClient
from jde_mc_pipeline.mailchimp.client import RetryPolicy as MailchimpRetryPolicy
from jde_mc_pipeline.mailchimp.errors import MailchimpApiError
from jde_mc_pipeline_tests.defs.sync_world import SYNC_DAY, SyncWorld, world_resources
from jde_mc_pipeline_tests.deployment import START_DATE

JDE_USER = "JDE"
PASSWORD = "Jde-Pw-3f9c1b7e-Quasar!"
"""The password the JDE emulator accepts: distinctive, so that any occurrence is a leak."""
API_KEY = "5ec7e75ecc1e7a11feedfacecafe0b0e-us19"
"""The key the Mailchimp emulator accepts. Its data center (`us19`) is in every API URL, so the part before
it is searched on its own too (`mailchimp_secrets`)."""
WRONG_PASSWORD = "Wrong-Pw-77ad21c0-Nebula"
WRONG_KEY = "badc0ffee0ddf00d5ec7e7deadbeef42-us19"
MAILCHIMP_USER = "jde-mc"
"""The user name the Mailchimp client sends with the key in its Basic auth (mailchimp/client.py)."""
PARTIES = 120
BATCH_THRESHOLD = 10
"""Below the demo's customers, so the customer push goes through /batches and its signed archive URL."""
COMPUTE_LOGS = "compute_logs"


# -- the search ----------------------------------------------------------------------------------------


def basic_auth(user: str, secret: str) -> str:
    """The value an `Authorization: Basic …` header carries for `user:secret`."""
    return base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")


def jde_secrets(password: str, label: str = "JDE password") -> dict[str, str]:
    """A JDE password, and the Basic-auth value AIS would take it in (the client sends it in the body)."""
    return {label: password, f"{label} as Basic auth": basic_auth(JDE_USER, password)}


def mailchimp_secrets(key: str, label: str = "Mailchimp API key") -> dict[str, str]:
    """A Mailchimp key, its secret part (without the data center), and the Basic-auth values carrying it,
    with the client's user name and with the one Mailchimp's documentation uses."""
    return {
        label: key,
        f"{label} without data center": key.rpartition("-")[0],
        f"{label} as Basic auth": basic_auth(MAILCHIMP_USER, key),
        f"{label} as Basic auth (anystring)": basic_auth("anystring", key),
    }


def forms(secret: str) -> set[str]:
    """The ways a secret can be written down: raw, URL-encoded (path and form style), JSON-escaped."""
    return {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}


@dataclass
class LeakSearch:
    """Searches texts and bytes for every form of every named secret; collects findings per place."""

    secrets: Mapping[str, str]
    findings: list[str] = field(default_factory=list)
    searched: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        short = [name for name, value in self.secrets.items() if len(value) < 16]
        assert not short, f"secrets too short to be told apart from ordinary text: {short}"
        self._forms = [(name, form) for name, value in self.secrets.items() for form in sorted(forms(value))]

    def search(self, place: str, where: str, content: str | bytes) -> None:
        """Note every secret found in `content`; `place` is the kind of place, `where` says which one."""
        self.searched[place] += 1
        for name, form in self._forms:
            needle: str | bytes = form.encode("utf-8") if isinstance(content, bytes) else form
            if needle in content:  # type: ignore[operator]
                self.findings.append(f"{name} in {place}: {where}")

    def found(self, place: str) -> list[str]:
        return [finding for finding in self.findings if f" in {place}: " in finding]


def search_audit_db(leaks: LeakSearch, path: str) -> None:
    """Every column of every table of the DuckDB file, cast to text (JSON, lists and structs included)."""
    with duckdb.connect(path, read_only=True) as conn:
        tables = conn.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal ORDER BY 1, 2"
        ).fetchall()
        for schema, table in tables:
            columns = conn.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
                [schema, table],
            ).fetchall()
            for (column,) in columns:
                cast = f'CAST("{column}" AS VARCHAR)'
                values = conn.execute(
                    f'SELECT {cast} FROM "{schema}"."{table}" WHERE {cast} IS NOT NULL'
                ).fetchall()
                leaks.search("audit database", f"{table}.{column}", "\n".join(v for (v,) in values))


def search_event_log(leaks: LeakSearch, instance: dg.DagsterInstance) -> None:
    """Every event record of every run of the instance, serialized (messages, metadata, errors), and the
    run records and job snapshots (run config and the resources' config as Dagster stores them)."""
    for run in instance.get_runs():
        leaks.search("run record", run.run_id, dg.serialize_value(run))
        if run.job_snapshot_id:
            snapshot = instance.get_job_snapshot(run.job_snapshot_id)
            leaks.search("run record", f"job snapshot of {run.run_id}", dg.serialize_value(snapshot))
        for entry in instance.all_logs(run.run_id):
            leaks.search("event log", f"{run.run_id} {entry.dagster_event_type}", dg.serialize_value(entry))


def search_files(leaks: LeakSearch, place: str, root: Path, pattern: str = "*") -> None:
    """The raw bytes of every file under `root` (a non-empty one counts as searched)."""
    for path in sorted(root.rglob(pattern)):
        if path.is_file():
            data = path.read_bytes()
            if data:
                leaks.search(place, str(path.relative_to(root)), data)


def search_staged_frames(leaks: LeakSearch, staging_dir: Path) -> None:
    """Every staged pickle: its raw bytes, and the unpickled frame cell by cell (nested values as text)."""
    search_files(leaks, "staged pickle bytes", staging_dir, "*.pkl")
    for path in sorted(staging_dir.rglob("*.pkl")):
        with path.open("rb") as handle:
            frame = pickle.load(handle)
        assert isinstance(frame, pd.DataFrame), path
        cells = [str(list(frame.columns)), repr(frame.attrs)]
        cells.extend(repr(value) for column in frame.columns for value in frame[column].tolist())
        leaks.search("staged frame", str(path.relative_to(staging_dir)), "\n".join(cells))


def search_log_records(leaks: LeakSearch, records: list[logging.LogRecord]) -> None:
    """Python log records: the message, the traceback, and every attribute (Dagster adds its own)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in records:
        text = formatter.format(record) + "\n" + repr(vars(record))
        leaks.search("log record", f"{record.name} {record.levelname}", text)


def search_everything(
    leaks: LeakSearch, world: SyncWorld, root: Path, records: list[logging.LogRecord]
) -> None:
    """Every place a run writes to; `root` is the test's folder, holding all of its files."""
    search_audit_db(leaks, world.audit_path)
    search_event_log(leaks, world.instance)
    search_files(leaks, "compute log", root / COMPUTE_LOGS)
    search_log_records(leaks, records)
    search_staged_frames(leaks, Path(world.staging_dir))
    search_files(leaks, "file", root)  # anything else: DuckDB pages and WAL, the instance's SQLite files


# -- the world ------------------------------------------------------------------------------------------


@pytest.fixture
def logged_instance(tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance in `tmp_path` whose compute log manager writes files there, and which takes the
    package's Python log records (DEBUG and up) into the event log, so those are searched there too.

    A run on it sets its managed loggers to DEBUG for good (dagster's log manager), so their levels are
    put back afterwards: the other tests of the process count the records they expect."""
    managed = [logging.getLogger(name) for name in ("jde_mc_pipeline", dg.get_dagster_logger().name)]
    levels = [logger.level for logger in managed]
    home = tmp_path / "dagster_home"
    home.mkdir()
    overrides = {
        "compute_logs": {
            "module": "dagster._core.storage.local_compute_log_manager",
            "class": "LocalComputeLogManager",
            "config": {"base_dir": str(tmp_path / COMPUTE_LOGS)},
        },
        "python_logs": {"python_log_level": "DEBUG", "managed_python_loggers": ["jde_mc_pipeline"]},
    }
    try:
        with dg.instance_for_test(overrides=overrides, temp_dir=str(home)) as instance:
            yield instance
    finally:
        for logger, level in zip(managed, levels, strict=True):
            logger.setLevel(level)


def note_tokens(jde: JdeEmulatorServer) -> list[Session]:
    """Every AIS session the emulator issues from now on (token and JSESSIONID cookie)."""
    issued: list[Session] = []
    issue = jde.app.tokens.issue

    def noting(*args: Any, **kwargs: Any) -> Session:
        session = issue(*args, **kwargs)
        issued.append(session)
        return session

    jde.app.tokens.issue = noting  # type: ignore[method-assign]
    return issued


def note_signed_urls(mailchimp: MailchimpEmulatorServer) -> list[str]:
    """Every batch-results URL the emulator signs from now on."""
    signed: list[str] = []
    sign = mailchimp.app.batches.signed_url

    def noting(batch: Any) -> str:
        url = sign(batch)
        signed.append(url)
        return url

    mailchimp.app.batches.signed_url = noting  # type: ignore[method-assign]
    return signed


@dataclass
class SecretWorld:
    """A `SyncWorld` whose resources send `sent_password` and `sent_key`, and what its emulators issued."""

    world: SyncWorld
    sent_password: str
    sent_key: str
    tokens: list[Session]
    signed_urls: list[str]

    def secrets(self) -> dict[str, str]:
        """Every secret of the run by name: accepted, sent, issued and signed."""
        named = {**jde_secrets(PASSWORD), **mailchimp_secrets(API_KEY)}
        if self.sent_password != PASSWORD:
            named |= jde_secrets(self.sent_password, "sent JDE password")
        if self.sent_key != API_KEY:
            named |= mailchimp_secrets(self.sent_key, "sent Mailchimp API key")
        for number, session in enumerate(self.tokens):
            named[f"AIS token {number}"] = session.token
            named[f"AIS session cookie {number}"] = session.cookie
        for number, url in enumerate(self.signed_urls):
            query = urlsplit(url).query
            named[f"signed URL {number}"] = url
            named[f"signed URL query {number}"] = query
            named[f"signed URL signature {number}"] = parse_qs(query)["signature"][0]
        return named


def secret_world(
    tmp_path: Path,
    jde_emulator_factory: Callable[..., JdeEmulatorServer],
    mailchimp_emulator_factory: Callable[..., MailchimpEmulatorServer],
    instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    *,
    sent_password: str = PASSWORD,
    sent_key: str = API_KEY,
) -> SecretWorld:
    """Emulators accepting PASSWORD and API_KEY; the resources send `sent_*`, read from the environment
    through `dg.EnvVar` as in a deployment."""
    jde = jde_emulator_factory(
        demo=PARTIES,
        seed=11,
        clock=ManualClock(dt.datetime.combine(SYNC_DAY, dt.time(12))),
        username=JDE_USER,
        password=PASSWORD,
    )
    mailchimp = mailchimp_emulator_factory(seed=7, batch_step_seconds=0.02, api_key=API_KEY)
    tokens, signed_urls = note_tokens(jde), note_signed_urls(mailchimp)
    monkeypatch.setenv("JDE_PASSWORD", sent_password)
    monkeypatch.setenv("MAILCHIMP_API_KEY", sent_key)
    audit_path, staging_dir = str(tmp_path / "audit_trail.duckdb"), str(tmp_path / "staging")
    resources = world_resources(jde, mailchimp, audit_path, staging_dir)
    resources["jde"] = JdeAisResource(
        base_url=jde.url, username=JDE_USER, password=dg.EnvVar("JDE_PASSWORD"), environment="JDV920"
    )
    resources["mailchimp"] = MailchimpResource(
        api_key=dg.EnvVar("MAILCHIMP_API_KEY"),
        api_url=mailchimp.api_url,
        list_id=mailchimp.list_id,
        max_attempts=2,
        max_retry_seconds=3,
        customer_batch_threshold=BATCH_THRESHOLD,
    )
    world = SyncWorld(jde, mailchimp, audit_path, staging_dir, instance, resources)
    return SecretWorld(world, sent_password, sent_key, tokens, signed_urls)


def failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """The error texts of the run's failed steps, causes included."""
    texts = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        while error is not None:
            texts.append(error.message)
            error = error.cause
    return texts


# -- the tests ------------------------------------------------------------------------------------------


def test_the_search_finds_a_planted_secret_in_every_place(
    tmp_path: Path, logged_instance: dg.DagsterInstance, caplog: pytest.LogCaptureFixture
) -> None:
    token = "044planted+token/with=specials"
    leaks = LeakSearch({"planted token": token, "planted Basic auth": basic_auth("user", "planted-secret")})
    leaks.search("text", "a URL-encoded query", f"GET /next?token={quote(token, safe='')}")
    leaks.search("text", "a header", f"Authorization: Basic {basic_auth('user', 'planted-secret')}")
    assert len(leaks.found("text")) == 2

    db = str(tmp_path / "planted.duckdb")
    with duckdb.connect(db) as conn:
        conn.execute("CREATE TABLE writes (id INTEGER, body JSON, extra STRUCT(token VARCHAR))")
        conn.execute("INSERT INTO writes VALUES (1, ?, {'token': 'none'})", [json.dumps({"t": token})])
    search_audit_db(leaks, db)
    assert leaks.found("audit database") == ["planted token in audit database: writes.body"]

    staging = tmp_path / "staging" / "asset" / "2026-01-01"
    staging.mkdir(parents=True)
    frame = pd.DataFrame({"partition_key": ["2026-01-01"], "payload": [{"nested": [token]}]})
    frame.to_pickle(staging / "run.pkl")
    search_staged_frames(leaks, tmp_path / "staging")
    assert leaks.found("staged frame") and leaks.found("staged pickle bytes")

    @dg.op
    def leaky(context: dg.OpExecutionContext) -> None:
        context.log.info(f"dagster log message with {token}")
        print(f"stdout with {token}", flush=True)
        logging.getLogger("jde_mc_pipeline.planted").warning("python log record with %s", token)

    @dg.job
    def leaky_job() -> None:
        leaky()

    caplog.set_level(logging.DEBUG)
    assert leaky_job.execute_in_process(instance=logged_instance).success
    search_event_log(leaks, logged_instance)
    search_files(leaks, "compute log", tmp_path / COMPUTE_LOGS)
    search_log_records(leaks, caplog.records)
    assert leaks.found("event log") and leaks.found("compute log") and leaks.found("log record")


def test_a_sync_leaks_no_secret(
    tmp_path: Path,
    jde_emulator_factory: Callable[..., JdeEmulatorServer],
    mailchimp_emulator_factory: Callable[..., MailchimpEmulatorServer],
    logged_instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    setup = secret_world(
        tmp_path, jde_emulator_factory, mailchimp_emulator_factory, logged_instance, monkeypatch
    )

    result = setup.world.run(START_DATE, SYNC_DAY)

    assert result.success
    assert setup.tokens, "the run asked AIS for no token"
    assert setup.signed_urls, "the customers did not go through /batches"
    assert setup.world.mailchimp.app.stats.snapshot().get("archive_downloads", 0) >= 1
    leaks = LeakSearch(setup.secrets())
    search_everything(leaks, setup.world, tmp_path, caplog.records)
    assert leaks.findings == []
    for place, at_least in {
        "audit database": 50,  # columns
        "event log": 100,
        "run record": 2,
        "compute log": 1,
        "log record": 20,
        "staged frame": 10,
        "staged pickle bytes": 10,
        "file": 10,
    }.items():
        assert leaks.searched[place] >= at_least, (place, leaks.searched)


@pytest.mark.parametrize("refused", ["jde password", "mailchimp key"])
def test_a_refused_credential_leaks_neither_secret_into_the_errors(
    refused: str,
    tmp_path: Path,
    jde_emulator_factory: Callable[..., JdeEmulatorServer],
    mailchimp_emulator_factory: Callable[..., MailchimpEmulatorServer],
    logged_instance: dg.DagsterInstance,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    sent = {"sent_password": WRONG_PASSWORD} if refused == "jde password" else {"sent_key": WRONG_KEY}
    setup = secret_world(
        tmp_path, jde_emulator_factory, mailchimp_emulator_factory, logged_instance, monkeypatch, **sent
    )

    result = setup.world.run(START_DATE, SYNC_DAY)

    assert not result.success
    messages = "\n".join(failure_messages(result))
    if refused == "jde password":
        assert "AIS refused the token request of user 'JDE'" in messages, messages
        assert setup.tokens == []
    else:
        assert "API Key Invalid" in messages, messages
        assert setup.tokens
    leaks = LeakSearch(setup.secrets())
    leaks.search("failure message", "step failures", messages)
    search_everything(leaks, setup.world, tmp_path, caplog.records)
    assert leaks.findings == []
    assert leaks.searched["event log"] >= 10 and leaks.searched["compute log"] >= 1


# -- TLS ------------------------------------------------------------------------------------------------


@dataclass
class UntrustedServer:
    """An HTTPS server on 127.0.0.1 with a self-signed certificate (valid for 127.0.0.1 in every other
    respect, so trust is the only thing missing). It would answer like AIS and Mailchimp if a client
    skipped verification; `requests` lists the requests that got through a handshake."""

    url: str
    requests: list[str]


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 signed by its own key: (certificate, key) PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def untrusted_server(tmp_path: Path) -> Iterator[UntrustedServer]:
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(f"{self.command} {self.path}")
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps(
                {
                    "userInfo": {"token": "044accepted", "simpleDateFormat": "MM/dd/yyyy"},
                    "health_status": "Everything's Chimpy!",
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer  # noqa: N815 - the names http.server dispatches to

        def log_message(self, format: str, *args: Any) -> None:
            pass

    cert_path, key_path = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="untrusted-https", daemon=True)
    thread.start()
    try:
        yield UntrustedServer(f"https://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


CERTIFICATE_REFUSED = re.compile(r"certificate verify failed", re.IGNORECASE)


def test_the_clients_refuse_an_untrusted_certificate(untrusted_server: UntrustedServer) -> None:
    ais = AisClient(
        untrusted_server.url,
        JDE_USER,
        PASSWORD,
        retry=AisRetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.05),
    )
    with pytest.raises(AisServerError) as refused:
        ais.login()
    ais.close()
    mailchimp = MailchimpClient(
        API_KEY,
        api_url=untrusted_server.url + "/{dc}/3.0",
        retry=MailchimpRetryPolicy(max_attempts=2, base_wait_s=0.01, max_wait_s=0.05),
    )
    signature = "5f0e1d2c3b4a59687766554433221100"
    with mailchimp:
        with pytest.raises(MailchimpApiError) as unreachable:
            mailchimp.ping()
        archive = mailchimp.download(
            f"{untrusted_server.url}/results/b1.tar.gz?expires=1&signature={signature}"
        )

    assert untrusted_server.requests == []  # no request (no password, no key) went through the handshake
    assert ais.stats.retries == 0 and dict(mailchimp.stats).get("retries", 0) == 0  # refused for good
    texts = {"AIS": str(refused.value), "Mailchimp": str(unreachable.value), "archive": archive.error or ""}
    for what, text in texts.items():
        assert "SSL" in text and CERTIFICATE_REFUSED.search(text), (what, text)
    leaks = LeakSearch({**jde_secrets(PASSWORD), **mailchimp_secrets(API_KEY), "signature": signature})
    for what, text in texts.items():
        leaks.search("error", what, text)
    assert leaks.findings == []
    assert not archive.ok and archive.status is None


def test_ping_names_the_refused_certificate_and_prints_no_secret(untrusted_server: UntrustedServer) -> None:
    # the machine's own trust settings are left out, so that they cannot change the outcome
    trust_settings = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("JDE_", "MAILCHIMP_")) and name not in trust_settings
    }
    env.update(
        JDE_AIS_URL=untrusted_server.url,
        JDE_USERNAME=JDE_USER,
        JDE_PASSWORD=PASSWORD,
        MAILCHIMP_API_KEY=API_KEY,
        MAILCHIMP_API_URL=untrusted_server.url + "/{dc}/3.0",
        MAILCHIMP_LIST_ID="a1b2c3d4e5",
    )

    done = subprocess.run(
        [sys.executable, "-m", "jde_mc_pipeline.cli", "ping"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 1, done.stdout + done.stderr
    problems = [line for line in done.stdout.splitlines() if line.startswith("PROBLEM")]
    jde = [line for line in problems if f"AIS server {untrusted_server.url}" in line]
    mailchimp = [line for line in problems if f"Mailchimp at {untrusted_server.url}" in line]
    assert len(jde) == 1 and CERTIFICATE_REFUSED.search(jde[0]), done.stdout
    assert len(mailchimp) == 1 and CERTIFICATE_REFUSED.search(mailchimp[0]), done.stdout
    assert untrusted_server.requests == []
    leaks = LeakSearch({**jde_secrets(PASSWORD), **mailchimp_secrets(API_KEY)})
    leaks.search("ping output", "stdout and stderr", done.stdout + done.stderr)
    assert leaks.findings == []
