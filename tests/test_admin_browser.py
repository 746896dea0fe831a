"""The admin in a real browser: Debian's headless Chromium, driven by Selenium, against a live server.

Skipped when Chromium or its driver is not installed (``apt-get install chromium
chromium-driver``), unless BOOKIT_REQUIRE_BROWSER=1 (set by .ci/run): then it fails.
Selenium is given both paths, so Selenium Manager never runs and nothing is downloaded.
"""

import os
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

from accounts.tests.factories import PASSWORD, UserFactory
from bookings.models import Booking
from bookings.tests.factories import BookingFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Headless, and quiet on a machine without internet: no background or component-update traffic.
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
]


@pytest.fixture
def browser(tmp_path, monkeypatch):
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        reason = f"Chromium is not installed ({', '.join(missing)} missing; apt-get install chromium chromium-driver)"
        if os.environ.get("BOOKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"BOOKIT_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    monkeypatch.setenv("SE_OFFLINE", "true")  # belt and braces: Selenium Manager may not go online
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def wait_for(browser, css: str):
    return WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def test_staff_confirm_a_booking_in_the_styled_admin(live_server, browser):
    staff = UserFactory(is_staff=True, is_superuser=True)
    booking = BookingFactory(service__name="Sauna")

    browser.get(f"{live_server.url}/admin/login/?next=/admin/bookings/booking/")
    browser.find_element(By.NAME, "username").send_keys(staff.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, "#changelist")

    # Styled: the admin's stylesheet loaded, with rules, and the header took its colours.
    base_rules = browser.execute_script(
        "return [...document.styleSheets].filter(s => (s.href || '').includes('/static/admin/css/base'))"
        ".map(s => s.cssRules.length)"
    )
    assert base_rules
    assert base_rules[0] > 100
    header = browser.execute_script("return getComputedStyle(document.getElementById('header')).backgroundColor")
    assert header not in ("", "transparent", "rgba(0, 0, 0, 0)")

    row = browser.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{booking.pk}']")
    assert "Pending" in row.find_element(By.XPATH, "./ancestor::tr").text
    row.click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("confirm")
    browser.find_element(By.NAME, "index").click()

    assert wait_for(browser, "ul.messagelist li.success").text == "1 booking(s) confirmed."
    row = browser.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{booking.pk}']")
    assert "Confirmed" in row.find_element(By.XPATH, "./ancestor::tr").text
    booking.refresh_from_db()
    assert booking.status == Booking.Status.CONFIRMED
