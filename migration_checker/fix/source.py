"""Text edits located by AST positions, applied back to front, and the diff they make."""

import ast
import difflib
from dataclasses import dataclass, field

__all__ = ["EditableSource", "unified_diff"]


@dataclass(slots=True)
class EditableSource:
    """Original text plus pending edits. AST columns are UTF-8 byte offsets, so positions are
    converted per line before slicing the str."""

    text: str
    _edits: list[tuple[int, int, str]] = field(default_factory=list)
    _line_starts: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        starts = [0]
        for line in self.text.splitlines(keepends=True):
            starts.append(starts[-1] + len(line))
        self._line_starts = starts

    def line_text(self, line: int) -> str:
        return self.text[self._line_starts[line - 1] : self._line_starts[line]]

    def index(self, line: int, col_bytes: int) -> int:
        prefix = self.line_text(line).encode("utf-8")[:col_bytes]
        return self._line_starts[line - 1] + len(prefix.decode("utf-8", errors="ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.index(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.index(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def replace(self, start: int, end: int, new: str) -> None:
        self._edits.append((start, end, new))

    def replace_node(self, node: ast.AST, new: str) -> None:
        self.replace(*self.span(node), new)

    def insert_line_before(self, line: int, content: str) -> None:
        """A full line (e.g. a comment) above `line`, indented like it; past the end, appended."""
        if line >= len(self._line_starts):
            end = len(self.text)
            prefix = "" if self.text.endswith("\n") or not self.text else "\n"
            self._edits.append((end, end, f"{prefix}{content}\n"))
            return
        current = self.line_text(line)
        indent = current[: len(current) - len(current.lstrip(" \t"))]
        start = self._line_starts[line - 1]
        self._edits.append((start, start, f"{indent}{content}\n"))

    def delete_lines(self, first: int, last: int) -> None:
        self._edits.append((self._line_starts[first - 1], self._line_starts[last], ""))

    @property
    def changed(self) -> bool:
        return bool(self._edits)

    def result(self) -> str:
        """Apply edits from the end; an insertion sorts after a deletion ending at its index,
        and insertions at one index keep the order they were made in."""
        ordered = sorted(
            enumerate(self._edits), key=lambda item: (item[1][0], item[1][1], item[0]), reverse=True
        )
        text = self.text
        floor = len(text)
        for _, (start, end, new) in ordered:
            if end > floor:
                raise ValueError(f"overlapping edits at offset {start}")
            text = text[:start] + new + text[end:]
            floor = start
        return text


def unified_diff(path: str, old: str, new: str) -> str:
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{path}",
            tofile=f"b/{path}",
        )
    )
