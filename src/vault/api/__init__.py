"""The HTTP API of the registry (Litestar), served under ``/api/v1``."""

from vault.api.app import create_app
from vault.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
