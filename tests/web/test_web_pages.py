"""The pages without a browser: escaping, CSRF, redirects, headers and scope."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import TestClient

from tests.api.conftest import bearer
from tests.web.conftest import PLANTED_ID_NUMBER, PLANTED_NAME, Registry

Client = TestClient[Litestar]
_TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _log_in(client: Client, registry: Registry, role: str = "clerk") -> str:
    """Log in through the form; return the session's CSRF token from the home page."""
    user = registry.users[role]
    login_token = _TOKEN.search(client.get("/login").text)
    assert login_token is not None
    form = {"username": user.name, "password": user.password, "_csrf_token": login_token[1]}
    if user.account.needs_totp:
        registry.clock.advance(seconds=30)
        form["totp"] = user.code(registry.clock)
    response = client.post("/login", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    home = _TOKEN.search(client.get("/").text)
    assert home is not None
    return home[1]


def test_planted_script_shown_as_text(client: Client, registry: Registry) -> None:
    token = _log_in(client, registry)
    escaped = "&lt;script&gt;window.planted=1&lt;/script&gt;"

    pages = {
        "search": client.post("/residents/search", data={
            "kind": "id_number", "id_number": PLANTED_ID_NUMBER, "_csrf_token": token}),
        "village": client.get(f"/villages/{registry.village_a}"),
        "resident": client.get(f"/residents/{registry.planted}"),
    }

    for name, response in pages.items():
        assert response.status_code == 200, name
        assert escaped in response.text, name
        assert PLANTED_NAME not in response.text, name


def test_form_without_csrf_rejected(client: Client, registry: Registry) -> None:
    _log_in(client, registry)

    response = client.post("/residents/search", data={
        "kind": "id_number", "id_number": PLANTED_ID_NUMBER})

    assert response.status_code == 403
    assert "表单已过期" in response.text
    assert "&lt;script&gt;" not in response.text


def test_login_without_csrf_rejected(client: Client, registry: Registry) -> None:
    user = registry.users["clerk"]

    response = client.post("/login", data={"username": user.name, "password": user.password})

    assert response.status_code == 403
    assert "__Host-vault-session" not in response.headers.get("set-cookie", "")


def test_pages_redirect_to_login(client: Client) -> None:
    response = client.get("/residents", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_bearer_token_gets_no_pages(client: Client, registry: Registry) -> None:
    headers = bearer(client, registry.users["clerk"])

    response = client.get(f"/residents/{registry.planted}", headers=headers,
                          follow_redirects=False)

    assert response.status_code == 303
    assert PLANTED_ID_NUMBER not in response.text


def test_language_redirect_stays_local(client: Client) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = client.get("/language/en", params={"next": target}, follow_redirects=False)

        assert response.headers["location"] == "/", target


def test_page_policy_allows_own_files(client: Client) -> None:
    page = client.get("/login")
    api = client.get("/api/v1/health")

    assert "style-src 'self'" in page.headers["content-security-policy"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert api.headers["content-security-policy"].startswith("default-src 'none';")
    assert "style-src" not in api.headers["content-security-policy"]
    assert client.get("/static/vault.css").status_code == 200


def test_page_read_audited_once(client: Client, registry: Registry) -> None:
    _log_in(client, registry)
    before = registry.services.audit.count("person.read")

    client.get(f"/residents/{registry.planted}")

    records = registry.services.audit.records(action="person.read", newest_first=True, limit=1)
    assert registry.services.audit.count("person.read") == before + 1
    assert records[0]["subject_ids"][0] == str(registry.planted)
    assert records[0]["account_name"] == "clerk-a"


def test_other_accounts_import_hidden(client: Client, registry: Registry) -> None:
    _log_in(client, registry)

    response = client.get("/imports/" + "a" * 32 + "/status")

    assert response.status_code == 404


def test_password_change_forced(client: Client, registry: Registry) -> None:
    registry.services.accounts.force_password_change("clerk-a")
    _log_in_forced = _TOKEN.search(client.get("/login").text)
    assert _log_in_forced is not None
    user = registry.users["clerk"]
    client.post("/login", data={"username": user.name, "password": user.password,
                                "_csrf_token": _log_in_forced[1]})

    redirected = client.get("/residents", follow_redirects=False)
    form = client.get("/password")
    token = _TOKEN.search(form.text)
    assert token is not None
    mismatch = client.post("/password", data={
        "current_password": user.password, "new_password": "a-new-password-42",
        "confirm_password": "another-password-42", "_csrf_token": token[1]})
    changed = client.post("/password", data={
        "current_password": user.password, "new_password": "a-new-password-42",
        "confirm_password": "a-new-password-42", "_csrf_token": token[1]},
        follow_redirects=False)

    assert redirected.headers["location"] == "/password"
    assert form.status_code == 200
    assert mismatch.status_code == 400
    assert "不一致" in mismatch.text
    assert changed.status_code == 303
    assert not registry.services.accounts.get("clerk-a").must_change_password


# Pages anybody may open: the login form and its post, the language switch, the
# stylesheet and script.
PUBLIC_PAGES = {("GET", "/login"), ("POST", "/login"), ("GET", "/language/{choice:str}")}


def test_pages_have_guard(app: Litestar) -> None:
    from litestar.routes import HTTPRoute  # noqa: PLC0415

    from vault.web.pages import signed_in  # noqa: PLC0415

    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(("/api/", "/static")):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods - {"HEAD", "OPTIONS"}:
                if (method, route.path) in PUBLIC_PAGES:
                    continue
                assert signed_in in handler.resolve_guards(), f"{method} {route.path} unguarded"
