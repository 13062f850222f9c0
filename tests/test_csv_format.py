"""The order CSV format: whole-file errors and per-row rejections, as tables.

Every upload here is fed to the parser in small pieces, as the worker reads chunks, so a record
split across pieces is the usual case, not an exception.
"""

import re
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.imports.csv_format import (
    MAX_RECORD_BYTES,
    Header,
    OrderRow,
    Record,
    RecordReader,
    Rejection,
    UploadCheck,
    UploadError,
    parse_record,
)

HEADER = "order_id,customer,amount,currency,created_at\n"
BERLIN = ZoneInfo("Europe/Berlin")
PIECE = 7


def check(body: bytes, piece: int = PIECE) -> Header:
    upload = UploadCheck()
    for start in range(0, len(body), piece):
        upload.feed(body[start : start + piece])
    return upload.finish()


def records(body: bytes, *, offset: int = 0, line: int = 0, piece: int = PIECE) -> list[Record]:
    reader = RecordReader(offset=offset, line=line)
    found = []
    for start in range(offset, len(body), piece):
        reader.feed(body[start : start + piece])
        while (record := reader.next()) is not None:
            found.append(record)
    reader.end()
    while (record := reader.next()) is not None:
        found.append(record)
    return found


def rows(body: bytes, tz: tzinfo = BERLIN) -> list[OrderRow | Rejection]:
    header = check(body)
    parsed = [
        parse_record(r, header, currencies=frozenset({"EUR"}), tz=tz)
        for r in records(body, offset=header.end, line=header.line)
    ]
    return [item for item in parsed if item is not None]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the upload is empty"),
        (b"  \n\n", "the upload is empty"),
        (
            HEADER.encode() + b"o1,M\xfcller,1,EUR,2026-01-01\n",
            "the upload is not UTF-8 (invalid byte at offset 49)",
        ),
        (HEADER.encode() + b"o1,M\xc3", "the upload is not UTF-8 (invalid byte at offset 49)"),
        (HEADER.encode("utf-16"), "the upload is UTF-16, not UTF-8: save it as UTF-8"),
        (b"order_id,customer,amount\no1,a,1\n", "missing columns: currency, created_at"),
        (b"just some text\n", "missing columns: order_id, customer, amount, currency, created_at"),
        (
            b"order_id,customer,amount,currency,created_at,order_id\n",
            "duplicate columns: order_id",
        ),
        (
            b"order_id," + b"c" * 140_000 + b"\n",
            "the header row is unusable: a field is over 131072 characters",
        ),
        (b"order_id" * (MAX_RECORD_BYTES // 4), f"the header row is over {MAX_RECORD_BYTES} bytes"),
        (
            b"order_id,customer\ramount,currency,created_at\n",
            "the header row is unusable: a bare CR in an unquoted field",
        ),
    ],
)
def test_unusable_uploads_are_refused_whole(body: bytes, reason: str) -> None:
    with pytest.raises(UploadError, match=re.escape(reason)):
        check(body, piece=4096)


def test_a_missing_column_message_shows_a_bounded_header() -> None:
    header = "order_id," + ",".join(f"column{i}" for i in range(20_000)) + "\n"
    with pytest.raises(UploadError) as refused:
        check(header.encode(), piece=65536)
    message = str(refused.value)
    assert message.startswith("missing columns: customer, amount, currency, created_at (header: ")
    assert len(message) < 400
    assert message.endswith(f"… ({len(header) - 1} characters))")


def test_bom_and_column_order_are_accepted() -> None:
    body = b"\xef\xbb\xbfcurrency,order_id,created_at,amount,customer\nEUR,o1,2026-01-01,2,a\n"
    assert rows(body, tz=UTC) == [
        OrderRow(2, "o1", "a", Decimal(2), "EUR", datetime(2026, 1, 1, tzinfo=UTC))
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            b"o1,Ann,12.50,eur,2026-03-01T10:00:00+00:00",
            OrderRow(2, "o1", "Ann", Decimal("12.50"), "EUR", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ),
        (
            b"o1,Ann,12.50,EUR,2026-03-01T10:00:00",
            OrderRow(
                2, "o1", "Ann", Decimal("12.50"), "EUR", datetime(2026, 3, 1, 10, tzinfo=BERLIN)
            ),
        ),
        (
            b"o1,Ann,-3,EUR,2026-03-01",
            OrderRow(2, "o1", "Ann", Decimal(-3), "EUR", datetime(2026, 3, 1, tzinfo=BERLIN)),
        ),
        (
            b"o1,Ann,-0,EUR,2026-03-01",
            OrderRow(2, "o1", "Ann", Decimal("-0"), "EUR", datetime(2026, 3, 1, tzinfo=BERLIN)),
        ),
        (b",Ann,1,EUR,2026-03-01", Rejection(2, "order_id must be 1 to 64 characters")),
        (b"o1,,1,EUR,2026-03-01", Rejection(2, "customer must be 1 to 200 characters")),
        (b"o1,Ann,ten,EUR,2026-03-01", Rejection(2, "amount 'ten' is not a number")),
        (
            b"o1,Ann,1.005,EUR,2026-03-01",
            Rejection(2, "amount '1.005' must be finite, below 1e12, at most 2 decimals"),
        ),
        (
            b"o1,Ann,NaN,EUR,2026-03-01",
            Rejection(2, "amount 'NaN' must be finite, below 1e12, at most 2 decimals"),
        ),
        (
            b"o1,Ann,1e13,EUR,2026-03-01",
            Rejection(2, "amount '1e13' must be finite, below 1e12, at most 2 decimals"),
        ),
        (
            b"o1,Ann,1e999999999999,EUR,2026-03-01",
            Rejection(2, "amount '1e999999999999' must be finite, below 1e12, at most 2 decimals"),
        ),
        (
            b"o1,Ann," + b"9" * 100 + b",EUR,2026-03-01",
            Rejection(
                2,
                f"amount '{'9' * 40}'… (100 characters) must be finite, below 1e12, at most"
                " 2 decimals",
            ),
        ),
        (b"o1,Ann,1,XXX,2026-03-01", Rejection(2, "unknown currency 'XXX'")),
        (
            b"o1,Ann,1,EUR,yesterday",
            Rejection(2, "created_at 'yesterday' is not an ISO 8601 timestamp"),
        ),
        (
            b"o1,Ann,1,EUR,0001-01-01T00:30:00+01:00",
            Rejection(2, "created_at '0001-01-01T00:30:00+01:00' is out of range"),
        ),
        # Naive, read in Berlin: one hour before year 1 in UTC.
        (b"o1,Ann,1,EUR,0001-01-01", Rejection(2, "created_at '0001-01-01' is out of range")),
        (b"o1,Ann,1,EUR", Rejection(2, "expected 5 fields")),
        (b"o1,Ann,1,EUR,2026-03-01,extra", Rejection(2, "expected 5 fields")),
        (b"o1,Ann\x00,1,EUR,2026-03-01", Rejection(2, "customer contains a NUL character")),
        (
            b"o1,Ann\rSmith,1,EUR,2026-03-01",
            Rejection(
                2,
                "a bare CR in an unquoted field (quote the field, or end lines with LF or CRLF)",
            ),
        ),
        (
            b"o1," + b"a" * 140_000 + b",1,EUR,2026-03-01",
            Rejection(2, "a field is over 131072 characters"),
        ),
        (
            b"o1," + b"a," * MAX_RECORD_BYTES,
            Rejection(2, f"row over {MAX_RECORD_BYTES} bytes"),
        ),
        (
            b"o1,M\xfcller,1,EUR,2026-03-01",
            Rejection(2, "not UTF-8 (invalid byte at offset 4 of the line)"),
        ),
    ],
)
def test_each_row_is_an_order_or_a_rejection(line: bytes, expected: OrderRow | Rejection) -> None:
    body = HEADER.encode() + line + b"\n"
    header = check(HEADER.encode())
    parsed = [
        parse_record(r, header, currencies=frozenset({"EUR"}), tz=BERLIN)
        for r in records(body, offset=header.end, line=header.line, piece=4096)
    ]
    assert parsed == [expected]


def test_rows_after_a_bad_one_are_read_as_usual() -> None:
    body = (
        HEADER
        + "o1,A,1,EUR,2026-01-01\n"
        + "o2,B\rC,1,EUR,2026-01-01\n"
        + "o3,"
        + "x" * 200_000
        + ",1,EUR,2026-01-01\n"
        + "\n"
        + "o4,D,1,EUR,2026-01-01\r\n"
        + "o5,E,1,EUR,2026-01-01"
    ).encode()
    assert [(type(r).__name__, r.line) for r in rows(body, tz=UTC)] == [
        ("OrderRow", 2),
        ("Rejection", 3),
        ("Rejection", 4),
        ("OrderRow", 6),
        ("OrderRow", 7),
    ]


def test_line_numbers_count_quoted_newlines() -> None:
    body = (HEADER + 'o1,"Ann\nSmith",1,EUR,2026-01-01\no2,B,x,EUR,2026-01-01\n').encode()
    parsed = rows(body, tz=UTC)
    assert parsed[0] == OrderRow(
        2, "o1", "Ann\nSmith", Decimal(1), "EUR", datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert parsed[1] == Rejection(4, "amount 'x' is not a number")


def test_an_unclosed_quote_costs_the_rows_it_swallows_not_the_file() -> None:
    good = "".join(f"g{i},A,1,EUR,2026-01-01\n" for i in range(10_000))
    body = (HEADER + 'o1,"Ann,1,EUR,2026-01-01\n' + good).encode()
    parsed = rows(body, tz=UTC)
    assert isinstance(parsed[0], Rejection)
    assert parsed[0].line == 2
    assert parsed[0].reason.startswith("a field is over 131072 characters (lines 2-")
    assert parsed[0].reason.endswith(": an unclosed quote?)")
    assert all(isinstance(r, OrderRow) for r in parsed[1:])
    assert len(parsed) > 4000


def test_reading_from_a_record_end_resumes_exactly() -> None:
    body = (HEADER + "".join(f"o{i},A,1,EUR,2026-01-01\n" for i in range(50))).encode()
    whole = records(body)
    cut = whole[20]
    resumed = records(body, offset=cut.end, line=cut.end_line)
    assert resumed == whole[21:]


def test_the_reader_buffers_at_most_a_record_beyond_what_it_was_fed() -> None:
    reader = RecordReader()
    reader.feed(b"h\n" + b"x" * (3 * MAX_RECORD_BYTES))  # one line too long to keep
    assert len(reader._partial) == 0  # counted, not kept
    reader.feed(b"\nrow,after\n")
    reader.end()
    found = [reader.next(), reader.next(), reader.next(), reader.next()]
    assert [(r.line, r.error, r.fields) for r in found if r is not None] == [
        (1, None, ["h"]),
        (2, f"row over {MAX_RECORD_BYTES} bytes", []),
        (3, None, ["row", "after"]),
    ]
