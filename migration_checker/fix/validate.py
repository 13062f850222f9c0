"""What `--fix` proves before it emits a rewritten module: it compiles, and every name the
original could resolve still resolves. Files in syntax newer than the running interpreter are
checked on their lowered form (parsing.py), so the same proof holds for them."""

import builtins
import symtable

from migration_checker.parsing import SourceError, lower_source

__all__ = ["rewrite_problem"]

_BUILTINS = frozenset(dir(builtins)) | {"__file__", "__name__", "__doc__", "__spec__"}


def _unresolved(text: str, filename: str) -> set[str]:
    """Names read somewhere in the module that no scope binds (nor a builtin). A star import
    may bind anything, so a module with one resolves everything."""
    top = symtable.symtable(text, filename, "exec")
    defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    if "*" in defined:
        return set()
    missing: set[str] = set()
    stack = [top]
    while stack:
        table = stack.pop()
        stack += table.get_children()
        for symbol in table.get_symbols():
            name = symbol.get_name()
            if not symbol.is_referenced() or name in _BUILTINS or name in defined:
                continue
            if symbol.is_global() or (table is top and not symbol.is_assigned()):
                missing.add(name)
    return missing


def _compiles(text: str, filename: str, lowered: bool) -> str:
    """The text to analyse (lowered when needed); raises SyntaxError/SourceError if invalid."""
    checked = lower_source(text) if lowered else text
    compile(checked, filename, "exec", dont_inherit=True)
    return checked


def rewrite_problem(old: str, new: str, filename: str, lowered: bool) -> str | None:
    """Why `new` can't replace `old`, or None when it is safe to write."""
    try:
        checked = _compiles(new, filename, lowered)
    except (SyntaxError, ValueError, SourceError) as exc:
        line = getattr(exc, "lineno", None) or getattr(exc, "line", "?")
        return f"the rewrite would not compile (line {line})"
    lost = _unresolved(checked, filename) - _unresolved(
        lower_source(old) if lowered else old, filename
    )
    if lost:
        return f"the rewrite would leave {', '.join(sorted(lost))} undefined"
    return None
