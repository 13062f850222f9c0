"""Boolean labels, read one way by every middleware: `retry_jitter`, `ignore_result`,
`track_started`.

A label set in Python (`@broker.task(ignore_result=True)`) arrives as a bool. One that went
through text does not: taskiq-pipelines re-sends every label as a string, and a kick from
another language or an HTTP client may say "1" or "yes". Read case-insensitively:

- true: `True`, `1`, "1", "true", "yes", "on"
- false: `False`, `0`, "0", "false", "no", "off"

Anything else is refused with `ValueError`, never guessed: at kick time by the middleware that
owns the label, at receive time by the admission checks (an `undecodable` dead letter).
"""

from collections.abc import Mapping
from typing import Any

__all__ = ["label_flag", "parse_flag"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_flag(value: object) -> bool:
    """`value` as a boolean; `ValueError` when it is none of the spellings above."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return value == 1
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"{value!r} is not a boolean (true/false, 1/0, yes/no, on/off)")


def label_flag(labels: Mapping[str, Any], name: str, default: bool = False) -> bool:
    """The boolean label `name`, or `default` when the message does not set it."""
    value = labels.get(name)
    if value is None:
        return default
    try:
        return parse_flag(value)
    except ValueError as exc:
        raise ValueError(f"label {name}: {exc}") from None
