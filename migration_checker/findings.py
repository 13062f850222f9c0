"""What the checker reports: one `Finding` per construct or hazard at a place in a file."""

import enum
from dataclasses import dataclass

__all__ = ["Finding", "Kind", "Level"]


class Kind(enum.Enum):
    """A construct is work to port; a hazard is a bug waiting; a problem stops the check."""

    CONSTRUCT = "construct"
    HAZARD = "hazard"
    PROBLEM = "problem"


class Level(enum.IntEnum):
    """Ordered so that `--fail-on` can compare; the names are SARIF's levels."""

    NOTE = 1
    WARNING = 2
    ERROR = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Finding:
    """`stmt_line` is where the enclosing statement starts: where a TODO comment can go."""

    rule_id: str
    path: str
    line: int
    column: int
    message: str
    stmt_line: int = 0

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.rule_id)
