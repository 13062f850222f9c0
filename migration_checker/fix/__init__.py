"""`--fix`: mechanical rewrites to TaskIQ plus TODO(migrate) comments."""

from migration_checker.fix.fixer import TODO_MARK, FileFix, fix_project
from migration_checker.fix.source import unified_diff
from migration_checker.fix.target import DEFAULT_BROKER_IMPORT

__all__ = ["DEFAULT_BROKER_IMPORT", "TODO_MARK", "FileFix", "fix_project", "unified_diff"]
