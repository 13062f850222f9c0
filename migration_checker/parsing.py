"""Parse scanned code with a grammar of Python 3.0 to 3.14, whatever interpreter runs the checker.

The scanner works on `ast` trees of the running interpreter. A file that it rejects but that
libcst's grammar (every version up to 3.14) accepts uses newer syntax: PEP 695 type parameters
and `type` aliases, PEP 701 f-strings, PEP 750 t-strings, PEP 758 unparenthesised `except`.
Those spans are lowered to older syntax of the same UTF-8 width on the same lines (type
parameters blanked, f-strings turned into a blank literal), so every position in the tree is
a position in the original text and `--fix` edits the original."""

import ast
from dataclasses import dataclass

import libcst as cst
from libcst import metadata

__all__ = ["ParsedModule", "SourceError", "lower_source", "parse_source"]


class SourceError(Exception):
    """The file is not Python of any version the grammar knows (or not lowerable)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True, slots=True)
class ParsedModule:
    tree: ast.Module
    # True when the file needed a grammar newer than the running interpreter's.
    lowered: bool


_STRINGS = (cst.FormattedString, cst.TemplatedString)


def _blank(text: str) -> str:
    """Spaces of the same UTF-8 width, newlines kept: AST columns are byte offsets."""
    return "".join(c if c == "\n" else " " * len(c.encode("utf-8")) for c in text)


def _string_literal(text: str) -> str:
    """A plain literal as wide as the f-string it replaces, on the same lines."""
    blank = _blank(text)
    if "\n" not in blank:
        return '"' + blank[1:-1] + '"'
    # A blank string can't span lines without a continuation on each; parentheses can.
    return "(0" + blank[2:-1] + ")"


class _Lowering(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (metadata.PositionProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[metadata.CodePosition, metadata.CodePosition, str]] = []

    def _add(self, node: cst.CSTNode, kind: str) -> None:
        where = self.get_metadata(metadata.PositionProvider, node)
        self.spans.append((where.start, where.end, kind))

    def visit_TypeParameters(self, node: cst.TypeParameters) -> None:
        self._add(node, "blank")

    def visit_TypeAlias(self, node: cst.TypeAlias) -> None:
        # Only the `type` keyword and the space after it: the rest is an assignment already.
        start = self.get_metadata(metadata.PositionProvider, node).start
        name = self.get_metadata(metadata.PositionProvider, node.name).start
        self.spans.append((start, name, "alias"))

    def visit_FormattedString(self, node: cst.FormattedString) -> bool:
        self._add(node, "string")
        return False

    def visit_TemplatedString(self, node: cst.TemplatedString) -> bool:
        self._add(node, "string")
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if isinstance(node.type, cst.Tuple) and not node.type.lpar:
            self._add(node.type, "parenthesise")

    def visit_ExceptStarHandler(self, node: cst.ExceptStarHandler) -> None:
        if isinstance(node.type, cst.Tuple) and not node.type.lpar:
            self._add(node.type, "parenthesise")


def lower_source(text: str) -> str:
    """`text` with the syntax newer than 3.11 rewritten in place (see the module docstring);
    SourceError when no Python grammar accepts it."""
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        raise SourceError(exc.raw_line, f"syntax error: {exc.message}") from exc
    visitor = _Lowering()
    metadata.MetadataWrapper(module, unsafe_skip_copy=True).visit(visitor)
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    edits: list[tuple[int, int, str]] = []
    for first, last, kind in visitor.spans:
        start = starts[first.line - 1] + first.column
        end = starts[last.line - 1] + last.column
        original = text[start:end]
        if kind == "blank":
            new = _blank(original)
        elif kind == "string":
            new = _string_literal(original)
        elif kind == "alias":
            # `type X[T] = v` → `____=X    = v`: a chained assignment of the same width.
            new = "_" * (len(original) - 1) + "="
        else:
            # `except A, B:` → `except(A, B):`, the space before the types absorbing `(`.
            if text[start - 1] == " ":
                start -= 1
            new = "(" + original + ")"
        edits.append((start, end, new))
    # A span inside another (an f-string in a type parameter's default) goes with it.
    kept: list[tuple[int, int, str]] = []
    for edit in sorted(edits, key=lambda e: (e[0], -e[1])):
        if not kept or edit[0] >= kept[-1][1]:
            kept.append(edit)
    lowered = text
    for start, end, new in reversed(kept):
        lowered = lowered[:start] + new + lowered[end:]
    return lowered


def parse_source(text: str, filename: str) -> ParsedModule:
    try:
        return ParsedModule(ast.parse(text, filename=filename), lowered=False)
    except (SyntaxError, ValueError) as exc:
        first_error = exc
    lowered = lower_source(text)
    try:
        return ParsedModule(ast.parse(lowered, filename=filename), lowered=True)
    except (SyntaxError, ValueError):
        line = getattr(first_error, "lineno", None) or 1
        detail = getattr(first_error, "msg", str(first_error))
        raise SourceError(
            line, f"valid Python, but syntax the checker cannot read yet: {detail}"
        ) from first_error
