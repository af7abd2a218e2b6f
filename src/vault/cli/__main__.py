"""Allow ``python -m vault.cli``."""

import sys

from vault.cli import main

sys.exit(main())
