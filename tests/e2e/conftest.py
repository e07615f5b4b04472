"""Headless Chromium (Debian's chromium + chromedriver) against the portal
served by a real WSGI server on 127.0.0.1.

Every page a test reaches is checked with axe-core (issue #13 item 18): the
WCAG 2.1 A/AA rules, 0 violations, in whichever language the test uses.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import UnexpectedAlertPresentException, WebDriverException
from selenium.webdriver.chrome.service import Service
from werkzeug.serving import make_server

from tests.conftest import ROOT

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# axe-core from the npm registry (no CDN), verified against the registry's
# sha512 integrity and cached under var/ (ignored by git) for later runs.
AXE_VERSION = "4.14.1"
AXE_REGISTRY = "https://registry.npmjs.org/axe-core"
AXE_CACHE = ROOT / "var" / "axe-core" / AXE_VERSION / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


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


def _fetch_axe() -> str:
    if AXE_CACHE.exists():
        return AXE_CACHE.read_text(encoding="utf-8")
    with urllib.request.urlopen(f"{AXE_REGISTRY}/{AXE_VERSION}", timeout=30) as answer:
        integrity = json.load(answer)["dist"]["integrity"]
    with urllib.request.urlopen(
            f"{AXE_REGISTRY}/-/axe-core-{AXE_VERSION}.tgz", timeout=60) as answer:
        tarball = answer.read()
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode()
    if actual != expected:
        pytest.fail(f"axe-core {AXE_VERSION} tarball does not match the registry's {integrity}")
    with tarfile.open(fileobj=io.BytesIO(tarball)) as archive:
        member = archive.extractfile("package/axe.min.js")
        assert member is not None
        source = member.read().decode("utf-8")
    AXE_CACHE.parent.mkdir(parents=True, exist_ok=True)
    partial = AXE_CACHE.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(source, encoding="utf-8")
    partial.replace(AXE_CACHE)
    return source


@pytest.fixture(scope="session")
def axe_source() -> str:
    return _fetch_axe()


_AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})
  .then((r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary)}))))
  .catch((e) => done([{id: 'axe-error', impact: 'error', help: String(e), nodes: []}]));
"""


class AxeChrome(webdriver.Chrome):
    """Chromium that runs axe-core on each new document a test looks at.

    A document is checked once (a flag on its window); ``get`` checks the
    page it loads, ``wait_for_text`` the page a click led to, and the
    fixture the last page at the end of the test.
    """

    axe_source = ""

    def get(self, url: str) -> None:
        super().get(url)
        check_accessibility(self)


def check_accessibility(driver: Any) -> None:
    """Fail the test with axe-core's list if the page shown breaks a WCAG 2.1 A/AA rule."""
    report = axe_report(driver)
    if report:
        pytest.fail(report)


def axe_report(driver: Any) -> str:
    """axe-core's violations on the page shown ("" when none, or already checked)."""
    if not isinstance(driver, AxeChrome):
        return ""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        WebDriverWait(driver, 5).until(
            lambda d: d.execute_script("return document.readyState") == "complete")
        if driver.execute_script("return !!window.__axeChecked"):
            return ""
        if not driver.execute_script("return typeof axe !== 'undefined'"):
            driver.execute_script(driver.axe_source)
        violations = driver.execute_async_script(_AXE_RUN, AXE_TAGS)
        driver.execute_script("window.__axeChecked = true")
    except (UnexpectedAlertPresentException, TimeoutException):  # a confirm() is open, or
        return ""  # the page is still loading: the test answers it / its successor is checked
    except WebDriverException as error:  # a navigation replaced the page: its successor is checked
        if _is_navigation_race(error) or "script timeout" in str(error):
            return ""
        raise
    if not violations:
        return ""
    lines = [f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"])
             for v in violations]
    lang = driver.execute_script("return document.documentElement.lang")
    return (f"axe-core found {len(violations)} WCAG 2.1 A/AA violation(s) on "
            f"{driver.current_url} (lang={lang}):\n" + "\n".join(lines))


@pytest.fixture
def browser(axe_source: str) -> Iterator[webdriver.Chrome]:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: `make test` installs chromium and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900", "--lang=ja"):
        options.add_argument(arg)
    driver = AxeChrome(options=options, service=Service(CHROMEDRIVER))
    driver.axe_source = axe_source
    driver.implicitly_wait(5)
    try:
        yield driver
        check_accessibility(driver)
    finally:
        driver.quit()


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    check_accessibility(driver)
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
    check_accessibility(driver)
    return page_text(driver)


def _shown_instead(driver: webdriver.Chrome) -> str:
    """Field errors first (they explain a refused form), then the page's start."""
    from selenium.webdriver.common.by import By

    errors = [f"{e.get_attribute('id')}: {e.text}"
              for e in driver.find_elements(By.CSS_SELECTOR, ".field-error") if e.text]
    return "\n".join(errors + [page_text(driver)[:800]])
