"""Files with personal data in clear: private on creation, removed when left behind."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from vault.api.app import STALE_UPLOAD_SECONDS, remove_stale_uploads
from vault.files import open_private


def test_open_private_creates_owner_only_file(tmp_path: Path) -> None:
    path = tmp_path / "upload.csv"

    with open_private(path) as target:
        target.write(b"x")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        open_private(path)


def test_stale_upload_folders_are_removed_at_start(tmp_path: Path) -> None:
    old, fresh, other = tmp_path / "upload-old", tmp_path / "upload-new", tmp_path / "reports"
    for folder in (old, fresh, other):
        folder.mkdir()
        (folder / "file.csv").write_text("x")
    long_ago = time.time() - STALE_UPLOAD_SECONDS - 60
    os.utime(old, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))

    remove_stale_uploads(tmp_path)

    assert not old.exists()
    assert fresh.exists()
    assert other.exists()
