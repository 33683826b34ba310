"""`python -m feedserver` is the `feedserver` command."""

import sys

from feedserver.cli import main

sys.exit(main())
