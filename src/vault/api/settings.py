"""Settings of the HTTP API: timeouts, limits and login rules, with their reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Limits the API enforces; the defaults are the production values."""

    # Sessions end after 15 minutes without a request and 8 hours after login,
    # whichever comes first (MLPS 2.0 level 3 requires an idle timeout).
    idle_timeout: timedelta = timedelta(minutes=15)
    absolute_timeout: timedelta = timedelta(hours=8)
    # Cookies are always Secure: browsers still send them to http://127.0.0.1 and
    # http://localhost, which count as secure contexts.
    cookie_secure: bool = True
    # An account is locked after this many wrong logins in a row, for this long.
    lockout_threshold: int = 5
    lockout_period: timedelta = timedelta(minutes=30)
    # A client address that keeps failing waits 1, 2, 4 … seconds (at most the
    # maximum) after its third failure before it may try again.
    address_free_failures: int = 2
    address_max_delay: timedelta = timedelta(seconds=60)
    # Failures older than this no longer count.
    failure_window: timedelta = timedelta(hours=1)
    # API tokens live at most this long.
    token_max_lifetime: timedelta = timedelta(days=90)
    # Request bodies: JSON requests are small, a workbook upload may be large.
    max_json_bytes: int = 64 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    # Largest page of a village list.
    max_page_size: int = 200
