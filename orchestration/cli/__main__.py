"""`python -m orchestration.cli`: the same as `cdp`."""

import sys

from orchestration.cli import main

sys.exit(main())
