"""Every page of the route matrix, for every role, on a phone (390 x 844) and a laptop
(1366 x 900): no sideways page scroll, and axe-core finds nothing serious or critical.

Each run writes what it measured (widths, axe findings) to
test-artifacts/phone-<role>.json; with TRACKER_SCREENSHOTS=DIR it also keeps the phone
views shown in the README there (``TRACKER_SCREENSHOTS=docs/phone python3 dev.py test
tests/browser/test_phone.py`` renews docs/phone/).
"""

import io
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from tests import samples
from tests.browser.conftest import ARTIFACTS, DESKTOP, PHONE
from tests.browser.test_flow import PDF, sign_in
from tests.web.test_routes import LOGIN, ROUTES
from tracker.assessment import services as assessment
from tracker.core.errors import TrackerError
from tracker.core.timeutil import local_today, utcnow
from tracker.extensions import db
from tracker.phases.models import PlanVersion
from tracker.phases.services import plan_for_year
from tracker.reminders.mail import unsubscribe_token
from tracker.reminders.models import OutboxMessage, OutboxStatus
from tracker.tasks import services as work
from tracker.tasks.models import EvidenceFile, Task, TaskStatus

#: Endpoints that answer with a file or data, not a page.
NOT_PAGES = {"static", "calendar.feed", "calendar.export", "tasks.download", "tasks.preview",
             "assessment.download", "planning.download", "planning.schedule_preview",
             "health.healthz", "pwa.manifest", "pwa.service_worker", "yearend.feedback_export"}
#: axe-core impacts that fail a page.
BLOCKING = ("serious", "critical")


def audit(page, axe_source) -> list[dict]:
    """axe-core's findings on the page, all impacts: its default rules (WCAG 2.x A and AA,
    best practices) and WCAG 2.2's target size (24 x 24 CSS px), which it leaves off."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Through the DevTools protocol, so the page's CSP (no inline script) does not
        # stop it; nothing is fetched.
        page.evaluate(axe_source)
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations'],
                                           rules: {'target-size': {enabled: true}}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' +
                                            (n.failureSummary || '').slice(0, 200))}));
    }""")
    return result


def widths(page, view: int) -> dict:
    """The page's scroll width, and what sticks out of a ``view`` px wide viewport (a page
    without a viewport meta tag is laid out 980 px wide on a phone: it sticks out too)."""
    return page.evaluate("""(view) => {
        const root = document.documentElement;
        const wide = [...document.querySelectorAll('body *')].filter(el => {
            const box = el.getBoundingClientRect();
            return box.right > view + 0.5 && getComputedStyle(el).position !== 'fixed';
        }).slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className && typeof
            el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '')
            + ' ' + Math.round(el.getBoundingClientRect().right));
        return {scroll: root.scrollWidth, viewport: view, wide};
    }""", view)


@pytest.fixture
def busy_town(town, instance_path):
    """The town with work in every state: accepted, submitted, returned (with files),
    overdue and due soon; a started assessment with a deduction, a failed mail."""
    now = utcnow()
    day = local_today(now, "Asia/Shanghai")
    admin, manager = town.users.admin, town.users.manager
    tasks = db.session.scalars(sa.select(Task).where(Task.unit_id == town.units.a.id)
                               .order_by(Task.due_date, Task.id)).all()
    plain = [t for t in tasks if work.statement_cap(t) is None and not work.records_occurrences(t)]
    # Open tasks moved around today: one overdue, one due soon (display states by date).
    plain[3].due_date, plain[4].due_date = day - timedelta(days=3), day + timedelta(days=2)
    for n, (task, verdict) in enumerate(zip(plain[:3], ("accept", "submit", "return"))):
        task.due_date = day + timedelta(days=1)
        path = instance_path / "evidence" / "x" / f"file{n}.pdf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(PDF)
        task.evidence_files.append(EvidenceFile(
            original_name="现场照片.pdf", stored_name=f"x/file{n}.pdf", content_type="application/pdf",
            size=len(PDF), sha256="0" * 64, uploaded_by=manager, uploaded_at=now))
        work.submit(task, manager, "已完成", "", now)
        if verdict != "submit":
            work.review(task, admin, verdict == "accept", "请补充会议记录", now)
    photo = instance_path / "evidence" / "x" / "photo.heic"
    photo.write_bytes(samples.heic(800, 600, (46, 125, 50)))
    plain[2].evidence_files.append(EvidenceFile(
        original_name="IMG_0412.HEIC", stored_name="x/photo.heic", content_type="image/heic",
        size=photo.stat().st_size, sha256="1" * 64, uploaded_by=manager, uploaded_at=now))
    plan = plan_for_year(town.year)
    sheet = assessment.get_or_start(town.units.a, plan, town.year, admin, now)
    _, leaves = assessment.rubric_tree(plan)
    assessment.set_self_assessment(sheet, leaves[0].id, 0, "已按要求完成", "", now)
    for leaf in leaves[1:]:  # the first row whose points are not all deducted already
        try:
            assessment.add_deduction(sheet, leaf.id, "0.5", "材料不全", admin, now)
            break
        except TrackerError:
            continue
    db.session.add(OutboxMessage(
        key="digest:phone", user=manager, recipient=manager.email, subject="工作提醒",
        message_id="<m@x>", message=b"", status=OutboxStatus.FAILED, attempts=5,
        next_attempt_at=now, last_error="550 mailbox unavailable"))
    db.session.commit()
    assert {t.status for t in plain[:3]} == {TaskStatus.ACCEPTED, TaskStatus.SUBMITTED,
                                             TaskStatus.RETURNED}
    return town


def role_pages(town, role: str, secret_key: str) -> list[str]:
    """The pages of the route matrix that ``role`` opens (each GET answered with a page,
    the 403 and 404 pages included; for anonymous, the pages that need no sign-in), with
    the calendar's views."""
    own = db.session.scalar(sa.select(Task).where(Task.unit_id == town.units.a.id,
                                                  Task.status == TaskStatus.RETURNED))
    foreign = db.session.scalar(sa.select(Task).where(Task.unit_id == town.units.b.id))
    version = db.session.scalar(sa.select(PlanVersion.id))  # the town's published plan
    urls = []
    for endpoint, checks in ROUTES.items():
        if endpoint in NOT_PAGES:
            continue
        for method, template, expectations in checks:
            if method != "GET" or expectations[role] == LOGIN:
                continue
            if endpoint == "reminders.unsubscribe_link":
                # The link in a reminder mail, opened with or without a session.
                template = "/reminders/unsubscribe/" + unsubscribe_token(
                    secret_key, getattr(town.users, role, town.users.manager).id)
            urls.append(template.format(
                own=own.id, foreign=foreign.id, user=town.users.other.id,
                foreign_unit=town.units.b.id, own_unit=town.units.a.id, year=town.year,
                version=version))
    if role != "anonymous":
        urls += ["/?view=week", "/?view=agenda", f"/tasks?year={town.year}"]
    if role == "admin":
        urls += [f"/?unit={town.units.a.id}", f"/?view=week&unit={town.units.a.id}"]
    return list(dict.fromkeys(urls))


#: Phone views kept for the README: (role, URL key, file name).
README_SHOTS = {("manager", "/"): "calendar", ("manager", "/tasks"): "tasks",
                ("manager", "/tasks/{own}"): "task", ("admin", "/overview"): "overview",
                ("admin", "/settings"): "menu"}


def keep_screenshot(page, path: Path, menu: bool) -> None:
    """The phone's screen as a small PNG (256 colours) for the README."""
    if menu:
        page.click("summary")
    elif page.locator("ul.files").count():
        page.locator("ul.files").scroll_into_view_if_needed()  # the photos and the upload
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.open(io.BytesIO(page.screenshot()))
    image.convert("RGB").quantize(colors=256).save(path, optimize=True)
    if menu:
        page.click("summary")


@pytest.mark.parametrize("role", ["anonymous", "viewer", "manager", "admin"])
def test_every_page_fits_a_phone_and_passes_axe(live_server, busy_town, page_for, axe_source,
                                                app, role):
    urls = role_pages(busy_town, role, app.config["SECRET_KEY"])
    own = db.session.scalar(sa.select(Task.id).where(Task.unit_id == busy_town.units.a.id,
                                                     Task.status == TaskStatus.RETURNED))
    shots_dir = os.environ.get("TRACKER_SCREENSHOTS")
    report, failures = {}, []
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = page_for(f"{role}-{size}", viewport=viewport, phone=size == "phone")
        if role != "anonymous":
            sign_in(page, live_server, f"{role}@example.org")
        errors_seen = set()
        for url in urls:
            page.expected_errors.add(live_server + url)  # the 403 and 404 pages
            response = page.goto(live_server + url)
            status = response.status if response else None
            if status in errors_seen:
                continue  # one 403 page and one 404 page is enough: they are all alike
            if status in (403, 404):
                errors_seen.add(status)
            measured = widths(page, viewport["width"])
            assert page.locator("link[rel=manifest]").count() == 1, url
            if size == "phone":
                small = page.evaluate("""() => [...document.querySelectorAll(
                    'input:not([type=hidden]), select, textarea')].filter(
                    (el) => parseFloat(getComputedStyle(el).fontSize) < 16).map(
                    (el) => el.name)""")
                if small:
                    failures.append(f"phone {url}: fields under 16 px (phones zoom): {small}")
            violations = audit(page, axe_source)
            report.setdefault(url, {})[size] = {
                "status": status, "scroll_width": measured["scroll"],
                "viewport": measured["viewport"], "sticking_out": measured["wide"],
                "axe": {v["id"]: v["impact"] for v in violations}}
            if measured["scroll"] > measured["viewport"]:
                failures.append(f"{size} {url}: {measured['scroll']} px wide in a "
                                f"{measured['viewport']} px viewport: {measured['wide']}")
            for v in violations:
                if v["impact"] in BLOCKING:
                    failures.append(f"{size} {url}: axe {v['impact']} {v['id']} "
                                    f"({v['help']}): {v['nodes']}")
            key = url.replace(str(own), "{own}")
            if shots_dir and size == "phone" and (role, key) in README_SHOTS:
                name = README_SHOTS[role, key]
                keep_screenshot(page, Path(shots_dir) / f"{name}.png", menu=name == "menu")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"phone-{role}.json").write_text(json.dumps(report, indent=1,
                                                             ensure_ascii=False))
    assert len(urls) >= (3 if role == "anonymous" else 10), urls
    assert failures == [], "\n".join(failures)



def test_the_menu_opens_without_javascript_on_a_phone_and_stands_open_on_a_laptop(
        live_server, town, browser):
    for viewport, phone in ((PHONE, True), (DESKTOP, False)):
        context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone,
                                      java_script_enabled=False, locale="en-US")
        page = context.new_page()
        sign_in(page, live_server, "manager@example.org")
        tasks = page.get_by_role("navigation", name="Main").get_by_role("link", name="Tasks")
        if phone:
            assert not tasks.is_visible()
            page.get_by_text("Menu").click()
        assert tasks.is_visible()
        tasks.click()
        page.wait_for_url(f"{live_server}/tasks")
        context.close()


def test_keyboard_skip_link_and_visible_focus(live_server, town, page_for):
    page = page_for("keyboard", viewport=DESKTOP, locale="en-US")
    sign_in(page, live_server, "viewer@example.org")
    page.keyboard.press("Tab")
    focused = page.evaluate("""() => ({text: document.activeElement.textContent.trim(),
        outline: getComputedStyle(document.activeElement).outlineStyle,
        width: parseFloat(getComputedStyle(document.activeElement).outlineWidth)})""")
    assert focused == {"text": "Skip to the content", "outline": "solid", "width": 3}
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # On a phone the menu opens from the keyboard too.
    phone = page_for("phone-keyboard", phone=True, locale="en-US")
    sign_in(phone, live_server, "viewer@example.org")
    phone.focus("summary")
    phone.keyboard.press("Enter")
    assert phone.get_by_role("link", name="Settings").is_visible()


def test_the_calendar_on_a_phone_is_counts_and_the_days_below(live_server, busy_town,
                                                               page_for):
    page = page_for("manager", phone=True)
    sign_in(page, live_server, "manager@example.org")
    returned = db.session.scalar(sa.select(Task).where(Task.status == TaskStatus.RETURNED))
    page.goto(f"{live_server}/?date={returned.due_date.isoformat()}")
    cell_items = page.locator("table.calendar .item")
    assert cell_items.count() > 0 and not cell_items.first.is_visible()
    count = page.locator(f"a.daycount[href='#day-{returned.due_date.isoformat()}']")
    assert count.is_visible()
    box = count.bounding_box()
    assert box["width"] >= 24 and box["height"] >= 24
    count.click()
    day = page.locator(f"#day-{returned.due_date.isoformat()}")
    assert day.locator(f"a[href='/tasks/{returned.id}']").is_visible()
    # A laptop sees the items in the grid and no list.
    wide = page_for("manager-laptop", viewport=DESKTOP)
    sign_in(wide, live_server, "manager@example.org")
    wide.goto(f"{live_server}/?date={returned.due_date.isoformat()}")
    assert wide.locator(f"table.calendar a[href='/tasks/{returned.id}']").is_visible()
    assert not wide.locator(".month-agenda").is_visible()
