"""Parsing and validating an order CSV. Pure functions: no I/O, table-tested.

Whole-file problems (empty, not UTF-8, missing columns) raise `UploadError` so the route answers
4xx and stores nothing; problems of single rows become `Rejection`s recorded on the import.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation

COLUMNS = ("order_id", "customer", "amount", "currency", "created_at")
MAX_AMOUNT = Decimal("1e12")


class UploadError(ValueError):
    """The upload as a whole is unusable; the message says why."""


@dataclass(frozen=True, slots=True)
class OrderRow:
    line: int
    order_id: str
    customer: str
    amount: Decimal
    currency: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    reason: str


def decode_upload(body: bytes) -> str:
    """The upload as text, after the checks that need no row to be read."""
    if not body.strip():
        raise UploadError("the upload is empty")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadError(f"the upload is not UTF-8 (invalid byte at offset {exc.start})") from exc
    header = next(csv.reader(io.StringIO(text)), [])
    names = [name.strip() for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise UploadError(f"missing columns: {', '.join(missing)} (header: {','.join(names)})")
    return text


def parse_orders(
    text: str, *, currencies: frozenset[str], tz: tzinfo
) -> Iterator[OrderRow | Rejection]:
    """Every data row of `text`, valid or rejected, in file order.

    Naive timestamps are read in `tz`, the stack's configured timezone. A repeated order id is
    rejected on every line after the first.
    """
    reader = csv.DictReader(io.StringIO(text), skipinitialspace=True)
    reader.fieldnames = [name.strip() for name in reader.fieldnames or ()]
    first_seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        if None in record or any(record.get(column) is None for column in COLUMNS):
            yield Rejection(line, f"expected {len(reader.fieldnames)} fields")
            continue
        row = _parse_row(line, record, currencies, tz)
        if isinstance(row, OrderRow):
            if row.order_id in first_seen:
                first = first_seen[row.order_id]
                yield Rejection(
                    line, f"duplicate order_id {row.order_id!r} (first at line {first})"
                )
                continue
            first_seen[row.order_id] = line
        yield row


def _parse_row(
    line: int, record: dict[str, str], currencies: frozenset[str], tz: tzinfo
) -> OrderRow | Rejection:
    order_id = record["order_id"].strip()
    customer = record["customer"].strip()
    if not order_id or len(order_id) > 64:
        return Rejection(line, "order_id must be 1 to 64 characters")
    if not customer or len(customer) > 200:
        return Rejection(line, "customer must be 1 to 200 characters")
    try:
        amount = Decimal(record["amount"].strip())
    except InvalidOperation:
        return Rejection(line, f"amount {record['amount']!r} is not a number")
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return Rejection(
            line, f"amount {record['amount']!r} must be finite, below 1e12, at most 2 decimals"
        )
    currency = record["currency"].strip().upper()
    if currency not in currencies:
        return Rejection(line, f"unknown currency {record['currency']!r}")
    try:
        created_at = datetime.fromisoformat(record["created_at"].strip())
    except ValueError:
        return Rejection(line, f"created_at {record['created_at']!r} is not an ISO 8601 timestamp")
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=tz)
    return OrderRow(line, order_id, customer, amount, currency, created_at)
