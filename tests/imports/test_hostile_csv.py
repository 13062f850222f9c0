"""A corpus of hostile uploads against the real web and worker, each with its expected outcome.

The same table is in docs/imports.md ("Hostile uploads"); the last test checks that every case
is listed there. Whatever the case: no 5xx, every answer in the shape the OpenAPI schema gives
it (`ImportQueued` or `ErrorOut`, a detail of bounded length), and every accepted import ends
`succeeded` with each row either stored or rejected with its line and reason.
"""

import codecs
import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from app.errors import ErrorOut
from app.routes.imports import ImportQueued
from tests.imports.conftest import UPLOAD_MAX_BYTES, ImportStack
from tests.support.http import wait_import_finished

HEADER = b"order_id,customer,amount,currency,created_at\n"
DOC = Path(__file__).resolve().parents[2] / "docs" / "imports.md"
MAX_DETAIL = 400  # no refusal echoes more of the input than this


def row(
    order_id: str, customer: str = "Ann", amount: str = "1", created: str = "2026-01-01"
) -> bytes:
    return f"{order_id},{customer},{amount},EUR,{created}\n".encode()


def good(prefix: str, count: int) -> bytes:
    return b"".join(row(f"{prefix}{i}") for i in range(count))


@dataclass
class Case:
    name: str
    body: bytes | None  # None: `stream` sends it
    status: int
    # 202: (rows stored, [(line, reason), ...] rejected); 4xx: the detail, or its start
    outcome: tuple[int, list[tuple[int, str]]] | str
    headers: dict[str, str] = field(default_factory=dict)
    stream: bytes | None = None  # sent chunked, without a Content-Length


def chunked(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]


CASES = [
    # encodings
    Case("utf8-bom", codecs.BOM_UTF8 + HEADER + good("bom", 2), 202, (2, [])),
    Case(
        "utf16",
        (HEADER + good("u16", 2)).decode().encode("utf-16"),
        400,
        "the upload is UTF-16, not UTF-8: save it as UTF-8",
    ),
    Case(
        "latin1",
        HEADER + "l1,Müller,1,EUR,2026-01-01\n".encode("latin-1"),
        400,
        "the upload is not UTF-8 (invalid byte at offset 49)",
    ),
    Case("empty", b"", 400, "the upload is empty"),
    Case("blank", b" \r\n\t\n", 400, "the upload is empty"),
    # control characters
    Case(
        "control-chars",
        HEADER
        + row("cc0", "Ann\x00")
        + row("cc1", "Ann\rSmith")
        + row("cc2", "Ann\x1b[31mRed\x7f")
        + row("cc3", '"Ann\r\nSmith"')
        + row("cc4", "Ann\x0cForm"),
        202,
        (
            3,
            [
                (2, "customer contains a NUL character"),
                (
                    3,
                    "a bare CR in an unquoted field (quote the field, or end lines with LF or"
                    " CRLF)",
                ),
            ],
        ),
    ),
    # huge fields and headers
    Case(
        "huge-field",
        HEADER + row("hf0") + row("hf1", "a" * 200_000) + row("hf2"),
        202,
        (2, [(3, "a field is over 131072 characters")]),
    ),
    Case(
        "huge-line",
        HEADER + row("hl0") + b"x" * 3_000_000 + b"\n" + row("hl1"),
        202,
        (2, [(3, "row over 1048576 bytes")]),
    ),
    Case(
        "huge-header-column",
        b"order_id," + b"c" * 200_000 + b"\n" + row("x"),
        400,
        "the header row is unusable: a field is over 131072 characters",
    ),
    Case(
        "huge-header",
        b"order_id," + b",".join(b"column%d" % i for i in range(300_000)) + b"\n" + row("x"),
        400,
        "the header row is over 1048576 bytes",
    ),
    Case(
        "wide-header-missing-column",
        b"order_id," + b",".join(b"col%d" % i for i in range(50_000)) + b"\n",
        400,
        "missing columns: customer, amount, currency, created_at (header: order_id,col0,",
    ),
    # numbers
    Case(
        "strange-numbers",
        HEADER
        + row("n0", amount="1e309")
        + row("n1", amount="NaN")
        + row("n2", amount="-0")
        + row("n3", amount="1" + "0" * 40)
        + row("n4", amount="Infinity")
        + row("n5", amount="0x10")
        + row("n6", amount="999999999999.99")
        + row("n7", amount="1e-7")
        + row("n8", amount="1" * 100_000),
        202,
        (
            2,
            [
                (2, "amount '1e309' must be finite, below 1e12, at most 2 decimals"),
                (3, "amount 'NaN' must be finite, below 1e12, at most 2 decimals"),
                (
                    5,
                    f"amount '1{'0' * 39}'… (41 characters) must be finite, below 1e12, at most"
                    " 2 decimals",
                ),
                (6, "amount 'Infinity' must be finite, below 1e12, at most 2 decimals"),
                (7, "amount '0x10' is not a number"),
                (9, "amount '1e-7' must be finite, below 1e12, at most 2 decimals"),
                (
                    10,
                    f"amount '{'1' * 40}'… (100000 characters) must be finite, below 1e12, at"
                    " most 2 decimals",
                ),
            ],
        ),
    ),
    # dates and offsets
    Case(
        "extreme-dates",
        HEADER
        + row("d0", created="0001-01-01T00:00:00+01:00")
        + row("d1", created="9999-12-31T23:59:59-01:00")
        + row("d2", created="0001-01-01T00:00:00+00:00")
        + row("d3", created="9999-12-31T23:59:59+00:00")
        + row("d4", created="2026-02-30")
        + row("d5", created="2026-01-01T10:00:00+24:00")
        + row("d6", created="+10000-01-01"),
        202,
        (
            2,
            [
                (2, "created_at '0001-01-01T00:00:00+01:00' is out of range"),
                (3, "created_at '9999-12-31T23:59:59-01:00' is out of range"),
                (6, "created_at '2026-02-30' is not an ISO 8601 timestamp"),
                (7, "created_at '2026-01-01T10:00:00+24:00' is not an ISO 8601 timestamp"),
                (8, "created_at '+10000-01-01' is not an ISO 8601 timestamp"),
            ],
        ),
    ),
    # duplicates
    Case(
        "duplicate-columns",
        b"order_id,customer,amount,currency,created_at,customer\n",
        400,
        "duplicate columns: customer",
    ),
    Case(
        "duplicate-ids",
        HEADER + row("dup0") + good("dupx", 120) + row("dup0") + row("dup0"),
        202,
        (
            121,
            [
                (123, "duplicate order_id 'dup0' (first at line 2)"),
                (124, "duplicate order_id 'dup0' (first at line 2)"),
            ],
        ),
    ),
    # content types that lie, and bodies that are not what they say
    Case(
        "json-type-csv-body",
        HEADER + good("ct", 2),
        202,
        (2, []),
        headers={"Content-Type": "application/json"},
    ),
    Case(
        "csv-type-binary-body",
        b"\x89PNG\r\n\x1a\n" + os.urandom(64),
        400,
        "the upload is not UTF-8 (invalid byte at offset 0)",
        headers={"Content-Type": "text/csv"},
    ),
    Case(
        "form-upload",
        b"--b\r\nContent-Disposition: form-data; name=file\r\n\r\n" + HEADER + b"--b--\r\n",
        415,
        "send the CSV itself as the body (curl --data-binary @orders.csv), not a form",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    ),
    # transfer and content encodings
    Case("chunked", None, 202, (3, []), stream=HEADER + good("ch", 3)),
    Case(
        "gzip",
        gzip.compress(HEADER + good("gz", 3)),
        202,
        (3, []),
        headers={"Content-Encoding": "gzip"},
    ),
    Case(
        "gzip-two-members",
        gzip.compress(HEADER + good("gm", 2)) + gzip.compress(good("gn", 2)),
        202,
        (4, []),
        headers={"Content-Encoding": "gzip"},
    ),
    Case(
        "gzip-bomb",
        gzip.compress(HEADER + b"\n" * (UPLOAD_MAX_BYTES + 1)),
        413,
        f"upload over {UPLOAD_MAX_BYTES} bytes",
        headers={"Content-Encoding": "gzip"},
    ),
    Case(
        "gzip-truncated",
        gzip.compress(HEADER + good("gt", 50))[:-20],
        400,
        "the upload is not valid gzip",
        headers={"Content-Encoding": "gzip"},
    ),
    Case(
        "gzip-lie",
        HEADER + good("gl", 2),
        400,
        "the upload is not valid gzip",
        headers={"Content-Encoding": "gzip"},
    ),
    Case(
        "unknown-encoding",
        HEADER + good("br", 2),
        415,
        "Content-Encoding must be gzip or identity",
        headers={"Content-Encoding": "br"},
    ),
    Case(
        "over-the-limit",
        HEADER + b"x" * UPLOAD_MAX_BYTES,
        413,
        f"upload over {UPLOAD_MAX_BYTES} bytes",
    ),
    Case(
        "over-the-limit-chunked",
        None,
        413,
        f"upload over {UPLOAD_MAX_BYTES} bytes",
        stream=HEADER + b"x" * UPLOAD_MAX_BYTES,
    ),
]


def send(client: httpx.Client, case: Case) -> httpx.Response:
    if case.stream is not None:
        return client.post("/imports", content=chunked(case.stream), headers=case.headers)
    return client.post("/imports", content=case.body, headers=case.headers)


def test_every_hostile_upload_gets_its_documented_outcome(import_stack: ImportStack) -> None:
    client = import_stack.client
    answers = {case.name: send(client, case) for case in CASES}
    assert {name: answer.status_code for name, answer in answers.items()} == {
        case.name: case.status for case in CASES
    }
    outcomes: dict[str, object] = {}
    for case in CASES:
        answer = answers[case.name]
        if case.status == 202:
            queued = ImportQueued.model_validate(answer.json())
            done = wait_import_finished(client, str(queued.id), within=120)
            assert done["status"] == "succeeded", (case.name, done)
            rejections = done["rejections"]
            assert isinstance(rejections, list)
            assert done["rows_total"] == done["rows_done"] + done["rows_rejected"]  # type: ignore[operator]
            outcomes[case.name] = (
                done["rows_done"],
                [(r["line"], r["reason"]) for r in rejections],
            )
        else:
            detail = ErrorOut.model_validate(answer.json()).detail
            assert len(detail) < MAX_DETAIL, (case.name, len(detail))
            assert isinstance(case.outcome, str)
            outcomes[case.name] = case.outcome if detail.startswith(case.outcome) else detail
    assert outcomes == {case.name: case.outcome for case in CASES}
    assert "Traceback" not in import_stack.web.log() + import_stack.worker.log()


def test_the_corpus_is_the_documented_table() -> None:
    documented = DOC.read_text()
    assert [case.name for case in CASES if f"| `{case.name}` |" not in documented] == []
