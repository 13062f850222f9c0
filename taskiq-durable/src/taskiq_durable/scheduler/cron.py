"""Five-field cron expressions, parsed once into sets of allowed values.

taskiq matches cron with `pycron.is_now` minute by minute and cannot say when the next or the
previous tick is; the tick loop needs both, so the expression is parsed here. The syntax and the
day rule follow pycron's (and Vixie cron's): `*`, `a`, `a-b`, `*/n`, `a-b/n`, `a/n`, lists,
month and weekday names, 0 or 7 for Sunday; when both day fields are restricted a day matching
either one matches.
"""

from dataclasses import dataclass
from datetime import date

__all__ = ["CronError", "CronExpr"]

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


class CronError(ValueError):
    """The expression is not a valid five-field cron expression; the message says why."""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    names_start: int = 0

    def number(self, text: str) -> int:
        lowered = text.lower()
        for full in (self.names, _full_names(self.names)):
            if lowered in full:
                return full.index(lowered) + self.names_start
        if not text.isdigit():
            raise CronError(f"{self.name} field: {text!r} is not a number")
        value = int(text)
        if not self.low <= value <= self.high:
            raise CronError(f"{self.name} field: {value} is outside {self.low}-{self.high}")
        return value

    def parse(self, text: str) -> frozenset[int]:
        values: set[int] = set()
        for item in text.split(","):
            if not item:
                raise CronError(f"{self.name} field: empty item in {text!r}")
            values.update(self._item(item))
        return frozenset(values)

    def _item(self, item: str) -> range:
        span, _, step_text = item.partition("/")
        step = 1
        if step_text:
            step = int(step_text) if step_text.isdigit() else 0
            if step < 1:
                raise CronError(f"{self.name} field: step {step_text!r} must be a positive number")
        if span == "*":
            return range(self.low, self.high + 1, step)
        start_text, dash, end_text = span.partition("-")
        start = self.number(start_text)
        # `a/n` runs from a to the end of the field, as in Vixie cron.
        end = self.number(end_text) if dash else (self.high if step_text else start)
        if end < start:
            raise CronError(f"{self.name} field: range {span!r} runs backwards")
        return range(start, end + 1, step)


def _full_names(abbreviations: tuple[str, ...]) -> tuple[str, ...]:
    full = {
        "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june",
        "jul": "july", "aug": "august", "sep": "september", "oct": "october",
        "nov": "november", "dec": "december", "sun": "sunday", "mon": "monday",
        "tue": "tuesday", "wed": "wednesday", "thu": "thursday", "fri": "friday",
        "sat": "saturday",
    }  # fmt: skip
    return tuple(full.get(name, name) for name in abbreviations)


FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTHS, names_start=1),
    _Field("day-of-week", 0, 7, WEEKDAYS),
)


@dataclass(frozen=True, slots=True)
class CronExpr:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    either_day: bool  # both day fields restricted: a day matching either one matches

    @classmethod
    def parse(cls, text: str) -> "CronExpr":
        parts = text.split()
        if len(parts) != len(FIELDS):
            raise CronError(f"cron {text!r}: expected 5 fields, got {len(parts)}")
        try:
            minutes, hours, days, months, weekdays = (
                field.parse(part) for field, part in zip(FIELDS, parts, strict=True)
            )
        except CronError as exc:
            raise CronError(f"cron {text!r}: {exc}") from None
        return cls(
            minutes=minutes,
            hours=hours,
            days=days,
            months=months,
            weekdays=frozenset(day % 7 for day in weekdays),
            either_day="*" not in parts[2] and "*" not in parts[4],
        )

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = day.isoweekday() % 7 in self.weekdays
        return (in_days or in_weekdays) if self.either_day else (in_days and in_weekdays)
