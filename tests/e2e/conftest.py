"""Headless Chromium (Debian's chromium + chromedriver) against the portal
served by a real WSGI server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from werkzeug.serving import make_server

from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    app.config["BASE_URL"] = "http://placeholder"
    with LiveServer(app) as server:
        app.config["BASE_URL"] = server.url
        yield server


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: `make test` installs chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900", "--lang=ja"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def page_text(driver: webdriver.Chrome) -> str:
    """The visible text of the page, or "" while a navigation replaces it.

    Between finding <body> and reading its text a click may have loaded the
    next page; Chromium then answers either "stale element" or, since
    version 15x, an inspector error that the node "does not belong to the
    document". Both mean "look again", never a failure of the page.
    """
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By

    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except StaleElementReferenceException:
        return ""
    except WebDriverException as error:
        if _is_navigation_race(error):
            return ""
        raise


_NAVIGATION_RACE_MESSAGES = (
    "does not belong to the document",
    "No node with given id",
    "Cannot find context with specified id",
    "no such element",
)


def _is_navigation_race(error: Exception) -> bool:
    return any(part in str(error) for part in _NAVIGATION_RACE_MESSAGES)


def wait_for_text(driver: webdriver.Chrome, text: str, timeout: float = 15) -> str:
    """Wait until the page shows ``text`` (pages change after a click).

    On a timeout the failure names the page that was shown instead, so a CI
    log says what the user would have seen.
    """
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, timeout).until(lambda d: text in page_text(d))
    except TimeoutException:
        pytest.fail(f"page never showed {text!r}; {driver.current_url} showed:\n"
                    f"{_shown_instead(driver)}")
    return page_text(driver)


def _shown_instead(driver: webdriver.Chrome) -> str:
    """Field errors first (they explain a refused form), then the page's start."""
    from selenium.webdriver.common.by import By

    errors = [f"{e.get_attribute('id')}: {e.text}"
              for e in driver.find_elements(By.CSS_SELECTOR, ".field-error") if e.text]
    return "\n".join(errors + [page_text(driver)[:800]])
