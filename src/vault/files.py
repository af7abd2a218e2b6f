"""Files that hold personal data in clear: created readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO


def open_private(path: Path) -> BinaryIO:
    """Create ``path`` for writing with mode 0600; fail if it exists.

    The mode is set when the file is created, so there is no moment in which the
    file is readable by others, as there would be before a later ``chmod``.
    """
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    return os.fdopen(descriptor, "wb")
