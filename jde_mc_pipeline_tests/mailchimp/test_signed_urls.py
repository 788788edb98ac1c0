"""The query of a signed storage URL (a batch's results archive) never reaches an error, the audit, an
outcome reason or a log line: the rule of `cut_signed_urls`, then the client, the audit file and batches
over real HTTP (a closed port on 127.0.0.1, the Mailchimp emulator)."""

from __future__ import annotations

import logging
import socket
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import duckdb
import pytest

from jde_mc_pipeline.audit.store import AuditStore
from jde_mc_pipeline.mailchimp.batches import Operation, PollPolicy, await_batch, submit_batch
from jde_mc_pipeline.mailchimp.client import ApiResponse, MailchimpClient, RetryPolicy
from jde_mc_pipeline.redaction import cut_signed_urls, install_log_redaction
from jde_mc_pipeline.sync.recording import AuditRecorder

FAST_RETRY = RetryPolicy(max_attempts=3, max_total_s=10.0, base_wait_s=0.01, max_wait_s=0.05)
QUICK_POLL = PollPolicy(first_wait_s=0.02, factor=1.5, max_wait_s=0.1, deadline_s=30.0)
SIGNATURE = "deadbeef" * 8
CREDENTIAL = "AKIAIOSFODNN7EXAMPLE%2F20250101%2Fus-east-1%2Fs3%2Faws4_request"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "https://mc-batch.s3.amazonaws.com/b1-response.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential={CREDENTIAL}&X-Amz-Date=20250101T000000Z&X-Amz-Expires=600"
            f"&X-Amz-Security-Token=FwoGZXIv&X-Amz-SignedHeaders=host&X-Amz-Signature={SIGNATURE}",
            "https://mc-batch.s3.amazonaws.com/b1-response.tar.gz",
            id="s3-presigned-v4",
        ),
        pytest.param(
            "https://mc-batch.s3.amazonaws.com/b1.tar.gz?AWSAccessKeyId=AKIA&Expires=1700000000&Signature=aZ%2B%3D",
            "https://mc-batch.s3.amazonaws.com/b1.tar.gz",
            id="s3-presigned-v2",
        ),
        pytest.param(
            "https://storage.googleapis.com/bucket/b1.tar.gz?X-Goog-Algorithm=GOOG4-RSA-SHA256"
            "&X-Goog-Credential=sa%40project.iam.gserviceaccount.com%2F20250101&X-Goog-Expires=600"
            f"&X-Goog-SignedHeaders=host&X-Goog-Signature={SIGNATURE}#part",
            "https://storage.googleapis.com/bucket/b1.tar.gz",
            id="gcs-v4",
        ),
        pytest.param(
            "https://acct.blob.core.windows.net/results/b1.tar.gz?sv=2022-11-02&se=2025-01-01T00%3A10%3A00Z"
            "&sr=b&sp=r&sig=Zm9vYmFy%2Bc2ln%3D",
            "https://acct.blob.core.windows.net/results/b1.tar.gz",
            id="azure-sas",
        ),
        pytest.param(
            "ConnectionError: HTTPSConnectionPool(host='mc-batch.s3.amazonaws.com', port=443): Max retries "
            f"exceeded with url: /b1.tar.gz?X-Amz-Credential={CREDENTIAL}&X-Amz-Signature={SIGNATURE} "
            "(Caused by NewConnectionError('Failed to establish a new connection'))",
            "ConnectionError: HTTPSConnectionPool(host='mc-batch.s3.amazonaws.com', port=443): Max retries "
            "exceeded with url: /b1.tar.gz (Caused by NewConnectionError('Failed to establish a new "
            "connection'))",
            id="bare-path-as-requests-prints-it",
        ),
        pytest.param(
            "GET https://us7.api.mailchimp.com/3.0/lists/a1/members?count=1000&offset=0&fields=members.id,total_items",
            "GET https://us7.api.mailchimp.com/3.0/lists/a1/members?count=1000&offset=0&fields=members.id,total_items",
            id="api-query-kept",
        ),
        pytest.param(
            "GET /lists/a1/members?count=1000&offset=0 failed",
            "GET /lists/a1/members?count=1000&offset=0 failed",
            id="bare-api-query-kept",
        ),
        pytest.param(
            "first /3.0/batches?count=10 then (https://h.example/a.tar.gz?token=t0k3n), then "
            "'http://127.0.0.1:9/r/b.tar.gz?expires=1&signature=5ec'; last https://h.example/c?X-AMZ-SIGNATURE=s.",
            "first /3.0/batches?count=10 then (https://h.example/a.tar.gz), then "
            "'http://127.0.0.1:9/r/b.tar.gz'; last https://h.example/c.",
            id="several-urls-in-prose",
        ),
        pytest.param("https://h.example/a?ke%79=abc", "https://h.example/a", id="percent-encoded-name"),
        pytest.param("no url here, just a question?", "no url here, just a question?", id="no-url"),
    ],
)
def test_cut_signed_urls(text: str, expected: str) -> None:
    assert cut_signed_urls(text) == expected
    assert cut_signed_urls(expected) == expected


def test_every_logger_of_the_package_is_cut_and_others_are_not(caplog: pytest.LogCaptureFixture) -> None:
    url = f"https://h.example/b1.tar.gz?X-Amz-Signature={SIGNATURE}"
    caplog.set_level(logging.INFO)  # nothing installed here: importing the package did it
    logging.getLogger("jde_mc_pipeline.not.yet.written").info("downloading %s", url)
    logging.getLogger("jde_mc_pipeline").warning("100%% of %s", url)
    try:
        raise ValueError(f"bad archive at {url}")
    except ValueError:
        logging.getLogger("jde_mc_pipeline.sync").exception("failed")
    logging.getLogger("elsewhere").info("kept %s", url)
    package = [r for r in caplog.records if r.name.startswith("jde_mc_pipeline")]
    assert [r.getMessage() for r in package] == [
        "downloading https://h.example/b1.tar.gz",
        "100% of https://h.example/b1.tar.gz",
        "failed",
    ]
    assert SIGNATURE not in "\n".join(logging.Formatter().format(r) for r in package)
    assert "ValueError: bad archive at https://h.example/b1.tar.gz" in caplog.text
    assert caplog.records[-1].getMessage() == f"kept {url}"


def test_installing_again_changes_nothing() -> None:
    factory = logging.getLogRecordFactory()
    install_log_redaction()
    assert logging.getLogRecordFactory() is factory


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_failed_download_leaves_the_signature_nowhere(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    path = "/archive/b1.tar.gz"
    url = f"http://127.0.0.1:{closed_port()}{path}?X-Amz-Credential={CREDENTIAL}&X-Amz-Signature={SIGNATURE}"
    store = AuditStore(tmp_path / "audit.duckdb")
    caplog.set_level(logging.INFO)
    with (
        AuditRecorder(store, "run-1", include_reads=True) as recorder,
        MailchimpClient(
            "0123456789abcdef-us7", retry=FAST_RETRY, timeout=(2.0, 2.0), recorder=recorder
        ) as client,
    ):
        answer = client.download(url, record_keys=("b1",))
    assert (answer.status, answer.attempts) == (None, 3)
    assert path in answer.error and "Max retries exceeded" in answer.error
    with duckdb.connect(str(store.path), read_only=True) as conn:
        rows = conn.execute("SELECT CAST(COLUMNS(*) AS VARCHAR) FROM mailchimp_writes").fetchall()
    assert len(rows) == 3
    audit = "\n".join(" ".join(str(value) for value in row) for row in rows)
    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert "retrying" in messages
    for text in (answer.error, answer.describe(), audit, messages, caplog.text):
        assert path in text
        assert SIGNATURE not in text and "AKIAIOSFODNN7EXAMPLE" not in text


class UnreachableArchive(MailchimpClient):
    """The emulator's API, but its archive host moved to a closed port (path and signed query kept)."""

    def __init__(self, *args: Any, port: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.port = port
        self.asked: list[str] = []

    def download(self, url: str, record_keys: Any = ()) -> ApiResponse:
        self.asked.append(url)
        parts = urlsplit(url)
        return super().download(urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.port}")), record_keys)


class QuotingArchive(UnreachableArchive):
    """A download whose answer quotes the signed URL whole, as a transport error text without the
    client's own cut would: batches.py must cut it from the failure it returns."""

    def download(self, url: str, record_keys: Any = ()) -> ApiResponse:
        self.asked.append(url)
        return ApiResponse("GET", urlsplit(url).path, None, None, 1, error=f"ConnectionError: url: {url}")


@pytest.mark.parametrize("client_class", [UnreachableArchive, QuotingArchive])
def test_batch_failure_carries_no_signature(mailchimp_emulator_factory, client_class, caplog) -> None:
    server = mailchimp_emulator_factory(seed=7, batch_step_seconds=0.02)
    caplog.set_level(logging.INFO)
    with client_class(
        server.api_key, api_url=server.api_url, retry=FAST_RETRY, timeout=(2.0, 5.0), port=closed_port()
    ) as client:
        submitted = submit_batch(client, [Operation("GET", "/ping", "op-1")])
        run = await_batch(client, submitted, QUICK_POLL)
    batch_id = submitted.batch_id
    signatures = [parse_qs(urlsplit(url).query)["signature"][0] for url in client.asked]
    assert run.failure and run.failure.startswith(f"downloading the results of batch {batch_id} failed")
    assert f"/_emulator/batch-results/{batch_id}.tar.gz" in run.failure
    assert len(signatures) == 2  # the status's URL, then the fresh one of a second status
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for signature in signatures:
        assert signature not in run.failure and signature not in logged
