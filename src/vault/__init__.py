"""Vault: a privacy-hardened full-population registry (全员人口信息数据库)."""

__version__ = "0.1.0"
