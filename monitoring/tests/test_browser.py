"""The dashboard in a real browser: headless Chromium (Debian's, driven through its chromedriver)
against the live server, with charts drawn by the plotly.js the project serves.

Two parks in two districts and cities hold the parties of a history of real lists
(``history_generate``); the rollups are filled from it by the reconciliation, as the nightly
task or ``manage.py monitoring_rebuild`` would, and a few waybills are tracked so some are
delayed. A customs officer of district 2901 and a commerce-bureau analyst named to the Ningbo
park log in, open the dashboard (and the officer a work queue and the lists behind a figure),
and each page is saved as a PNG under ``var/test-artifacts/browser/``.

Chromium and chromedriver are installed by ``make install-dev`` (Debian's packages, as root);
without them the test fails and says so: it never skips.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from declarations.history.services import history_generate
from declarations.models import Inventory, InventoryStatus
from declarations.tests.conftest import reseed_after_flush  # noqa: F401 - a fixture
from declarations.tests.helpers import Send
from declarations.tests.parcels import list_of, parcel, submit
from logistics import delays, tracking
from logistics.models import TrackingStatus, TransportMode
from monitoring import reconcile, selectors
from monitoring.dashboard_figures import count_text, money_text
from single_window.models import Park, RegulatorScope, Role
from single_window.roles import COMMERCE_BUREAU, CUSTOMS_OFFICER
from single_window.scope import Scope, scoped
from tests.factories import EnterpriseFactory, ParkFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "browser"
WIDTH = 1440
PASSWORD = "browser-test-password"
# The charts every dashboard draws when the period has figures.
DRAWN = ("volume", "value", "clearance", "rates", "by-trade-mode", "by-country", "regions-city", "regions-park")

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
    pytest.mark.timeout(600),
    pytest.mark.usefixtures("reseed_after_flush"),
]


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not path.is_file()]
    if missing:
        pytest.fail(
            f"The browser test needs Debian's chromium and chromedriver; missing: {', '.join(missing)}. "
            "Install them with `make install-dev` as root, or `apt-get install chromium chromium-driver`."
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        f"--window-size={WIDTH},1000",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    # The driver's path is given: Selenium Manager never looks for (or downloads) one.
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def parks() -> dict[str, Park]:
    """Two parks, in two districts and cities, each with a declaring agent, a bonded warehouse
    and a carrier of its own (the history adds what else it needs)."""
    found = {
        "hangzhou": ParkFactory.create(
            code="HZ-XIASHA", name="Hangzhou Xiasha Bonded Park", city="Hangzhou", customs_district="2901"
        ),
        "ningbo": ParkFactory.create(
            code="NB-MEISHAN", name="Ningbo Meishan Bonded Park", city="Ningbo", customs_district="3104"
        ),
    }
    for park in found.values():
        for index, role in enumerate((Role.AGENT, Role.AGENT, Role.AREA, Role.LOGISTICS, Role.LOGISTICS)):
            EnterpriseFactory.create(park=park, roles=[role], name=f"{park.city} {Role(role).label} {index}")
    return found


def track_some_waybills(*, carrier_park: Park, count: int) -> None:
    """Tracking events for waybills of lists carried by the park's carriers: all picked up and
    departed days ago, half of them delivered since; the others are late."""
    carriers = {code for e in carrier_park.enterprises.filter(role_set__role=Role.LOGISTICS) for code in e.codes}
    lists = Inventory.objects.filter(logistics_code__in=carriers).order_by("id")[:count]
    now = timezone.now()
    for index, inventory in enumerate(lists):
        steps = [(TrackingStatus.PICKED_UP, 10), (TrackingStatus.DEPARTED, 9)]
        if index % 2 == 0:
            steps.append((TrackingStatus.DELIVERED, 7))
        for status, days_ago in steps:
            tracking.event_store(
                facts=tracking.EventFacts(
                    logistics_code=inventory.logistics_code,
                    logistics_no=inventory.logistics_no,
                    status=status,
                    place=carrier_park.city,
                    occurred_at=now - datetime.timedelta(days=days_ago, hours=index % 5),
                    transport_mode=TransportMode.AIR,
                    leg=1,
                )
            )
    delays.delays_sweep(now=now)


# Parcels whose documents disagree (document, field, value): matching fails their lists.
MISMATCHES = (
    ("payment", "amount_paid", "1.00"),
    ("payment", "amount_paid", "2.00"),
    ("payment", "amount_paid", "3.00"),
    ("waybill", "consignee", "李四"),
    ("waybill", "consignee", "王五"),
    ("waybill", "freight", "99"),
)


def send_mismatched_parcels(send: Send) -> None:
    for n, (kind, field, value) in enumerate(MISMATCHES):
        docs = parcel(9000 + n)
        docs[kind][field] = value
        submit(send, docs)
        assert list_of(docs).status == InventoryStatus.MATCH_FAILED


@pytest.fixture
def history(parks: dict[str, Park], send: Send) -> None:
    """Real lists over the last 45 days and a few that failed matching today, and the rollups
    made from them."""
    history_generate(lists=600, seed=41, days=45)
    send_mismatched_parcels(send)
    today = timezone.localdate()
    for start, end in reconcile.months(today - datetime.timedelta(days=60), today):
        reconcile.figures_reconcile(day_from=start, day_to=end)
    track_some_waybills(carrier_park=parks["hangzhou"], count=24)
    track_some_waybills(carrier_park=parks["ningbo"], count=16)


def regulator(username: str, group: str, **scope: object) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    RegulatorScope.objects.create(user=user, **scope)
    return user


def log_in(browser: WebDriver, live_server: LiveServer, user: User) -> None:
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.ID, "id_username").send_keys(user.get_username())
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".swd-tiles")))


def open_dashboard(browser: WebDriver, live_server: LiveServer, first: datetime.date, last: datetime.date) -> None:
    """The dashboard of ``first``..``last``, named (a test running over midnight, China time,
    would otherwise compare the figures of two periods)."""
    browser.get(f"{live_server.url}/admin/?date_from={first.isoformat()}&date_to={last.isoformat()}")
    wait_for_charts(browser)


def wait_for_charts(browser: WebDriver) -> None:
    """Every chart of the page drawn by plotly (dashboard.js marks each when its plot resolves)."""
    WebDriverWait(browser, 60).until(
        lambda driver: driver.execute_script(
            "const charts = [...document.querySelectorAll('[data-figure]')];"
            "return charts.length > 0 && charts.every(c => c.getAttribute('data-drawn') === 'true');"
        )
    )


def traces(browser: WebDriver, key: str) -> int:
    """How many data points plotly drew in a chart (bars and markers)."""
    chart = browser.find_element(By.ID, f"chart-{key}")
    assert chart.find_elements(By.CSS_SELECTOR, ".main-svg"), f"{key}: no plotly svg"
    assert chart.find_elements(By.CSS_SELECTOR, "g.trace"), f"{key}: no trace"
    return len(chart.find_elements(By.CSS_SELECTOR, "g.trace .point, g.trace path.js-line"))


def screenshot(browser: WebDriver, name: str) -> Path:
    """The whole page at 1440 px wide, as a PNG."""
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(WIDTH, max(int(height), 900))
    path = ARTIFACTS / f"{name}.png"
    assert browser.save_screenshot(str(path)), path
    return path


def text_of(browser: WebDriver, selector: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, selector).text).strip()


@pytest.mark.usefixtures("history")
def test_a_customs_officer_reads_the_charts_and_opens_the_lists_behind_them(
    browser: WebDriver, live_server: LiveServer
) -> None:
    officer = regulator("officer2901", CUSTOMS_OFFICER, customs_district="2901")
    today = timezone.localdate()
    start = today - datetime.timedelta(days=29)
    expected = selectors.summary(
        selectors.FigureScope(districts=frozenset({"2901"}), parks=None, enterprises=None), start, today
    )
    assert expected.declared > 0
    assert expected.released > 0

    log_in(browser, live_server, officer)
    open_dashboard(browser, live_server, start, today)

    for key in (*DRAWN, "delays", "rules"):
        assert traces(browser, key) > 0, key
    assert text_of(browser, "#tile-declared .swd-tile-value") == count_text(expected.declared)
    assert text_of(browser, "#tile-value .swd-tile-value") == money_text(expected.value_cny)
    rejected_row = browser.find_element(By.CSS_SELECTOR, "#chart-rates-table tbody tr").find_elements(By.TAG_NAME, "td")
    assert (rejected_row[0].get_attribute("textContent") or "").strip() == count_text(expected.rejected)
    assert text_of(browser, "#swd-scope") == "Customs districts 2901"
    # Ningbo's park is in district 3104: none of its figures reach this officer.
    assert "Ningbo" not in browser.page_source
    shot = screenshot(browser, "dashboard-customs-officer")
    assert shot.stat().st_size > 50_000

    # A work queue: as many lists as the list page shows the officer, and that page, filtered.
    failed = scoped(Inventory.objects.filter(status=InventoryStatus.MATCH_FAILED), Scope.of(officer)).count()
    assert failed >= len(MISMATCHES)
    assert text_of(browser, "#queue-match_failed .swd-queue-count") == str(failed)
    browser.set_window_size(WIDTH, 1000)
    browser.find_element(By.CSS_SELECTOR, "#queue-match_failed a").click()
    WebDriverWait(browser, 30).until(expected_conditions.url_contains("/admin/declarations/listmatchfailure/"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")) == failed
    screenshot(browser, "queue-matching-failures-customs-officer")

    # The lists behind a figure: the released lists of the period.
    open_dashboard(browser, live_server, start, today)
    browser.find_element(By.CSS_SELECTOR, "#tile-released a").click()
    WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.ID, "result_list")))
    assert "status__in=released%2Cclosed" in browser.current_url
    statuses = {cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#result_list td.field-status")}
    assert statuses
    assert statuses <= {str(InventoryStatus.RELEASED.label), str(InventoryStatus.CLOSED.label)}
    screenshot(browser, "lists-behind-released-customs-officer")


@pytest.mark.usefixtures("history")
def test_a_commerce_bureau_analyst_reads_the_figures_of_its_park(
    browser: WebDriver, live_server: LiveServer, parks: dict[str, Park]
) -> None:
    analyst = regulator("analyst-ningbo", COMMERCE_BUREAU, park=parks["ningbo"])
    today = timezone.localdate()
    start = today - datetime.timedelta(days=29)
    expected = selectors.summary(
        selectors.FigureScope(districts=None, parks=frozenset({"NB-MEISHAN"}), enterprises=None), start, today
    )
    assert expected.declared > 0

    log_in(browser, live_server, analyst)
    open_dashboard(browser, live_server, start, today)

    for key in (*DRAWN, "delays"):
        assert traces(browser, key) > 0, key
    assert text_of(browser, "#tile-declared .swd-tile-value") == count_text(expected.declared)
    park_rows = browser.find_elements(By.CSS_SELECTOR, "#chart-regions-park-table tbody th")
    assert [(row.get_attribute("textContent") or "").strip() for row in park_rows] == ["Ningbo Meishan Bonded Park"]
    # The analyst reads the lists behind the figures too (masked), and its work queues, but
    # changes nothing: the list page offers no action.
    assert browser.find_elements(By.ID, "work-queues")
    assert browser.find_elements(By.CSS_SELECTOR, "a[href*='/admin/declarations/inventory/']")
    screenshot(browser, "dashboard-commerce-bureau-analyst")
    browser.find_element(By.CSS_SELECTOR, "#tile-declared a").click()
    WebDriverWait(browser, 30).until(expected_conditions.presence_of_element_located((By.ID, "result_list")))
    assert not browser.find_elements(By.CSS_SELECTOR, "select[name='action']")
    assert browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    screenshot(browser, "lists-behind-declared-commerce-bureau-analyst")
