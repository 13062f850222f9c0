"""Parsing and validating an order CSV as a stream of bytes. Pure: no I/O, table-tested.

Whole-file problems (empty, not UTF-8, an unusable or incomplete header) raise `UploadError`, so
the route answers 400 and stores nothing. A problem of one row, whatever it is (a bad value, a
NUL, a bare CR, a field or row over the limits, bytes that are not UTF-8), is a `Rejection` with
the row's line, and the rows after it are read as usual.

Memory is bounded whatever the file: `RecordReader` holds what it was fed plus at most one
record (`MAX_RECORD_BYTES`); a longer line is counted and skipped, never buffered. No message
echoes more than a few dozen characters of the input.
"""

import codecs
import csv
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation

COLUMNS = ("order_id", "customer", "amount", "currency", "created_at")
# Digits before the point an amount may have: numeric(14, 2) holds below 1e12.
MAX_DIGITS = 12
# The longest row (all its lines) read; a real order row is well under 1 KiB.
MAX_RECORD_BYTES = 1024 * 1024
# The csv module's own per-field limit (its default; this module never changes the global).
FIELD_LIMIT = 131072
# How much of a value or header a message shows.
SHOWN_CHARS = 40
HEADER_SHOWN_CHARS = 200
BOM = codecs.BOM_UTF8


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


@dataclass(frozen=True, slots=True)
class Record:
    """One CSV record: its first line, where it ends (byte offset just after it, and its last
    line), and its fields, or the reason it could not be read (then `fields` is empty)."""

    line: int
    end: int
    end_line: int
    fields: list[str]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Header:
    columns: dict[str, int]  # column name -> field index
    width: int  # fields a row must have
    end: int  # byte offset of the first data row
    line: int  # lines the header takes (the line before the first data row)


def shown(value: str, limit: int = SHOWN_CHARS) -> str:
    """`value` quoted for a message, cut to `limit` characters."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value)} characters)"


class _BadLine(Exception):
    """A line the csv reader must not see: raised through it, so the record is dropped."""


class _Lines:
    """The csv reader's input: complete lines, decoded one at a time, counted in bytes."""

    def __init__(self, offset: int, line: int) -> None:
        # (line bytes, or None for a line too long to keep; its length in bytes)
        self.queue: deque[tuple[bytes | None, int]] = deque()
        self.buffered = 0
        self.offset = offset
        self.line = line
        self.record_bytes = 0
        self.exhausted = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if not self.queue:
            self.exhausted = True
            raise StopIteration
        data, length = self.queue.popleft()
        self.buffered -= length
        at_start = self.offset == 0
        self.offset += length
        self.line += 1
        self.record_bytes += length
        if data is None or self.record_bytes > MAX_RECORD_BYTES:
            raise _BadLine(f"row over {MAX_RECORD_BYTES} bytes")
        if at_start and data.startswith(BOM):
            data = data[len(BOM) :]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _BadLine(f"not UTF-8 (invalid byte at offset {exc.start} of the line)") from exc


def _csv_reason(exc: csv.Error) -> str:
    message = str(exc)
    if message.startswith("field larger than field limit"):
        return f"a field is over {FIELD_LIMIT} characters"
    if message.startswith("new-line character seen in unquoted field"):
        return "a bare CR in an unquoted field (quote the field, or end lines with LF or CRLF)"
    return message


class RecordReader:
    """CSV records from bytes fed in pieces, starting at byte `offset`, which is at `line`.

    Lines end in LF (CRLF is a line ending to the csv reader too; a bare CR is not). A record
    is parsed only when more than `MAX_RECORD_BYTES` of complete lines are buffered, or the
    input has ended, so the csv reader never runs dry inside a record.
    """

    def __init__(self, *, offset: int = 0, line: int = 0) -> None:
        self._lines = _Lines(offset, line)
        self._csv = csv.reader(self._lines, skipinitialspace=True, strict=False)
        self._partial = bytearray()
        self._skipped = -1  # bytes of an over-long line seen so far, or -1
        self._ended = False

    def feed(self, data: bytes) -> None:
        start = 0
        while (newline := data.find(b"\n", start)) >= 0:
            self._line_end(data[start : newline + 1])
            start = newline + 1
        self._extend(data[start:])

    def end(self) -> None:
        """No more input: what is left is the last line."""
        if self._skipped >= 0 or self._partial:
            self._line_end(b"")
        self._ended = True

    def _line_end(self, tail: bytes) -> None:
        if self._skipped >= 0:
            self._push(None, self._skipped + len(tail))
            self._skipped = -1
            return
        line = bytes(self._partial) + tail
        self._partial.clear()
        self._push(line if len(line) <= MAX_RECORD_BYTES else None, len(line))

    def _extend(self, piece: bytes) -> None:
        if self._skipped >= 0:
            self._skipped += len(piece)
        elif len(self._partial) + len(piece) > MAX_RECORD_BYTES:
            self._skipped = len(self._partial) + len(piece)
            self._partial.clear()
        else:
            self._partial += piece

    def _push(self, line: bytes | None, length: int) -> None:
        self._lines.queue.append((line, length))
        self._lines.buffered += length

    def next(self, *, eager: bool = False) -> Record | None:
        """The next record; None when more input is needed first (or there is none).

        `eager` parses from whatever is buffered; a record the input ran out in the middle of
        is then None too (the header check uses it on the head of an upload)."""
        lines = self._lines
        if not lines.queue or not (eager or self._ended or lines.buffered > MAX_RECORD_BYTES):
            return None
        first, lines.record_bytes, lines.exhausted = lines.line + 1, 0, False
        try:
            fields = next(self._csv)
        except StopIteration:
            return None
        except (_BadLine, csv.Error) as exc:
            reason = _csv_reason(exc) if isinstance(exc, csv.Error) else str(exc)
            if lines.line > first:
                reason += f" (lines {first}-{lines.line}: an unclosed quote?)"
            return Record(first, lines.offset, lines.line, [], reason)
        if lines.exhausted and not self._ended:
            return None
        return Record(first, lines.offset, lines.line, fields)


class UploadCheck:
    """The whole-file checks, fed the upload as it arrives: UTF-8 throughout, not blank, a
    header with every column. Keeps only the first `MAX_RECORD_BYTES` + 1 bytes."""

    def __init__(self) -> None:
        self.size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._head = bytearray()
        self._content = False

    def feed(self, data: bytes, *, final: bool = False) -> None:
        pending = len(self._decoder.getstate()[0])
        try:
            self._decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            start = bytes(self._head[:2]) or data[:2]
            raise UploadError(self._not_utf8(self.size - pending + exc.start, start)) from exc
        self._content = self._content or bool(data.strip())
        room = MAX_RECORD_BYTES + 1 - len(self._head)
        if room > 0:
            self._head += data[:room]
        self.size += len(data)

    @staticmethod
    def _not_utf8(offset: int, start: bytes) -> str:
        if offset == 0 and start in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            return "the upload is UTF-16, not UTF-8: save it as UTF-8"
        return f"the upload is not UTF-8 (invalid byte at offset {offset})"

    def finish(self) -> Header:
        self.feed(b"", final=True)
        if not self._content:
            raise UploadError("the upload is empty")
        return parse_header(bytes(self._head), complete=len(self._head) == self.size)


def parse_header(head: bytes, *, complete: bool) -> Header:
    """The header row, from the first bytes of an upload (all of it when `complete`)."""
    reader = RecordReader()
    reader.feed(head)
    if complete:
        reader.end()
    record = reader.next(eager=True)
    if record is None:
        raise UploadError(f"the header row is over {MAX_RECORD_BYTES} bytes")
    if record.error is not None:
        raise UploadError(f"the header row is unusable: {record.error}")
    names = [name.strip() for name in record.fields]
    counts = Counter(names)  # not names.count(): quadratic in a header of 100 000 columns
    repeated = [column for column in COLUMNS if counts[column] > 1]
    if repeated:
        raise UploadError(f"duplicate columns: {', '.join(repeated)}")
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise UploadError(f"missing columns: {', '.join(missing)} (header: {_header_shown(names)})")
    return Header(
        columns={name: names.index(name) for name in COLUMNS},
        width=len(names),
        end=record.end,
        line=record.end_line,
    )


def _header_shown(names: list[str]) -> str:
    text = ",".join(names)
    if len(text) <= HEADER_SHOWN_CHARS:
        return text
    return f"{text[:HEADER_SHOWN_CHARS]}… ({len(text)} characters)"


def parse_record(
    record: Record, header: Header, *, currencies: frozenset[str], tz: tzinfo
) -> OrderRow | Rejection | None:
    """The order in `record`, or why not; None for a blank line.

    Naive timestamps are read in `tz`, the stack's configured timezone."""
    line = record.line
    if record.error is not None:
        return Rejection(line, record.error)
    if not record.fields:
        return None
    if len(record.fields) != header.width:
        return Rejection(line, f"expected {header.width} fields")
    values = {column: record.fields[index] for column, index in header.columns.items()}
    for column, value in values.items():
        if "\x00" in value:
            return Rejection(line, f"{column} contains a NUL character")
    return _parse_values(line, values, currencies, tz)


def _parse_values(
    line: int, values: dict[str, str], currencies: frozenset[str], tz: tzinfo
) -> OrderRow | Rejection:
    order_id = values["order_id"].strip()
    customer = values["customer"].strip()
    if not order_id or len(order_id) > 64:
        return Rejection(line, "order_id must be 1 to 64 characters")
    if not customer or len(customer) > 200:
        return Rejection(line, "customer must be 1 to 200 characters")
    raw_amount = values["amount"]
    out_of_range = f"amount {shown(raw_amount)} must be finite, below 1e12, at most 2 decimals"
    try:
        amount = Decimal(raw_amount.strip())
    except InvalidOperation:
        return Rejection(line, f"amount {shown(raw_amount)} is not a number")
    # `adjusted()`, not `abs(amount) >= 1e12`: arithmetic on 1e999999999 overflows the context.
    if not amount.is_finite() or amount.adjusted() >= MAX_DIGITS or amount.as_tuple().exponent < -2:  # type: ignore[operator]
        return Rejection(line, out_of_range)
    currency = values["currency"].strip().upper()
    if currency not in currencies:
        return Rejection(line, f"unknown currency {shown(values['currency'])}")
    raw_created = values["created_at"]
    try:
        created_at = datetime.fromisoformat(raw_created.strip())
    except ValueError:
        return Rejection(line, f"created_at {shown(raw_created)} is not an ISO 8601 timestamp")
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=tz)
    try:
        # Stored as UTC: an offset that takes it past year 1 or 9999 is not a timestamp.
        created_at.astimezone(UTC)
    except OverflowError:
        return Rejection(line, f"created_at {shown(raw_created)} is out of range")
    return OrderRow(line, order_id, customer, amount, currency, created_at)
