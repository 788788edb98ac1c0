"""Cutting signed URLs out of texts that leave the process: errors, audit rows, outcome reasons, log lines.

Why: Mailchimp hands the results of a batch as a pre-signed storage URL (`response_body_url`). Its query
(`X-Amz-Signature=…&X-Amz-Credential=…`, Azure's `sig=…`, Google's `X-Goog-Signature=…`) is a credential:
valid for minutes, but anyone holding it in that time can read the archive, which holds the contacts'
data. The URL itself is never written down (the client records only its path), yet `requests` quotes it
whole in its exception texts ("Max retries exceeded with url: /archive/b1.tar.gz?X-Amz-Signature=…"),
and those texts become `ApiResponse.error`, audit rows, outcome reasons and log lines.

The rule of `cut_signed_urls`: every URL, absolute (`scheme://host/path?query`) or a bare `/path?query` as
`requests` prints it, whose query names a signature-like parameter is cut to what precedes its `?`
(scheme, host and path): the query and the fragment are dropped. A parameter is signature-like when its
name, case-insensitive and percent-decoded, contains one of `SIGNED_NAME_PARTS` or is one of
`SIGNED_NAMES`. Other URLs are left whole: the query of an API call (`?count=1000&offset=0&fields=…`)
says what was asked and is worth keeping in a log.

`install_log_redaction` applies the same cut to every log record of the package and of urllib3 (see its
docstring for why that is a record factory and not only a filter on the package's logger).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from urllib.parse import unquote_plus

PACKAGE_LOGGER = "jde_mc_pipeline"
REDACTED_LOGGERS = (PACKAGE_LOGGER, "urllib3")
"""Loggers whose records are cut, with their children: the package's, and urllib3's, whose DEBUG line of
every request quotes the URL whole (`"GET /b1.tar.gz?X-Amz-Signature=… HTTP/1.1" 200`), so that turning
on DEBUG to chase a connection problem does not write the archive's credential into a log."""

# A parameter whose name contains one of these carries (part of) a signature or a bearer credential:
# S3 `X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`, S3 v2 and CloudFront `Signature`,
# GCS `X-Goog-Signature`, `X-Goog-Credential`, Azure SAS `sig`, OAuth `access_token`, …
SIGNED_NAME_PARTS = ("sig", "credential", "token", "secret", "password")
# Names that are credentials without such a word: API keys and the key ids of S3 v2, GCS v2 and CloudFront.
SIGNED_NAMES = frozenset({"key", "apikey", "api_key", "access_key", "awsaccesskeyid", "googleaccessid"})

_URL = re.compile(
    r"""
    (?P<head>
        (?<![\w+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s?#"'<>]*   # absolute: scheme://host/path
      | (?<![^\s"'(\[<=,;:])/[^\s?#"'<>]*                    # bare /path, first or after a separator
    )
    (?P<rest>\?[^\s"'<>]*)                                   # ?query, and #fragment if any
    """,
    re.VERBOSE,
)
_TRAILING = ").,;:!]}"  # punctuation after a URL in prose belongs to the prose, not to the URL


def cut_signed_urls(text: str) -> str:
    """`text` with every URL whose query carries a signature-like parameter cut to its path (module doc)."""
    if "?" not in text:
        return text
    return _URL.sub(_cut, text)


def _cut(match: re.Match[str]) -> str:
    rest = match["rest"]
    query = rest[1:].split("#", 1)[0]
    if not _signed(query):
        return match[0]
    kept = rest.rstrip(_TRAILING)
    return match["head"] + rest[len(kept) :]


def _signed(query: str) -> bool:
    for pair in re.split(r"[&;]", query):
        name = unquote_plus(pair.split("=", 1)[0]).strip().lower()
        if name in SIGNED_NAMES or any(part in name for part in SIGNED_NAME_PARTS):
            return True
    return False


class SignedUrlFilter(logging.Filter):
    """Cuts signed URLs out of a record's final message (`msg % args`) and its rendered traceback.

    Never drops a record. A record whose arguments do not fit its message is left as it is: the handler
    reports that error as it would without this filter.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cut = cut_signed_urls(message)
        if cut != message:
            record.msg, record.args = cut, None
        if record.exc_info and not record.exc_text:
            # The traceback quotes the exception, hence its URL; formatters reuse `exc_text` when it is
            # set, so it is set only when there is something to cut (a formatter's own rendering stays).
            trace = logging.Formatter().formatException(record.exc_info)
            cut = cut_signed_urls(trace)
            if cut != trace:
                record.exc_text = cut
        return True


_install_lock = threading.Lock()
_installed = False


def install_log_redaction() -> None:
    """Make every record of a `REDACTED_LOGGERS` logger pass through `SignedUrlFilter` (idempotent).

    Why not only `logging.getLogger("jde_mc_pipeline").addFilter(...)`: a logger's filters are consulted
    only for records logged on that very logger, never for records propagated from its children
    (`jde_mc_pipeline.mailchimp.client`, …), which are all the package's records. So the filter is run
    where every record is made: the process's log record factory is wrapped (the previous factory still
    makes the record), and records of other loggers pass untouched. Loggers and modules written later
    are covered without doing anything.
    """
    global _installed
    with _install_lock:
        if _installed:
            return
        logging.setLogRecordFactory(_redacting(logging.getLogRecordFactory()))
        _installed = True


def _redacting(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    redact = SignedUrlFilter()
    prefixes = tuple(name + "." for name in REDACTED_LOGGERS)

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make(*args, **kwargs)
        name = record.name if isinstance(record.name, str) else ""  # logging.makeLogRecord passes none
        if name in REDACTED_LOGGERS or name.startswith(prefixes):
            redact.filter(record)
        return record

    return factory
