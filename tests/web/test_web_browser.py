"""Each role's main flow in a real browser (Debian's Chromium driven by Playwright).

Every test starts its own registry and server on 127.0.0.1 and logs in through the
login form. Set ``VAULT_WEB_SCREENSHOTS=docs/screens`` to refresh the screenshots
that the user guide shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.web.browser import VIEWPORT, log_in, playwright_browser, screenshot
from tests.web.conftest import PLANTED_ID_NUMBER, PLANTED_NAME, Registry
from vault.cli.township import invent_township, write_township

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from playwright_browser()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert errors == [], "a page raised a JavaScript error"


def _status(response: Any) -> int:
    assert response is not None
    return int(response.status)


def _menu(page: Any) -> list[str]:
    return [text.strip() for text in page.locator("nav[aria-label] a").all_inner_texts()]


def test_login_page_in_chinese(page: Any, server: str, tmp_path: Path) -> None:
    page.goto(f"{server}/")

    assert page.url == f"{server}/login"
    assert page.title().startswith("登录")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_label("动态口令").is_visible()
    screenshot(page, "login", tmp_path)


def test_login_keyboard_only(page: Any, server: str, registry: Registry) -> None:
    user = registry.users["clerk"]
    page.goto(f"{server}/login")

    # The name field takes focus on arrival; Tab moves through the form in order.
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")
    page.keyboard.type(user.name)
    page.keyboard.press("Tab")
    page.keyboard.type(user.password)
    page.keyboard.press("Enter")

    expect(page).to_have_title(re.compile("^首页"))


def test_wrong_password_keeps_name(page: Any, server: str, registry: Registry) -> None:
    page.goto(f"{server}/login")
    page.get_by_label("用户名").fill("clerk-a")
    page.get_by_label("口令", exact=True).fill("wrong-password-123")
    page.get_by_role("button", name="登录").click()

    assert page.get_by_role("alert").inner_text().startswith("用户名、口令或动态口令错误")
    assert page.get_by_label("用户名").input_value() == "clerk-a"
    assert page.get_by_label("口令", exact=True).input_value() == ""


def test_clerk_searches_and_reads(page: Any, server: str, registry: Registry,
                                  tmp_path: Path) -> None:
    log_in(page, server, registry, "clerk")
    assert _menu(page) == ["首页", "居民查询", "导入登记表"]
    screenshot(page, "home-clerk", tmp_path)

    page.get_by_role("link", name="居民查询").first.click()
    page.get_by_label("公民身份号码或其他证件号码").fill(PLANTED_ID_NUMBER)
    # The search is a form POST: wait for its page before counting the rows.
    with page.expect_navigation():
        page.get_by_label("公民身份号码或其他证件号码").press("Enter")
    results = page.locator("table.list tbody tr")
    expect(results).to_have_count(1)
    assert PLANTED_NAME in results.first.inner_text()
    assert PLANTED_ID_NUMBER in results.first.inner_text()
    screenshot(page, "search-clerk", tmp_path)

    page.get_by_role("link", name=PLANTED_NAME).click()
    assert page.title().startswith("居民信息")
    assert page.locator("h2.person").inner_text() == PLANTED_NAME

    page.goto(f"{server}/villages/{registry.village_a}")
    assert PLANTED_NAME in page.locator("table.list").inner_text()
    assert page.evaluate("window.planted") is None

    page.goto(f"{server}/residents/{registry.person_in(registry.village_a)}")
    assert page.get_by_role("heading", name="同户成员").is_visible()
    screenshot(page, "resident-clerk", tmp_path)


def test_clerk_cannot_reach_other_village(page: Any, server: str, registry: Registry) -> None:
    log_in(page, server, registry, "clerk")

    by_list = page.goto(f"{server}/villages/{registry.village_b}")
    assert _status(by_list) == 403
    assert "辖区" in page.get_by_role("alert").inner_text()

    by_person = page.goto(f"{server}/residents/{registry.person_in(registry.village_b)}")
    assert _status(by_person) == 403
    assert page.locator("dl.fields").count() == 0


def _workbook_with_problems(tmp_path: Path) -> Path:
    people = invent_township(30, villages=2, seed=11)
    path = write_township(tmp_path / "upload.xlsx", people)
    workbook = load_workbook(path)
    sheet = workbook.active
    assert sheet is not None
    sheet.cell(row=5, column=8).value = "331024199913320000"  # an invalid ID number
    workbook.save(path)
    return path


def test_clerk_imports_workbook(page: Any, server: str, registry: Registry,
                                tmp_path: Path) -> None:
    workbook = _workbook_with_problems(tmp_path)
    log_in(page, server, registry, "clerk")

    page.goto(f"{server}/imports")
    page.get_by_label(re.compile("入户登记表")).set_input_files(str(workbook))
    page.get_by_role("button", name="上传并导入").click()
    page.get_by_text("导入完成。").wait_for()

    villages = page.locator("table.list tbody tr")
    expect(villages.nth(1)).to_be_visible()
    # The village outside the clerk's jurisdiction comes first: every row refused.
    assert "100.0%" in villages.first.inner_text()
    screenshot(page, "import-summary", tmp_path)

    with page.expect_download() as download:
        page.get_by_role("link", name="下载问题行工作簿").click()
    saved = tmp_path / "rejects.xlsx"
    download.value.save_as(saved)
    assert load_workbook(saved).sheetnames


def test_reviewer_sees_masked(page: Any, server: str, registry: Registry) -> None:
    log_in(page, server, registry, "reviewer")
    assert _menu(page) == ["首页", "居民查询"]

    page.goto(f"{server}/residents")
    page.get_by_label("公民身份号码或其他证件号码").fill(PLANTED_ID_NUMBER)
    with page.expect_navigation():
        page.get_by_role("button", name="查询").first.click()
    row = page.locator("table.list tbody tr").first.inner_text()
    assert PLANTED_ID_NUMBER not in row
    assert f"{PLANTED_ID_NUMBER[:6]}********{PLANTED_ID_NUMBER[-4:]}" in row
    assert PLANTED_NAME not in row
    assert _status(page.goto(f"{server}/imports")) == 403


def test_officer_reads_lookups(page: Any, server: str, registry: Registry,
                               tmp_path: Path) -> None:
    clerk = registry.users["clerk"].account
    from vault.access import Gate  # noqa: PLC0415
    from vault.policy import default_policy_directory, load_policies  # noqa: PLC0415

    gate = Gate(registry.services, load_policies(default_policy_directory()))
    gate.read_person(clerk, registry.planted, request_id="0" * 32)
    log_in(page, server, registry, "security-officer")
    assert _menu(page) == ["首页", "居民查询", "查询记录", "访问策略"]

    page.get_by_role("link", name="查询记录").first.click()
    page.get_by_label("账户").fill(clerk.name)
    with page.expect_navigation():
        page.get_by_role("button", name="筛选").click()
    rows = page.locator("table.records tbody tr")
    expect(rows.first).to_be_visible()
    assert clerk.name in rows.first.inner_text()
    assert str(registry.planted)[:8] in rows.first.inner_text()
    screenshot(page, "records-officer", tmp_path)

    page.get_by_label("被查询人的证件号码").fill(PLANTED_ID_NUMBER)
    with page.expect_navigation():
        page.get_by_role("button", name="筛选").click()
    assert str(registry.planted) in page.locator("main").inner_text()


def test_security_admin_reads_policies(page: Any, server: str, registry: Registry,
                                       tmp_path: Path) -> None:
    log_in(page, server, registry, "security-admin")
    assert _menu(page) == ["首页", "访问策略"]

    page.get_by_role("link", name="访问策略").first.click()
    page.get_by_label("角色").select_option("reviewer")
    with page.expect_navigation():
        page.get_by_role("button", name="查看角色").click()
    table = page.locator("table.policy").inner_text()
    assert "公民身份号码" in table
    assert "不可见" in table
    screenshot(page, "policies", tmp_path)
    assert _status(page.goto(f"{server}/residents")) == 403


def test_system_admin_manages_accounts(page: Any, server: str, registry: Registry,
                                       tmp_path: Path) -> None:
    log_in(page, server, registry, "system-admin")
    assert _menu(page) == ["首页", "账户管理"]
    page.get_by_role("link", name="账户管理").first.click()
    screenshot(page, "accounts", tmp_path)

    page.get_by_role("link", name="新建账户").click()
    page.get_by_label("用户名").fill("two-hats")
    page.get_by_label("系统管理员（system-admin）").check()
    page.get_by_label("安全审计员（security-officer）").check()
    with page.expect_navigation():
        page.get_by_role("button", name="创建账户").click()
    assert "三权分立" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("用户名").input_value() == "two-hats"
    assert page.get_by_label("安全审计员（security-officer）").is_checked()

    page.get_by_label("系统管理员（system-admin）").uncheck()
    page.get_by_label("安全审计员（security-officer）").uncheck()
    page.get_by_label("信息员（clerk）").check()
    page.get_by_label(re.compile("管辖范围")).fill(registry.village_a)
    with page.expect_navigation():
        page.get_by_role("button", name="创建账户").click()
    assert page.title().startswith("账户已创建")
    assert page.locator("dl.fields code").first.inner_text()

    page.goto(f"{server}/accounts/reviewer-1")
    with page.expect_navigation():
        page.get_by_role("button", name="重置动态口令").click()
    assert "otpauth://" in page.locator("main").inner_text()
    page.get_by_role("button", name="停用账户").click()
    expect(page.get_by_role("button", name="启用账户")).to_be_visible()
    assert registry.services.accounts.get("reviewer-1").disabled


def test_department_sees_no_residents(page: Any, server: str, registry: Registry) -> None:
    log_in(page, server, registry, "department")
    assert _menu(page) == ["首页"]

    for path in ("/residents", f"/villages/{registry.village_a}",
                 f"/residents/{registry.planted}"):
        assert _status(page.goto(f"{server}{path}")) == 403
        assert page.locator("table.list, dl.fields").count() == 0


def test_english_sticks(page: Any, server: str, registry: Registry) -> None:
    log_in(page, server, registry, "clerk")

    page.get_by_role("link", name="English").click()
    expect(page).to_have_title(re.compile("^Home"))
    page.get_by_role("link", name="Residents").first.click()

    expect(page).to_have_title(re.compile("^Residents"))
    assert page.locator("html").get_attribute("lang") == "en"


def test_expired_session_page(page: Any, server: str, registry: Registry) -> None:
    log_in(page, server, registry, "clerk")

    registry.clock.advance(minutes=16)
    response = page.goto(f"{server}/residents")

    assert _status(response) == 401
    assert page.title().startswith("会话已结束")
    page.get_by_role("link", name="重新登录").click()
    assert page.url == f"{server}/login"
