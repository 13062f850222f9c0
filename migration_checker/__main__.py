import sys

from migration_checker.cli import main

sys.exit(main())
