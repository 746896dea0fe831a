"""The admin in a real browser: Debian's headless Chromium, driven by Selenium, against a live server.

Skipped when Chromium or its driver is not installed (``apt-get install chromium
chromium-driver``), unless BOOKIT_REQUIRE_BROWSER=1 (set by .ci/run): then it fails.
Selenium is given both paths, so Selenium Manager never runs and nothing is downloaded.
"""

import os
from datetime import UTC, date, datetime, timedelta
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
from catalog.tests.factories import ServiceFactory

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


def log_in(browser, live_server, then: str) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    browser.get(f"{live_server.url}/admin/login/?next={then}")
    browser.find_element(By.NAME, "username").send_keys(staff.email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def test_staff_confirm_a_booking_in_the_styled_admin(live_server, browser):
    booking = BookingFactory(service__name="Sauna")

    log_in(browser, live_server, "/admin/bookings/booking/")
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


def row_of(browser, booking) -> str:
    return (
        browser.find_element(By.CSS_SELECTOR, f"input[name=_selected_action][value='{booking.pk}']")
        .find_element(By.XPATH, "./ancestor::tr")
        .text
    )


def type_into(browser, name: str, text: str) -> None:
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(text)


def save(browser) -> None:
    browser.find_element(By.NAME, "_continue").click()


def test_staff_read_and_type_times_in_the_services_zone(live_server, browser):
    year = datetime.now(UTC).year + 1
    winter, summer = datetime(year, 1, 15, 9, 0, tzinfo=UTC), datetime(year, 7, 15, 9, 0, tzinfo=UTC)
    spring_forward = date(year, 3, 31) - timedelta(days=(date(year, 3, 31).weekday() + 1) % 7)
    service = ServiceFactory(name="Massage", timezone="Europe/Berlin")
    booking = BookingFactory(service=service, start_time=winter, end_time=winter + timedelta(hours=1))
    in_summer = BookingFactory(service=service, start_time=summer, end_time=summer + timedelta(hours=1))

    log_in(browser, live_server, "/admin/")
    assert "Waiting for confirmation" in wait_for(browser, "#bookings-start-page").text  # the start page
    browser.get(f"{live_server.url}/admin/bookings/booking/")
    wait_for(browser, "#changelist")
    assert f"{winter:%a} {winter.day} {winter:%b %Y}, 10:00 CET" in row_of(browser, booking)
    assert "11:00 CEST" in row_of(browser, in_summer)

    change = f"{live_server.url}/admin/bookings/booking/{booking.pk}/change/"
    browser.get(change)
    assert browser.find_element(By.NAME, "start_time_1").get_attribute("value") == "10:00:00"
    assert "Europe/Berlin" in browser.find_element(By.CSS_SELECTOR, ".field-start_time .help").text
    save(browser)  # unchanged
    wait_for(browser, "ul.messagelist li.success")
    booking.refresh_from_db()
    assert booking.start_time == winter

    type_into(browser, "start_time_1", "10:30")
    for name in ("end_time_0", "end_time_1"):
        browser.find_element(By.NAME, name).clear()
    save(browser)
    wait_for(browser, "ul.messagelist li.success")
    booking.refresh_from_db()
    assert booking.start_time == winter + timedelta(minutes=30)
    assert browser.find_element(By.NAME, "start_time_1").get_attribute("value") == "10:30:00"
    history = browser.find_element(By.ID, "events-group").text
    assert "start: " in history
    assert "10:00 CET -> " in history
    assert "10:30 CET" in history

    type_into(browser, "start_time_0", f"{spring_forward:%Y-%m-%d}")
    type_into(browser, "start_time_1", "02:30")
    save(browser)
    assert "does not exist in Europe/Berlin" in wait_for(browser, ".errorlist").text
    booking.refresh_from_db()
    assert booking.start_time == winter + timedelta(minutes=30)
