"""Publishing a draft: what is published is what was previewed (R5), two publishes of one
draft at once end in one plan and a clean refusal (R18), and a heavy draft neither slows
the editor nor holds the database (R16)."""

import cProfile
import pstats
import re
import sqlite3
import threading
import tomllib

import pytest
import sqlalchemy as sa

from tests.planning.formdata import form_data
from tests.planning.test_editor import page, plan_of, post, saved
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import PlanVersion, VersionState
from tracker.planning import editing, services
from tracker.tasks.models import Task


def state_of(version) -> VersionState:
    db.session.expire_all()
    return db.session.get(PlanVersion, version.id).state


def tasks_of(year) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Task).where(
        Task.year == year))


def test_a_change_saved_after_the_preview_is_not_published_unseen(admin, draft):
    """R5: the preview names the revision it showed; a publish from it after another
    window saved a change is refused (409), the change shown, nothing published."""
    preview = page(admin, f"/plans/{draft.id}/preview")
    assert "What publishing changes" in preview
    # Another window moves a duty's date after the preview was shown.
    saved(admin, f"/plans/{draft.id}/duties/training", "duty-form",
          **{"schedule-dates": "06-23"})
    response = post(admin, f"/plans/{draft.id}/publish", form_data(preview, "publish-form"),
                    status=409)
    html = response.get_data(as_text=True)
    assert "The draft was changed after this preview" in html
    # The difference: the plan file's line before and after.
    assert re.search(r'<del[^>]*>[^<]*06-30', html) and re.search(r'<ins[^>]*>[^<]*06-23', html)
    assert state_of(draft) == VersionState.DRAFT and tasks_of(draft.year) == 0
    # The refusal shows what publishing changes now; published from it, it goes through.
    assert "What publishing changes" in html
    response = post(admin, f"/plans/{draft.id}/publish", form_data(html, "publish-form"))
    assert response.headers["Location"] == "/plans"
    assert state_of(draft) == VersionState.PUBLISHED
    assert editing.find_duty(plan_of(draft), "training")["due"]["dates"] == ["06-23"]


def test_a_publish_that_names_no_revision_is_refused(admin, draft):
    """R5: a publish must name the revision it previewed."""
    response = post(admin, f"/plans/{draft.id}/publish", {"effective_from": ""}, status=409)
    assert "Preview the draft before publishing it" in response.get_data(as_text=True)
    assert state_of(draft) == VersionState.DRAFT and tasks_of(draft.year) == 0


def test_two_publishes_of_one_draft_at_once_publish_it_once(backend, app, town, login, draft):
    """R18: two windows publish the same draft at the same moment: one publishes, the other
    is refused with a page (409), never a 500."""
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time; PostgreSQL's rows are locked one by one")
    app.config["WTF_CSRF_ENABLED"] = False
    clients = [login(app.test_client(), town.users.admin) for _ in range(2)]
    form = form_data(page(clients[0], f"/plans/{draft.id}/preview"), "publish-form")
    barrier, answers = threading.Barrier(2), []

    def publish(client):
        barrier.wait()
        response = client.post(f"/plans/{draft.id}/publish", data=form)
        answers.append((response.status_code, response.get_data(as_text=True)))

    threads = [threading.Thread(target=publish, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in answers) == [302, 409], [s for s, _ in answers]
    refusal = next(html for status, html in answers if status == 409)
    assert "is published: a published plan changes only by a new version" in refusal
    assert state_of(draft) == VersionState.PUBLISHED
    published = db.session.scalars(sa.select(PlanVersion).where(
        PlanVersion.year == draft.year, PlanVersion.state == VersionState.PUBLISHED)).all()
    assert [v.id for v in published] == [draft.id]
    assert tasks_of(draft.year) > 0


def heavy(source: str, duties: int, **extra) -> str:
    """The plan with more duties (each serving a row its kinds share, monthly or once a
    year), as a red team wrote one: ``duties`` in all."""
    data = tomllib.loads(source)
    kinds = {}
    for duty in data["duties"]:
        for code in duty.get("rubric", []):
            kinds.setdefault(code, duty.get("applies_to", "units"))
    rows = [code for code, applies in kinds.items() if applies != "coordinator"]
    data["duties"] += [
        {"code": f"extra-{i}", "title": f"额外工作第{i}项", **extra,
         "applies_to": kinds[rows[i % len(rows)]], "rubric": [rows[i % len(rows)]],
         "due": {"rrule": "FREQ=MONTHLY;BYMONTH=2,3,4,5,6,7,8,9,10,11,12;BYMONTHDAY=-1"
                 if i % 2 else "FREQ=YEARLY;BYMONTH=6;BYMONTHDAY=30"}}
        for i in range(duties - len(data["duties"]))]
    return services.dump(data)


def profiled(client, url):
    """The response, and how many function calls the request made (a measure of its
    work that does not depend on the machine's load)."""
    profile = cProfile.Profile()
    profile.enable()
    response = client.get(url)
    profile.disable()
    return response, pstats.Stats(profile).total_calls


EDITOR_PAGES = ("", "/plan", "/phases", "/duties", "/duties/study-session", "/rubric",
                "/rubric/1-4-1")


def test_a_heavy_draft_costs_an_editor_page_no_more_than_the_bundled_plan(admin, draft,
                                                                          count_queries):
    """R16: a draft of 2,000 duties (stored before plans were capped) cost 5-6 s a page:
    every page ran the loader over all of it. Now each page costs at most what the bundled
    plan's does (function calls, by the profiler), in as few statements; the pages but the
    overview send the reader there, which says what is too much."""
    base = f"/plans/{draft.id}"
    light = {}
    for url in EDITOR_PAGES:
        profiled(admin, base + url)  # the same page twice: what is kept is kept for both
        response, light[url] = profiled(admin, base + url)
        assert response.status_code == 200, url
    draft.source = heavy(draft.source, 2000)
    assert len(draft.source.encode()) > 400_000
    db.session.commit()
    for url in EDITOR_PAGES:
        profiled(admin, base + url)
        with count_queries() as statements:
            response, calls = profiled(admin, base + url)
        assert calls <= 2 * light[url], (url, calls, light[url])
        assert len(statements) <= 4, (url, statements)
        if url:
            assert response.status_code == 302 and response.headers["Location"] == base
    html = page(admin, base)
    assert "The plan file is larger than 256 KB." in html
    assert "the plan file is larger than 256 KB" in html  # the loader's words
    # Its preview is refused at once, for the same reason.
    response, calls = profiled(admin, f"{base}/preview")
    assert response.status_code == 302 and calls <= 2 * light[""]


def test_a_plan_holds_a_bounded_number_of_duties_rows_and_phases(admin, draft, runner,
                                                                 tmp_path):
    """R16: what a plan may hold is capped, with a message: in the editor (nothing saved),
    the plan file form, and the command line's loader."""
    base = f"/plans/{draft.id}"
    compact = heavy(draft.source, 301)
    assert len(compact.encode()) < 256_000
    before = plan_of(draft)
    response = post(admin, f"{base}/source", form_data(page(admin, base), "source-form",
                                                       source=compact))
    assert "A plan holds at most 300 duties; this one has 301." in page(
        admin, response.headers["Location"])
    assert plan_of(draft) == before
    # The editor adds duties up to the cap, and not one more.
    services.save_draft_source(draft, heavy(draft.source, 300), utcnow())
    db.session.commit()
    response = post(admin, f"{base}/duties", form_data(page(admin, f"{base}/duties"),
                                                       code="one-more", title="再一项"))
    assert "A plan holds at most 300 duties; this one has 301." in page(
        admin, response.headers["Location"])
    assert editing.find_duty(plan_of(draft), "one-more") is None
    # The loader says the same of a plan file, and of one too large.
    too_many = tmp_path / "too-many.toml"
    too_many.write_text(compact, encoding="utf-8")
    result = runner.invoke(args=["plan", "show", str(too_many), "--format", "json"])
    assert result.exit_code == 2 and "the plan has 301 duties; a plan holds at most 300" \
        in result.stderr, result.output
    too_large = tmp_path / "too-large.toml"
    too_large.write_text(heavy(draft.source, 2000), encoding="utf-8")
    result = runner.invoke(args=["plan", "load", str(too_large), "--year", str(draft.year)])
    assert result.exit_code == 2 and "larger than 256 KB" in result.stderr, result.output


def test_a_plan_file_up_to_the_cap_goes_through_the_forms(admin, draft):
    """The plan file form and the publish form (which carries the text previewed) take a
    plan file just under the cap, in Chinese, as a browser sends it (percent-encoded, 9
    bytes a character)."""
    base = f"/plans/{draft.id}"
    room = 255_000 - len(draft.source.encode())
    source = draft.source + "\n# " + "说" * (room // 3) + "\n"
    post(admin, f"{base}/source", form_data(page(admin, base), "source-form", source=source))
    assert plan_of(draft) == tomllib.loads(source)
    response = post(admin, f"{base}/publish", form_data(page(admin, f"{base}/preview"),
                                                        "publish-form"))
    assert response.headers["Location"] == "/plans"
    assert state_of(draft) == VersionState.PUBLISHED


def test_a_preview_never_holds_the_write_lock(backend, database_url, admin, draft):
    """R16: the preview rehearsed the load in the database itself and so held SQLite's one
    write lock while it ran (60 s for a heavy draft: every sign-in got 503). It takes
    none now: it answers while another writer holds the lock, and that writer is not
    kept waiting."""
    if backend != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        html = page(admin, f"/plans/{draft.id}/preview")
        assert re.search(r"\d+ new, \d+ moved or renamed", html)
        assert "基层党员干部意识形态工作分层分类培训" in html
    finally:
        holder.rollback()
        holder.close()
    assert tasks_of(draft.year) == 0 and state_of(draft) == VersionState.DRAFT
