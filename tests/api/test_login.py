"""Login rules: one message for unknown names, delays, lockout, TOTP, sessions, CSRF."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import TestClient
from tests.api.conftest import PASSWORD, User, login, login_response, make_user

from vault.accounts import totp_code
from vault.api.sessions import SESSION_COOKIE
from vault.bootstrap import Services
from vault.clock import FixedClock
from vault.errors import AuthenticationFailed
from vault.passwords import check_new_password

Client = TestClient[Litestar]


def _attempt(client: Client, user: User, password: str, totp: str | None = None) -> Any:
    return login_response(client, user, totp, password=password)


def _wrong(client: Client, user: User, clock: FixedClock) -> Any:
    # Each wrong attempt comes after the address delay, so only the account rule counts.
    clock.advance(minutes=2)
    return _attempt(client, user, "wrong-password-123")


def test_unknown_name_same_answer(client: Client, services: Services, clock: FixedClock) -> None:
    real = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    ghost = User(real.account.__class__(real.account.account_id, "nobody-here", (), "", None,
                                        False, False))

    wrong = _wrong(client, real, clock)
    unknown = _wrong(client, ghost, clock)

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "LOGIN_FAILED"
    assert wrong.json()["message"] == unknown.json()["message"]


def test_unknown_name_costs_one_hash(client: Client, services: Services, clock: FixedClock,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    ghost = User(real.account.__class__(real.account.account_id, "nobody-here", (), "", None,
                                        False, False))
    calls: list[str] = []
    verify = PasswordHasher.verify

    def counting(self: PasswordHasher, digest: str, password: str) -> bool:
        calls.append(password)
        return verify(self, digest, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    _wrong(client, ghost, clock)
    unknown_calls = len(calls)
    calls.clear()
    _wrong(client, real, clock)

    assert unknown_calls == len(calls) == 1


def test_short_password_rejected() -> None:
    with pytest.raises(AuthenticationFailed) as raised:
        check_new_password("short-1")

    assert raised.value.code == "PASSWORD_TOO_SHORT"


def test_common_password_rejected() -> None:
    with pytest.raises(AuthenticationFailed) as raised:
        check_new_password("password1234")

    assert raised.value.code == "PASSWORD_TOO_COMMON"


def test_address_delay_after_failures(client: Client, services: Services,
                                      clock: FixedClock) -> None:
    users = [make_user(services, f"clerk-{n}", "clerk", jurisdiction="331024104") for n in range(4)]
    for user in users[:3]:
        assert _attempt(client, user, "wrong-password-123").status_code == 401

    throttled = _attempt(client, users[3], PASSWORD)

    assert throttled.status_code == 429
    assert throttled.json()["code"] == "LOGIN_THROTTLED"
    assert throttled.headers["retry-after"] == "1"


def test_address_delay_doubles(client: Client, services: Services, clock: FixedClock) -> None:
    user = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    for _ in range(3):
        _attempt(client, user, "wrong-password-123")
    clock.advance(seconds=1)

    _attempt(client, user, "wrong-password-123")
    throttled = _attempt(client, user, PASSWORD)

    assert throttled.headers["retry-after"] == "2"


def test_delay_passes_with_time(client: Client, services: Services, clock: FixedClock) -> None:
    user = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    for _ in range(3):
        _attempt(client, user, "wrong-password-123")
    clock.advance(seconds=1)

    assert _attempt(client, user, PASSWORD).status_code == 200


def test_sixth_wrong_password_locked(client: Client, services: Services,
                                     clock: FixedClock) -> None:
    user = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    for _ in range(5):
        assert _wrong(client, user, clock).status_code == 401

    sixth = _wrong(client, user, clock)

    assert sixth.status_code == 423
    assert sixth.json()["code"] == "ACCOUNT_LOCKED"


def test_locked_refuses_right_password(client: Client, services: Services,
                                       clock: FixedClock) -> None:
    user = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    for _ in range(5):
        _wrong(client, user, clock)
    clock.advance(minutes=2)

    assert _attempt(client, user, PASSWORD).status_code == 423


def test_lockout_ends_after_period(client: Client, services: Services,
                                   clock: FixedClock) -> None:
    user = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    for _ in range(5):
        _wrong(client, user, clock)
    clock.advance(minutes=31)

    assert _attempt(client, user, PASSWORD).status_code == 200


def test_unknown_name_locked_too(client: Client, services: Services, clock: FixedClock) -> None:
    real = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    ghost = User(real.account.__class__(real.account.account_id, "nobody-here", (), "", None,
                                        False, False))
    for _ in range(5):
        _wrong(client, ghost, clock)

    assert _wrong(client, ghost, clock).status_code == 423


def test_lockout_state_in_database(client: Client, services: Services,
                                   clock: FixedClock) -> None:
    user = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    for _ in range(5):
        _wrong(client, user, clock)

    with services.store.db.transaction(commit=False) as tx:
        rows = tx.execute("SELECT kind, key FROM {login_state}").fetchall()

    assert {row["kind"] for row in rows} == {"account", "address"}
    assert all(user.name not in row["key"] for row in rows)


# -- TOTP -------------------------------------------------------------------------


def test_reviewer_without_code_no_session(client: Client, services: Services) -> None:
    reviewer = make_user(services, "reviewer-one", "reviewer", jurisdiction="331024104")

    response = _attempt(client, reviewer, PASSWORD)

    assert response.status_code == 401
    assert SESSION_COOKIE not in response.cookies


def test_reviewer_wrong_code_no_session(client: Client, services: Services,
                                        clock: FixedClock) -> None:
    reviewer = make_user(services, "reviewer-one", "reviewer", jurisdiction="331024104")
    wrong = f"{(int(reviewer.code(clock)) + 1) % 1_000_000:06d}"

    response = _attempt(client, reviewer, PASSWORD, wrong)

    assert response.status_code == 401
    assert response.json()["code"] == "LOGIN_FAILED"


def test_reviewer_with_code_logs_in(client: Client, services: Services,
                                    clock: FixedClock) -> None:
    reviewer = make_user(services, "reviewer-one", "reviewer", jurisdiction="331024104")

    response = _attempt(client, reviewer, PASSWORD, reviewer.code(clock))

    assert response.status_code == 200
    assert SESSION_COOKIE in response.cookies


def test_used_code_refused_again(client: Client, services: Services, clock: FixedClock) -> None:
    reviewer = make_user(services, "reviewer-one", "reviewer", jurisdiction="331024104")
    code = reviewer.code(clock)
    assert _attempt(client, reviewer, PASSWORD, code).status_code == 200

    assert _attempt(client, reviewer, PASSWORD, code).status_code == 401


def test_next_step_code_accepted(client: Client, services: Services, clock: FixedClock) -> None:
    reviewer = make_user(services, "reviewer-one", "reviewer", jurisdiction="331024104")
    assert _attempt(client, reviewer, PASSWORD, reviewer.code(clock)).status_code == 200
    clock.advance(seconds=30)

    assert _attempt(client, reviewer, PASSWORD, reviewer.code(clock)).status_code == 200


def test_enrolment_gives_working_secret(client: Client, services: Services,
                                        clock: FixedClock) -> None:
    user = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    services.accounts.set_roles(user.name, ("reviewer",), None)
    # An account whose role needs a second factor but that has no secret yet.
    with services.store.db.transaction() as tx:
        tx.execute("UPDATE {accounts} SET totp_secret = NULL WHERE name = ?", (user.name,))
    assert _attempt(client, user, PASSWORD).json()["code"] == "TOTP_ENROLMENT_REQUIRED"

    enrolled = client.post("/api/v1/auth/totp/enrol",
                           json={"username": user.name, "password": PASSWORD})
    secret = enrolled.json()["otpauth_uri"].split("secret=")[1].split("&")[0]

    assert enrolled.json()["otpauth_uri"].startswith("otpauth://totp/")
    assert _attempt(client, user, PASSWORD, totp_code(secret, clock.now())).status_code == 200


def test_second_enrolment_refused(client: Client, services: Services) -> None:
    reviewer = make_user(services, "reviewer-one", "reviewer", jurisdiction="331024104")

    response = client.post("/api/v1/auth/totp/enrol",
                           json={"username": reviewer.name, "password": PASSWORD})

    assert response.status_code == 400
    assert response.json()["code"] == "TOTP_ALREADY_ENROLLED"


def test_admin_resets_totp(client: Client, services: Services, clock: FixedClock) -> None:
    admin = make_user(services, "root-admin", "system-admin")
    reviewer = make_user(services, "reviewer-one", "reviewer", jurisdiction="331024104")
    csrf = login(client, admin, admin.code(clock))

    reset = client.post(f"/api/v1/accounts/{reviewer.name}/totp/reset",
                        headers={"X-CSRF-Token": csrf})
    secret = reset.json()["otpauth_uri"].split("secret=")[1].split("&")[0]

    assert reset.status_code == 200
    assert _attempt(client, reviewer, PASSWORD, reviewer.code(clock)).status_code == 401
    clock.advance(minutes=2)
    assert _attempt(client, reviewer, PASSWORD, totp_code(secret, clock.now())).status_code == 200


def test_clerk_cannot_reset_totp(client: Client, services: Services) -> None:
    clerk = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    reviewer = make_user(services, "reviewer-one", "reviewer", jurisdiction="331024104")
    csrf = login(client, clerk)

    response = client.post(f"/api/v1/accounts/{reviewer.name}/totp/reset",
                           headers={"X-CSRF-Token": csrf})

    assert response.status_code == 403
    assert response.json()["code"] == "ROLE_REQUIRED"


# -- sessions -----------------------------------------------------------------------


def test_session_cookie_attributes(client: Client, services: Services) -> None:
    clerk = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")

    header = _attempt(client, clerk, PASSWORD).headers.get_list("set-cookie")
    cookie = next(c for c in header if c.startswith(SESSION_COOKIE))

    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert "Path=/" in cookie


def test_login_issues_new_session_id(client: Client, services: Services) -> None:
    clerk = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    login(client, clerk)
    first = client.cookies[SESSION_COOKIE]

    login(client, clerk)

    assert client.cookies[SESSION_COOKIE] != first
    client.cookies.set(SESSION_COOKIE, first, domain="testserver.local")
    assert client.get("/api/v1/ping").status_code == 401


def test_idle_session_expires(client: Client, services: Services, clock: FixedClock) -> None:
    clerk = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    login(client, clerk)
    clock.advance(minutes=16)

    response = client.get("/api/v1/ping")

    assert response.status_code == 401
    assert response.json()["code"] == "SESSION_EXPIRED"


def test_active_session_hits_absolute_limit(client: Client, services: Services,
                                            clock: FixedClock) -> None:
    clerk = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    login(client, clerk)
    for _ in range(47):
        clock.advance(minutes=10)
        assert client.get("/api/v1/ping").status_code == 200

    clock.advance(minutes=11)

    assert client.get("/api/v1/ping").status_code == 401


def test_logout_ends_session(client: Client, services: Services) -> None:
    clerk = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    csrf = login(client, clerk)
    cookie = client.cookies[SESSION_COOKIE]

    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200

    client.cookies.set(SESSION_COOKIE, cookie, domain="testserver.local")
    assert client.get("/api/v1/ping").status_code == 401


def test_post_without_csrf_forbidden(client: Client, services: Services) -> None:
    clerk = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    login(client, clerk)

    response = client.post("/api/v1/persons/search", json={"phone": "13800000000"})

    assert response.status_code == 403
    assert response.json()["code"] == "CSRF_FAILED"


def test_post_with_wrong_csrf_forbidden(client: Client, services: Services) -> None:
    clerk = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    login(client, clerk)

    response = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "not-the-token"})

    assert response.status_code == 403


def test_login_without_csrf_forbidden(client: Client, services: Services) -> None:
    clerk = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")

    response = client.post("/api/v1/auth/login",
                           json={"username": clerk.name, "password": PASSWORD})

    assert response.status_code == 403
    assert response.json()["code"] == "CSRF_FAILED"


def test_login_audited(client: Client, services: Services, clock: FixedClock) -> None:
    clerk = make_user(services, "clerk-one", "clerk", jurisdiction="331024104")
    _wrong(client, clerk, clock)
    login(client, clerk)

    outcomes = [r["outcome"] for r in services.audit.records(action="login")]

    assert outcomes == ["denied", "ok"]


def test_forced_change_blocks_session(client: Client, services: Services) -> None:
    """An account marked for a password change gets no session until it changes it."""
    user = make_user(services, "clerk-forced", "clerk", jurisdiction="331024104")
    services.accounts.force_password_change("clerk-forced")

    refused = login_response(client, user)

    assert refused.status_code == 401
    assert refused.json()["code"] == "PASSWORD_CHANGE_REQUIRED"
    assert SESSION_COOKIE not in refused.cookies
