"""Publishing a draft: what is published is what was previewed (R5), two publishes of one
draft at once end in one plan and a clean refusal (R18), and a heavy draft neither slows
the editor nor holds the database (R16)."""

import re
import threading

import pytest
import sqlalchemy as sa

from tests.planning.formdata import form_data
from tests.planning.test_editor import page, plan_of, post, saved
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import PlanVersion, VersionState
from tracker.planning import editing, services
from tracker.tasks.models import Task


@pytest.fixture
def admin(app, town, login):
    """The coordinator's client (CSRF off: tests/web checks the tokens)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return login(app.test_client(), town.users.admin)


@pytest.fixture
def draft(town):
    """Next year's draft, rolled over from the town's plan."""
    version = services.rollover(town.year, town.year + 1, None, utcnow())
    db.session.commit()
    return version


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
