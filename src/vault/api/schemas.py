"""Request and response bodies of the API, with the limits the OpenAPI document states."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from vault.access import PersonView
from vault.accounts import Account
from vault.api.tokens import LABEL_MAX_LENGTH

Username = Annotated[str, Meta(min_length=1, max_length=64)]
# Argon2id over a megabyte-long password is a denial of service, so passwords are
# capped well above any real one.
Password = Annotated[str, Meta(min_length=1, max_length=1024)]
TotpCode = Annotated[str, Meta(max_length=16)]
Purpose = Annotated[str, Meta(max_length=200)]


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password
    totp: TotpCode | None = None


class EnrolIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    username: Username
    password: Password
    label: Annotated[str, Meta(min_length=1, max_length=LABEL_MAX_LENGTH)]
    totp: TotpCode | None = None
    lifetime_days: Annotated[int, Meta(ge=1, le=90)] = 30
    jurisdiction: Annotated[str, Meta(max_length=12)] | None = None


class SearchIn(msgspec.Struct, forbid_unknown_fields=True):
    """Exactly one way of searching: an ID number, a name within a village, or a phone."""

    id_number: Annotated[str, Meta(max_length=40)] | None = None
    name: Annotated[str, Meta(max_length=100)] | None = None
    village_code: Annotated[str, Meta(max_length=20)] | None = None
    phone: Annotated[str, Meta(max_length=40)] | None = None
    purpose: Purpose | None = None


def account_out(account: Account) -> dict[str, Any]:
    return {
        "account_id": str(account.account_id),
        "name": account.name,
        "roles": list(account.roles),
        "jurisdiction": account.jurisdiction,
        "department": account.department,
    }


def person_out(view: PersonView) -> dict[str, Any]:
    return {
        "person_id": str(view.person_id),
        "village_code": view.village_code,
        "fields": dict(view.fields),
        "masks": dict(view.masks),
    }
