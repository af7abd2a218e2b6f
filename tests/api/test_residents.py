"""Residents over HTTP: search, lists, reads and imports, each through the enforcement point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.api.conftest import VILLAGE_A, VILLAGE_B, bearer, make_user

from vault.api import ApiSettings, create_app
from vault.bootstrap import Services
from vault.cli.township import Resident, invent_township, write_township
from vault.policy import default_policy_directory, load_policies

Client = TestClient[Litestar]


@pytest.fixture
def clerk_a(client: Client, services: Services) -> dict[str, str]:
    """Bearer header of a clerk whose jurisdiction is village A only."""
    return bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))


def _in(township: list[Resident], village: str) -> Resident:
    return next(p for p in township if p.village_code == village)


def _search(client: Client, headers: dict[str, str], **body: str) -> Any:
    return client.post("/api/v1/persons/search", json=body, headers=headers)


def _audit(services: Services, action: str) -> list[dict[str, Any]]:
    return services.audit.records(action=action)


def test_search_by_id_number(client: Client, township: list[Resident],
                             clerk_a: dict[str, str]) -> None:
    person = _in(township, VILLAGE_A)

    response = _search(client, clerk_a, id_number=person.id_number)

    assert response.status_code == 200
    assert response.json()["results"][0]["fields"]["name"] == person.name


def test_search_by_name_in_village(client: Client, township: list[Resident],
                                   clerk_a: dict[str, str]) -> None:
    person = _in(township, VILLAGE_A)

    response = _search(client, clerk_a, name=person.name, village_code=VILLAGE_A)

    ids = [r["fields"]["id_number"] for r in response.json()["results"]]
    assert person.id_number in ids


def test_search_by_phone(client: Client, township: list[Resident],
                         clerk_a: dict[str, str]) -> None:
    person = _in(township, VILLAGE_A)
    spaced = f"{person.phone[:3]} {person.phone[3:7]} {person.phone[7:]}"

    response = _search(client, clerk_a, phone=spaced)

    ids = [r["fields"]["id_number"] for r in response.json()["results"]]
    assert person.id_number in ids


def test_search_unknown_number_empty(client: Client, township: list[Resident],
                                     clerk_a: dict[str, str]) -> None:
    response = _search(client, clerk_a, id_number="11010519491231002X")

    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_search_invalid_number_rejected(client: Client, township: list[Resident],
                                        clerk_a: dict[str, str]) -> None:
    response = _search(client, clerk_a, id_number="331024196404060390")

    assert response.status_code == 400
    assert "331024196404060390" not in response.text


def test_search_needs_one_criterion(client: Client, township: list[Resident],
                                    clerk_a: dict[str, str]) -> None:
    person = _in(township, VILLAGE_A)

    response = _search(client, clerk_a, id_number=person.id_number, phone=person.phone)

    assert response.status_code == 400
    assert response.json()["code"] == "SEARCH_CRITERIA_INVALID"


def test_search_audited_once(client: Client, services: Services, township: list[Resident],
                             clerk_a: dict[str, str]) -> None:
    person = _in(township, VILLAGE_A)

    _search(client, clerk_a, name=person.name, village_code=VILLAGE_A)

    records = _audit(services, "person.search")
    assert len(records) == 1
    assert records[0]["outcome"] == "found"
    assert records[0]["subject_ids"]


def test_list_village_pages(client: Client, township: list[Resident],
                            clerk_a: dict[str, str]) -> None:
    in_a = sum(1 for p in township if p.village_code == VILLAGE_A)

    first = client.get(f"/api/v1/villages/{VILLAGE_A}/persons?page_size=5", headers=clerk_a)
    last = client.get(f"/api/v1/villages/{VILLAGE_A}/persons?page_size=5&page=100",
                      headers=clerk_a)

    assert first.json()["total"] == in_a
    assert first.json()["count"] == 5
    assert last.json()["count"] == 0


def test_list_audited_with_subjects(client: Client, services: Services,
                                    township: list[Resident], clerk_a: dict[str, str]) -> None:
    page = client.get(f"/api/v1/villages/{VILLAGE_A}/persons?page_size=3", headers=clerk_a)

    records = _audit(services, "person.list")

    assert len(records) == 1
    assert records[0]["subject_ids"] == [r["person_id"] for r in page.json()["results"]]


def test_read_person_by_id(client: Client, township: list[Resident],
                           clerk_a: dict[str, str]) -> None:
    found = _search(client, clerk_a, id_number=_in(township, VILLAGE_A).id_number)
    person_id = found.json()["results"][0]["person_id"]

    response = client.get(f"/api/v1/persons/{person_id}", headers=clerk_a)

    assert response.status_code == 200
    assert response.json()["person_id"] == person_id


def test_read_missing_person_404(client: Client, township: list[Resident],
                                 clerk_a: dict[str, str]) -> None:
    response = client.get("/api/v1/persons/00000000-0000-4000-8000-000000000000",
                          headers=clerk_a)

    assert response.status_code == 404


# -- village A's clerk and village B ---------------------------------------------------


def _person_id_in_b(services: Services) -> str:
    with services.store.db.transaction(commit=False) as tx:
        return str(tx.scalar("SELECT person_id FROM {residents} WHERE village_code = ?",
                             (VILLAGE_B,)))


def _denied(services: Services, action: str) -> list[dict[str, Any]]:
    return [r for r in _audit(services, action) if r["outcome"] == "denied"]


def test_other_village_list_denied(client: Client, services: Services,
                                   township: list[Resident], clerk_a: dict[str, str]) -> None:
    response = client.get(f"/api/v1/villages/{VILLAGE_B}/persons", headers=clerk_a)

    assert response.status_code == 403
    assert response.json()["code"] == "OUTSIDE_JURISDICTION"
    assert len(_denied(services, "person.list")) == 1


def test_other_village_search_denied(client: Client, services: Services,
                                     township: list[Resident], clerk_a: dict[str, str]) -> None:
    person = _in(township, VILLAGE_B)

    by_number = _search(client, clerk_a, id_number=person.id_number)
    by_name = _search(client, clerk_a, name=person.name, village_code=VILLAGE_B)
    by_phone = _search(client, clerk_a, phone=person.phone)

    assert by_number.status_code == by_name.status_code == by_phone.status_code == 403
    assert len(_denied(services, "person.lookup")) == 1
    assert len(_denied(services, "person.search")) == 2


def test_other_village_read_denied(client: Client, services: Services,
                                   township: list[Resident], clerk_a: dict[str, str]) -> None:
    person_id = _person_id_in_b(services)

    response = client.get(f"/api/v1/persons/{person_id}", headers=clerk_a)

    assert response.status_code == 403
    denied = _denied(services, "person.read")
    assert [r["subject_ids"] for r in denied] == [[person_id]]


def test_denial_names_no_person(client: Client, township: list[Resident],
                                clerk_a: dict[str, str]) -> None:
    person = _in(township, VILLAGE_B)

    response = _search(client, clerk_a, id_number=person.id_number)

    assert person.name not in response.text
    assert person.id_number not in response.text


def test_token_scope_narrows_jurisdiction(client: Client, services: Services,
                                          township: list[Resident]) -> None:
    clerk = make_user(services, "clerk-town", "clerk", jurisdiction=VILLAGE_A[:9])
    narrow = bearer(client, clerk, jurisdiction=VILLAGE_A)

    response = client.get(f"/api/v1/villages/{VILLAGE_B}/persons", headers=narrow)

    assert response.status_code == 403


# -- imports -------------------------------------------------------------------------


def _upload(client: Client, headers: dict[str, str], path: Path) -> Any:
    with path.open("rb") as handle:
        return client.post("/api/v1/imports", headers=headers,
                           files={"file": (path.name, handle.read())})


def test_import_by_upload(client: Client, services: Services, tmp_path: Path) -> None:
    clerk = bearer(client, make_user(services, "clerk-town", "clerk",
                                     jurisdiction=VILLAGE_A[:9]))
    path = write_township(tmp_path / "村表.xlsx", invent_township(12, villages=2, seed=3))

    response = _upload(client, clerk, path)

    assert response.status_code == 200
    assert response.json()["registered"] == 12
    assert response.json()["file"] == "村表.xlsx"


def test_import_rejects_downloadable(client: Client, services: Services,
                                     tmp_path: Path) -> None:
    clerk = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))
    path = write_township(tmp_path / "t.xlsx", invent_township(12, villages=2, seed=3))

    summary = _upload(client, clerk, path).json()
    workbook = client.get(summary["rejects"], headers=clerk)

    assert summary["rejected"] > 0
    assert workbook.status_code == 200
    assert workbook.content[:2] == b"PK"


def test_rejects_of_others_hidden(client: Client, services: Services, tmp_path: Path) -> None:
    clerk = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))
    other = bearer(client, make_user(services, "clerk-b", "clerk", jurisdiction=VILLAGE_A))
    path = write_township(tmp_path / "t.xlsx", invent_township(12, villages=2, seed=3))
    summary = _upload(client, clerk, path).json()

    response = client.get(summary["rejects"], headers=other)

    assert response.status_code == 404


def test_oversize_upload_413(services: Services, tmp_path: Path) -> None:
    app = create_app(services, load_policies(default_policy_directory()),
                     ApiSettings(max_upload_bytes=10_000))
    with TestClient(app, base_url="https://testserver.local") as small:
        clerk = bearer(small, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))
        response = small.post("/api/v1/imports", headers=clerk,
                              files={"file": ("big.csv", b"x" * 20_000)})

    assert response.status_code == 413
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert "上限" in response.json()["message"]
