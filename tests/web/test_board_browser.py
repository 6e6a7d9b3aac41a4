"""The board in a real browser at a cheap phone's size: Debian's headless Chromium, driven by
Selenium, against the board served by uvicorn on a loopback port.

It reads what a person sees (visible text, not markup), follows a status link, uses the
filter form, switches to English, checks that nothing is wider than the phone and that the
printed page leaves out the filters, and writes screenshots under tests/output/ to look at.

Needs `apt-get install -y chromium chromium-driver`; skipped with that reason where they are
missing, except in CI, where that fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn

from bot.core.i18n import Translator
from tests.conftest import IN_CI
from tests.web import board_support
from tests.web.board_support import BOT, Story

# The fixtures of board_support, for the tests here.
board_runtime = board_support.board_runtime
story = board_support.story
board_app = board_support.board_app

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
OUTPUT = Path(__file__).resolve().parents[1] / "output"
PHONE = {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True}
INSTALL = "apt-get install -y chromium chromium-driver"

vi = Translator("vi")


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"{path} is missing ({INSTALL})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    reason = _missing()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=360,740",
        "--lang=vi",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        yield driver
    finally:
        driver.quit()


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the test decides when it stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
async def served(board_app) -> AsyncIterator[str]:
    """The board on a free loopback port, in this test's event loop."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(board_app, log_config=None, access_log=False, lifespan="off")
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait({task}, timeout=10)
        listener.close()


def _visible_text(driver) -> str:
    from selenium.webdriver.common.by import By

    return " ".join(driver.find_element(By.TAG_NAME, "body").text.split())


def _fits_the_phone(driver) -> None:
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px phone"


def _gone(element):
    """Until `element` has left the document: what `staleness_of` waits for, except that
    ChromeDriver sometimes says so as "Node with given id does not belong to the document"
    (a WebDriverException) rather than as a stale element."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def left(_driver) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    return left


def _follow(driver, by: str, value: str) -> None:
    """Click a link or a button and wait for the next page. A click may return before the
    browser has left the page it was on, and Chromium's driver now and then loses a node it
    has just found while a page settles: then it is found again and clicked once more."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    for attempt in range(3):
        leaving = driver.find_element(By.TAG_NAME, "html")
        try:
            driver.find_element(by, value).click()
            break
        except (StaleElementReferenceException, WebDriverException):
            if attempt == 2:
                raise
    WebDriverWait(driver, 15).until(_gone(leaving))
    WebDriverWait(driver, 15).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _full_page(driver, path: Path) -> None:
    """A screenshot of the whole page at phone width (Chromium's DevTools can go beyond the
    window)."""
    import base64

    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
    )
    path.write_bytes(base64.b64decode(shot["data"]))


def _walk(driver, base: str, story: Story, database: str) -> None:
    """What a person does on a phone, step by step (run in a thread: the server shares the
    test's event loop)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    OUTPUT.mkdir(parents=True, exist_ok=True)

    # The home page: the next dialogue, in Vietnamese, with the bot's link and QR code.
    driver.get(base + "/")
    text = _visible_text(driver)
    assert "Đối thoại về bảo hiểm y tế" in text
    assert "08:30, Thứ Năm, 26/11/2026" in text
    assert f"https://t.me/{BOT}" in text
    qr = driver.find_element(By.CSS_SELECTOR, "figure.qr svg")
    assert qr.size["width"] >= 120 and qr.is_displayed()
    _fits_the_phone(driver)
    driver.save_screenshot(str(OUTPUT / f"board_home_360_{database}.png"))
    _full_page(driver, OUTPUT / f"board_home_360_full_{database}.png")

    # To the dialogue that took place, from its result.
    _follow(driver, By.LINK_TEXT, "Đối thoại về giảm nghèo năm 2026")
    assert driver.current_url == f"{base}/doi-thoai/{story.past}"
    text = _visible_text(driver)
    assert story.texts["late"] in text and story.answers["kept"] in text
    assert story.texts["sensitive"] not in text
    _fits_the_phone(driver)
    _full_page(driver, OUTPUT / f"board_dialogue_360_full_{database}.png")

    # A status link: only the overdue questions, each saying so.
    _follow(driver, By.PARTIAL_LINK_TEXT, "Quá hạn (2)")
    assert driver.current_url.endswith(f"/doi-thoai/{story.past}?tinh-trang=overdue")
    questions = driver.find_elements(By.CSS_SELECTOR, "article.question")
    assert len(questions) == 2
    for question in questions:
        assert "⚠ Quá hạn" in question.text
    assert story.texts["kept"] not in _visible_text(driver)
    driver.save_screenshot(str(OUTPUT / f"board_overdue_360_{database}.png"))

    # The form: all statuses again, then one topic.
    _follow(driver, By.PARTIAL_LINK_TEXT, vi._("All") + " (")
    Select(driver.find_element(By.NAME, "chu-de")).select_by_value("tindung")
    _follow(driver, By.CSS_SELECTOR, "nav.filters button[type=submit]")
    assert "chu-de=tindung" in driver.current_url
    text = _visible_text(driver)
    assert story.texts["kept"] in text and story.texts["waiting"] in text
    assert story.texts["late"] not in text

    # English, keeping the filter; and back.
    _follow(driver, By.LINK_TEXT, "English")
    assert "lang=en" in driver.current_url and "chu-de=tindung" in driver.current_url
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    text = _visible_text(driver)
    assert "Questions and answers" in text and "Wednesday 21 October 2026" in text
    assert story.texts["kept"] in text
    _follow(driver, By.LINK_TEXT, "Tiếng Việt")
    assert "lang=en" not in driver.current_url
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"

    # Printed: the filters and the language switch are left out, the questions stay.
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not driver.find_element(By.CSS_SELECTOR, "nav.filters").is_displayed()
        assert not driver.find_element(By.CSS_SELECTOR, "nav.lang").is_displayed()
        assert driver.find_element(By.CSS_SELECTOR, "article.question").is_displayed()
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})

    # An unknown page.
    driver.get(base + "/doi-thoai/987654")
    assert vi._("Page not found") in _visible_text(driver)


async def test_a_person_on_a_phone_reads_the_board_filters_it_and_switches_language(
    browser, served: str, story: Story, database_url: str
):
    database = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    await asyncio.to_thread(_walk, browser, served, story, database)
    assert (OUTPUT / f"board_home_360_{database}.png").stat().st_size > 10_000
