"""`--fix`: mechanical rewrites to TaskIQ plus TODO(migrate) comments."""

from migration_checker.fix.fixer import TODO_MARK, FileFix, fix_project
from migration_checker.fix.source import unified_diff

__all__ = ["TODO_MARK", "FileFix", "fix_project", "unified_diff"]
