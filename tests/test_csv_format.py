"""The order CSV format: whole-file errors and per-row rejections, as tables."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.imports.csv_format import OrderRow, Rejection, UploadError, decode_upload, parse_orders

HEADER = "order_id,customer,amount,currency,created_at\n"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the upload is empty"),
        (b"  \n\n", "the upload is empty"),
        (
            HEADER.encode() + b"o1,M\xfcller,1,EUR,2026-01-01\n",
            "not UTF-8 (invalid byte at offset 49)",
        ),
        (b"order_id,customer,amount\no1,a,1\n", "missing columns: currency, created_at"),
        (b"just some text\n", "missing columns: order_id, customer, amount, currency, created_at"),
    ],
)
def test_unusable_uploads_are_refused_whole(body: bytes, reason: str) -> None:
    with pytest.raises(UploadError, match=re.escape(reason)):
        decode_upload(body)


def test_bom_and_column_order_are_accepted() -> None:
    text = decode_upload(
        b"\xef\xbb\xbfcurrency,order_id,created_at,amount,customer\nEUR,o1,2026-01-01,2,a\n"
    )
    rows = list(parse_orders(text, currencies=frozenset({"EUR"}), tz=UTC))
    assert rows == [OrderRow(2, "o1", "a", Decimal(2), "EUR", datetime(2026, 1, 1, tzinfo=UTC))]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "o1,Ann,12.50,eur,2026-03-01T10:00:00+00:00",
            OrderRow(2, "o1", "Ann", Decimal("12.50"), "EUR", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ),
        (
            "o1,Ann,12.50,EUR,2026-03-01T10:00:00",
            OrderRow(
                2, "o1", "Ann", Decimal("12.50"), "EUR", datetime(2026, 3, 1, 10, tzinfo=BERLIN)
            ),
        ),
        (
            "o1,Ann,-3,EUR,2026-03-01",
            OrderRow(2, "o1", "Ann", Decimal(-3), "EUR", datetime(2026, 3, 1, tzinfo=BERLIN)),
        ),
        (",Ann,1,EUR,2026-03-01", Rejection(2, "order_id must be 1 to 64 characters")),
        ("o1,,1,EUR,2026-03-01", Rejection(2, "customer must be 1 to 200 characters")),
        ("o1,Ann,ten,EUR,2026-03-01", Rejection(2, "amount 'ten' is not a number")),
        (
            "o1,Ann,1.005,EUR,2026-03-01",
            Rejection(2, "amount '1.005' must be finite, below 1e12, at most 2 decimals"),
        ),
        (
            "o1,Ann,NaN,EUR,2026-03-01",
            Rejection(2, "amount 'NaN' must be finite, below 1e12, at most 2 decimals"),
        ),
        (
            "o1,Ann,1e13,EUR,2026-03-01",
            Rejection(2, "amount '1e13' must be finite, below 1e12, at most 2 decimals"),
        ),
        ("o1,Ann,1,XXX,2026-03-01", Rejection(2, "unknown currency 'XXX'")),
        (
            "o1,Ann,1,EUR,yesterday",
            Rejection(2, "created_at 'yesterday' is not an ISO 8601 timestamp"),
        ),
        ("o1,Ann,1,EUR", Rejection(2, "expected 5 fields")),
        ("o1,Ann,1,EUR,2026-03-01,extra", Rejection(2, "expected 5 fields")),
    ],
)
def test_each_row_is_an_order_or_a_rejection(line: str, expected: OrderRow | Rejection) -> None:
    rows = list(
        parse_orders(
            decode_upload((HEADER + line + "\n").encode()), currencies=frozenset({"EUR"}), tz=BERLIN
        )
    )
    assert rows == [expected]


def test_repeated_order_id_is_rejected_after_its_first_line() -> None:
    text = decode_upload(
        (HEADER + "o1,A,1,EUR,2026-01-01\no2,B,1,EUR,2026-01-01\no1,C,2,EUR,2026-01-01\n").encode()
    )
    rows = list(parse_orders(text, currencies=frozenset({"EUR"}), tz=UTC))
    assert [type(r).__name__ for r in rows] == ["OrderRow", "OrderRow", "Rejection"]
    assert rows[2] == Rejection(4, "duplicate order_id 'o1' (first at line 2)")


def test_line_numbers_count_quoted_newlines() -> None:
    text = decode_upload(
        (HEADER + 'o1,"Ann\nSmith",1,EUR,2026-01-01\no2,B,x,EUR,2026-01-01\n').encode()
    )
    rows = list(parse_orders(text, currencies=frozenset({"EUR"}), tz=UTC))
    assert rows[1] == Rejection(4, "amount 'x' is not a number")
