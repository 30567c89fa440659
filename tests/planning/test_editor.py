"""The plan editor on SQLite and PostgreSQL: each page saves into the draft's plan file,
the loader's messages follow every save, malformed input is refused at its field with
nothing saved, and nothing the form has no field for is lost."""

import calendar
import copy
import io
import tomllib

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.planning.formdata import form_data
from tracker.core.timeutil import utcnow
from tracker.extensions import db
from tracker.phases.models import PlanVersion
from tracker.planning import editing, services


def plan_of(version) -> dict:
    db.session.expire_all()
    return tomllib.loads(db.session.get(PlanVersion, version.id).source)


def source_of(version) -> str:
    db.session.expire_all()
    return db.session.get(PlanVersion, version.id).source


def page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def post(client, url, data, status=302):
    response = client.post(url, data=data)
    assert response.status_code == status, (url, response.status_code,
                                            response.get_data(as_text=True)[-3000:])
    return response


def saved(client, url, testid=None, **changes):
    """Post the page's form with ``changes``, follow the redirect; the page after."""
    response = post(client, url, form_data(page(client, url), testid, **changes))
    return client.get(response.headers["Location"]).get_data(as_text=True)


def refused(client, url, testid=None, **changes) -> str:
    """Post the page's form with ``changes``; it is refused (400) and the draft is as it
    was. The page shown."""
    before = source_of_url(url)
    response = post(client, url, form_data(page(client, url), testid, **changes), status=400)
    assert source_of_url(url) == before
    return response.get_data(as_text=True)


def source_of_url(url):
    version_id = int(url.split("/")[2])
    db.session.expire_all()
    return db.session.get(PlanVersion, version_id).source


def test_every_editor_page_shows_the_draft(admin, draft):
    base = f"/plans/{draft.id}"
    for url in ("", "/plan", "/phases", "/duties", "/duties/study-session", "/rubric",
                "/rubric/1-4-1"):
        html = page(admin, base + url)
        assert "The draft loads" in html, url
    page(admin, base + "/duties/no-such-duty", 404)
    page(admin, base + "/rubric/9-9-9", 404)
    page(admin, "/plans/999999/duties", 404)


def test_every_form_posted_back_unchanged_changes_nothing(admin, draft):
    """Every field of every page read and written back: the plan is the same data."""
    before = plan_of(draft)
    base = f"/plans/{draft.id}"
    urls = [base + "/plan", base + "/phases", base + "/rubric"]
    urls += [f"{base}/duties/{d['code']}" for d in before["duties"]]
    urls += [f"{base}/rubric/{r['code']}" for _, r in editing.rows(before)]
    for url in urls:
        testid = "duty-form" if "/duties/" in url else "row-form" if "/rubric/" in url \
            else "rubric-form" if url.endswith("/rubric") else None
        post(admin, url, form_data(page(admin, url), testid))
        assert plan_of(draft) == before, url


def test_the_plan_form_saves_metadata_and_defaults(admin, draft):
    before = plan_of(draft)
    html = saved(admin, f"/plans/{draft.id}/plan", title="书院镇2027年度工作方案",
                 document_number="书委〔2027〕3号", issued_on="2027-03-01",
                 before="14, 3", overdue_every="", non_working_day="next",
                 not_applicable="full")
    assert "Plan saved." in html and "The draft loads" in html
    after = plan_of(draft)
    assert after["plan"]["title"] == "书院镇2027年度工作方案"
    assert after["plan"]["document_number"] == "书委〔2027〕3号"
    assert str(after["plan"]["issued_on"]) == "2027-03-01"
    assert after["defaults"] == {"non_working_day": "next", "reminders": {"before": [14, 3]},
                                 "catch_up_days": 10}
    assert after["rubric"]["not_applicable"] == "full"
    assert after["duties"] == before["duties"] and after["phases"] == before["phases"]
    db.session.expire_all()
    assert db.session.get(PlanVersion, draft.id).title == "书院镇2027年度工作方案"


@pytest.mark.parametrize("field, value, message", [
    ("issued_on", "2027-02-30", "Not a valid date value."),
    ("before", "7, a week", "Give days as whole numbers, such as 7, 1, 0."),
    ("before", "400", "Days run from 0 to 366."),
    ("overdue_every", "weekly", "Not a valid integer value."),
    ("timezone", "Mars/Olympus", "There is no timezone Mars/Olympus"),
    ("name", "书院 2027", "A code holds only letters"),
])
def test_the_plan_form_refuses_malformed_input_at_its_field(admin, draft, field, value,
                                                            message):
    html = refused(admin, f"/plans/{draft.id}/plan", **{field: value})
    assert message in html
    assert f'value="{value}"' in html, "the input is shown again"


def test_phases_are_added_edited_and_removed_and_duties_follow(admin, draft):
    url = f"/plans/{draft.id}/phases"
    html = page(admin, url)
    blank = len(plan_of(draft)["phases"])  # the empty row to add one
    html = saved(admin, url, **{
        "phases-0-code": "P0", "phases-0-title": "谋划部署", "phases-3-remove": "y",
        f"phases-{blank}-code": "P5", f"phases-{blank}-title": "总结",
        f"phases-{blank}-start": "12-20", f"phases-{blank}-end": "12-31"})
    after = plan_of(draft)
    assert [p["code"] for p in after["phases"]] == ["P0", "P2", "P3", "P5"]
    assert after["phases"][0]["description"].startswith("制定意识形态工作责任制工作方案")
    assert editing.find_duty(after, "work-plan")["phase"] == "P0"
    assert all(d.get("phase") != "P4" for d in after["duties"])
    # The loader's message, after the save: dates in November now lie in no phase.
    assert "lies outside any phase" in html and 'data-testid="plan-errors"' in html
    assert "Phases saved." in html


@pytest.mark.parametrize("changes, message", [
    ({"phases-1-start": "04-31"}, "04-31 is not a month and day written MM-DD"),
    ({"phases-1-end": "02-29"}, "02-29 is not in every year"),
    ({"phases-1-code": "P 2"}, "A code holds only letters"),
    ({"phases-1-code": "P1"}, "Another phase has this code."),
])
def test_malformed_phases_are_refused(admin, draft, changes, message):
    assert message in refused(admin, f"/plans/{draft.id}/phases", **changes)


def test_a_duty_moves_to_new_dates_and_keeps_the_rest(admin, draft):
    url = f"/plans/{draft.id}/duties/training"
    before = copy.deepcopy(editing.find_duty(plan_of(draft), "training"))
    html = saved(admin, url, "duty-form", **{"schedule-dates": "06-23"})
    assert "Duty saved." in html and "The draft loads" in html
    assert f"In {draft.year} it falls on: <span data-schedule-dates" in html
    after = editing.find_duty(plan_of(draft), "training")
    assert after["due"] == {**before["due"], "dates": ["06-23"]}
    assert {k: v for k, v in after.items() if k != "due"} == \
        {k: v for k, v in before.items() if k != "due"}


def test_the_schedule_form_writes_the_rrule_and_reads_it_back(admin, draft):
    url = f"/plans/{draft.id}/duties/briefing"
    saved(admin, url, "duty-form", **{"schedule-kind": "times", "schedule-times": "2"})
    due = editing.find_duty(plan_of(draft), "briefing")["due"]
    assert due == {"rrule": "FREQ=MONTHLY;BYMONTH=6,12;BYMONTHDAY=-1",
                   "document": "每年至少一次在本单位党内通报意识形态领域情况", "note": "安排在12月15日前"}
    html = page(admin, url)
    assert '<input checked id="schedule-kind-3" name="schedule-kind" type="radio" ' \
           'value="times">' in html
    assert "06-30, 12-31" in html
    # Quarterly, on the 15th of each quarter's first month.
    saved(admin, url, "duty-form", **{"schedule-kind": "quarterly",
                                      "schedule-quarter_month": "1",
                                      "schedule-quarter_day": "15"})
    assert editing.find_duty(plan_of(draft), "briefing")["due"]["rrule"] == \
        "FREQ=YEARLY;BYMONTH=1,4,7,10;BYMONTHDAY=15"
    # Set by the coordinator: no date in the plan.
    saved(admin, url, "duty-form", **{"schedule-kind": "set_by"})
    assert editing.find_duty(plan_of(draft), "briefing")["due"] == {
        "set_by": "coordinator", "document": "每年至少一次在本单位党内通报意识形态领域情况", "note": "安排在12月15日前"}


def test_an_rrule_written_by_hand_is_kept_as_written(admin, draft):
    url = f"/plans/{draft.id}/duties/briefing"
    rule = "FREQ=MONTHLY;BYMONTHDAY=-1;BYMONTH=6,12"
    saved(admin, url, "duty-form", **{"schedule-rrule": rule, "source": "document",
                                      "document": "上半年、下半年各一次"})
    due = editing.find_duty(plan_of(draft), "briefing")["due"]
    assert due == {"rrule": rule, "source": "document", "document": "上半年、下半年各一次",
                   "note": "安排在12月15日前"}
    html = page(admin, url)
    assert 'checked id="schedule-kind-5"' in html
    # Posted back as it stands, the rule is not rewritten in the form's words.
    post(admin, url, form_data(html, "duty-form"))
    assert editing.find_duty(plan_of(draft), "briefing")["due"]["rrule"] == rule


@pytest.mark.parametrize("changes, message", [
    ({"schedule-dates": "06-31"}, "06-31 is not a month and day written MM-DD, such as 06-30."),
    ({"schedule-dates": ""}, "Give at least one date (MM-DD)."),
    ({"schedule-kind": "monthly", "schedule-monthly_day": "31"},
     "Month 2 has no day 31 every year: choose the last day instead."),
    ({"schedule-kind": "monthly", "schedule-every": "two"}, "Not a valid integer value."),
    ({"schedule-rrule": "FREQ=HOURLY"}, "FREQ must be YEARLY, MONTHLY, WEEKLY or DAILY"),
    ({"evidence-0-max_chars": "many"}, "Not a valid integer value."),
    ({"evidence-0-max_chars": "300"}, "Only a written statement has a character cap."),
    ({"evidence-1-title": "照片", "evidence-1-kind": ""}, "Choose the kind of evidence."),
    ({"before": "7, 1, soon"}, "Give days as whole numbers"),
    ({"code": "self check"}, "A code holds only letters"),
    ({"code": "work-plan"}, "Another duty has this code."),
])
def test_a_malformed_duty_is_refused_at_its_field_and_nothing_is_saved(admin, draft, changes,
                                                                       message):
    html = refused(admin, f"/plans/{draft.id}/duties/self-check-h1", "duty-form", **changes)
    assert message in html
    for value in changes.values():
        assert value == "" or f'value="{value}"' in html or f">{value}<" in html, value


def test_what_the_loader_refuses_is_saved_and_said(admin, draft):
    """A draft may be incomplete: the save goes through, the loader's message follows."""
    url = f"/plans/{draft.id}/duties/briefing"
    html = saved(admin, url, "duty-form", rubric=None)
    assert "Duty saved." in html
    assert "rubric row 1-5-2 is served by no duty" in html
    assert f'href="/plans/{draft.id}/rubric/1-5-2">Go there</a>' in html
    assert editing.find_duty(plan_of(draft), "briefing")["rubric"] == []
    assert services.draft_errors(db.session.get(PlanVersion, draft.id))
    # The preview waits until it loads.
    assert 'disabled>Preview</button>' in page(admin, f"/plans/{draft.id}")
    saved(admin, url, "duty-form", rubric="1-5-2")
    assert "The draft loads" in page(admin, url)


def test_evidence_and_marks_are_added_and_removed(admin, draft):
    url = f"/plans/{draft.id}/duties/study-session"
    saved(admin, url, "duty-form", **{
        "evidence-1-kind": "photo", "evidence-1-title": "学习照片",
        "flags-1-code": "theory", "flags-1-title": "理论学习", "attendance": None})
    duty = editing.find_duty(plan_of(draft), "study-session")
    assert duty["evidence"][1] == {"kind": "photo", "title": "学习照片"}
    assert duty["occurrence"]["attendance"] is False
    assert [f["code"] for f in duty["occurrence"]["flags"]] == ["ideology", "theory"]
    saved(admin, url, "duty-form", **{"evidence-0-remove": "y", "flags-1-remove": "y"})
    duty = editing.find_duty(plan_of(draft), "study-session")
    assert duty["evidence"] == [{"kind": "photo", "title": "学习照片"}]
    assert [f["code"] for f in duty["occurrence"]["flags"]] == ["ideology"]
    # Not recorded by occurrence any more: row 1-4-1's minimum on the mark "ideology"
    # is the loader's to refuse.
    html = saved(admin, url, "duty-form", by_occurrence=None)
    assert "occurrence" not in editing.find_duty(plan_of(draft), "study-session")
    assert "flag &#39;ideology&#39; is not one the duty study-session records" in html


def test_a_renamed_duty_is_renamed_in_the_rubric_and_a_removed_one_leaves_it(admin, draft):
    url = f"/plans/{draft.id}/duties/xuexi-platform"
    response = post(admin, url, form_data(page(admin, url), "duty-form", code="xuexi"))
    assert response.headers["Location"] == f"/plans/{draft.id}/duties/xuexi"
    data = plan_of(draft)
    assert editing.find_row(data, "2-1-4")["evidence"] == ["xuexi"]
    assert services.draft_errors(db.session.get(PlanVersion, draft.id)) == []
    post(admin, f"/plans/{draft.id}/duties/xuexi-contribution/delete", {})
    data = plan_of(draft)
    assert editing.find_duty(data, "xuexi-contribution") is None
    assert [r["duties"] for r in editing.find_row(data, "2-1-4")["requires"]] == ["pudong-app"]
    assert services.draft_errors(db.session.get(PlanVersion, draft.id)) == []


def test_a_new_duty_is_added_and_the_loader_says_what_it_lacks(admin, draft):
    url = f"/plans/{draft.id}/duties"
    response = post(admin, url, form_data(page(admin, url), code="summer-visit",
                                          title="暑期走访"))
    assert response.headers["Location"] == f"/plans/{draft.id}/duties/summer-visit"
    html = page(admin, response.headers["Location"])
    assert "duties[50] (summer-visit): &#39;due&#39; must be" in html
    html = saved(admin, f"/plans/{draft.id}/duties/summer-visit", "duty-form",
                 **{"schedule-dates": "07-15, 08-15", "rubric": "2-6-1",
                    "applies_to": ["village", "community"]})
    assert "The draft loads" in html
    duty = editing.find_duty(plan_of(draft), "summer-visit")
    assert duty["due"] == {"dates": ["07-15", "08-15"]}
    assert duty["applies_to"] == ["village", "community"]
    assert "暑期走访" in page(admin, url)
    post(admin, url, form_data(page(admin, url), code="summer-visit", title="x"), status=400)


def test_the_rubric_tree_edits_points_adds_and_removes_rows(admin, draft):
    url = f"/plans/{draft.id}/rubric"
    html = page(admin, url)
    nodes = form_data(html, "rubric-form").getlist("nodes-0-path")
    assert nodes == ["g0"]
    # Group 1's title; item 1-1 gets a third row (and so the page of that row).
    response = post(admin, url, form_data(html, "rubric-form", **{
        "nodes-0-title": "加强组织领导（2027）", "add": "row:g0/i0"}))
    assert response.headers["Location"] == f"/plans/{draft.id}/rubric/1-1-3"
    row_page = page(admin, response.headers["Location"])
    assert "Added 1-1-3: fill it in." in row_page
    assert "&#39;requirement&#39; must be a non-empty string" in row_page
    saved(admin, response.headers["Location"], "row-form", requirement="组织分工到位。",
          deduction="未能提供分工文件", points="2")
    data = plan_of(draft)
    assert data["rubric"]["groups"][0]["title"] == "加强组织领导（2027）"
    assert editing.find_row(data, "1-1-3") == {"code": "1-1-3", "requirement": "组织分工到位。",
                                               "deduction": "未能提供分工文件", "points": 2}
    html = page(admin, url)
    assert 'class="sum mismatch" data-sum-for="g0/i0">below: 8</span>' in html
    assert "its rows add up to 8 points, not 6" in html
    # The row goes again (and with it, from every duty).
    assert form_data(html, "rubric-form").getlist("nodes-4-code") == ["1-1-3"]
    html = saved(admin, url, "rubric-form", **{"nodes-4-remove": "y"})
    data = plan_of(draft)
    assert editing.find_row(data, "1-1-3") is None
    assert "The draft loads" in html


def test_the_rubric_tree_refuses_malformed_points_and_clashing_codes(admin, draft):
    url = f"/plans/{draft.id}/rubric"
    assert "six is not a number." in refused(admin, url, "rubric-form",
                                             **{"nodes-1-points": "six"})
    assert "Give points whole or in halves, such as 9.5." in refused(
        admin, url, "rubric-form", **{"nodes-1-points": "2.25"})
    assert "Another group, item or row has this code." in refused(
        admin, url, "rubric-form", **{"nodes-2-code": "1-1-2"})


def test_a_row_page_edits_its_minimums_and_keeps_the_rest(admin, draft):
    url = f"/plans/{draft.id}/rubric/1-4-1"
    before = copy.deepcopy(editing.find_row(plan_of(draft), "1-4-1"))
    saved(admin, url, "row-form", **{"requires-0-at_least": "5", "requires-1-deduct": "0.5",
                                     "applies_to": ["village", "community", "branch"]})
    row = editing.find_row(plan_of(draft), "1-4-1")
    assert row["requires"][0] == {**before["requires"][0], "at_least": 5}
    assert row["requires"][1] == {**before["requires"][1], "deduct": 0.5}
    assert row["requires"][1]["flag"] == "ideology"
    # A third minimum from the blank row; then the first removed.
    saved(admin, url, "row-form", **{"requires-2-duties": "study-session",
                                     "requires-2-at_least": "all",
                                     "requires-2-label": "全部学习", "requires-2-deduct": "1"})
    saved(admin, url, "row-form", **{"requires-0-remove": "y"})
    row = editing.find_row(plan_of(draft), "1-4-1")
    assert [r["label"] for r in row["requires"]] == ["有关意识形态内容的学习", "全部学习"]
    assert row["requires"][1] == {"duties": "study-session", "at_least": "all",
                                  "label": "全部学习", "deduct": 1}
    html = refused(admin, url, "row-form", **{"requires-0-at_least": "some"})
    assert "Give a number from 1, or “all”." in html
    html = refused(admin, url, "row-form", **{"requires-0-deduct": "half"})
    assert "half is not a number." in html


def test_a_renamed_row_is_renamed_in_its_duties(admin, draft):
    url = f"/plans/{draft.id}/rubric/1-5-2"
    response = post(admin, url, form_data(page(admin, url), "row-form", code="1-5-3"))
    assert response.headers["Location"] == f"/plans/{draft.id}/rubric/1-5-3"
    assert editing.find_duty(plan_of(draft), "briefing")["rubric"] == ["1-5-3"]
    assert services.draft_errors(db.session.get(PlanVersion, draft.id)) == []


def test_a_form_made_on_an_older_draft_overwrites_nothing(admin, draft):
    url = f"/plans/{draft.id}/duties/training"
    old_page = page(admin, url)
    saved(admin, f"/plans/{draft.id}/plan", title="另一个窗口")
    response = post(admin, url, form_data(old_page, "duty-form", **{"schedule-dates": "06-20"}),
                    status=400)
    html = response.get_data(as_text=True)
    assert "The draft was changed since this page was opened" in html
    assert 'value="06-20"' in html
    data = plan_of(draft)
    assert data["plan"]["title"] == "另一个窗口"
    assert editing.find_duty(data, "training")["due"]["dates"] == ["06-30"]
    # Saved again from the page shown (the current revision): it goes through.
    post(admin, url, form_data(html, "duty-form"))
    assert editing.find_duty(plan_of(draft), "training")["due"]["dates"] == ["06-20"]


def test_a_published_plan_is_shown_and_never_changed(admin, town):
    published = services.published(town.year)
    for path in ("/plan", "/phases", "/duties", "/duties/training", "/rubric",
                 "/rubric/1-4-1"):
        html = page(admin, f"/plans/{published.id}{path}")
        assert path == "/duties" or "<fieldset class=\"plain\" disabled>" in html, path
        assert "this page only shows it" in html and "<button" not in html.split("<main")[1]
    before = published.source
    url = f"/plans/{published.id}/duties/training"
    response = post(admin, url, form_data(page(admin, url), "duty-form"))
    assert response.headers["Location"] == f"/plans/{published.id}"
    assert "a published plan changes only by a new version" in page(admin, f"/plans/{published.id}")
    for path in ("/plan", "/phases", "/rubric", "/duties", "/duties/training/delete"):
        post(admin, f"/plans/{published.id}{path}", {"revision": services.revision(published)})
    assert source_of(published) == before


def test_the_schedule_preview_answers_what_the_form_writes(admin, draft):
    url = f"/plans/{draft.id}/schedule"
    answer = admin.get(url, query_string={"schedule-kind": "times", "schedule-times": "6"}).json
    assert answer["rrule"] == "FREQ=MONTHLY;BYMONTH=2,4,6,8,10,12;BYMONTHDAY=-1"
    assert answer["dates"][0] == f"{draft.year}-02-{calendar.monthrange(draft.year, 2)[1]}"
    assert len(answer["dates"]) == 6
    answer = admin.get(url, query_string={"schedule-kind": "dates",
                                          "schedule-dates": "12-01, 06-30"}).json
    assert answer["rrule"] == "" and answer["dates"] == [f"{draft.year}-06-30",
                                                          f"{draft.year}-12-01"]
    assert admin.get(url, query_string={"schedule-kind": "set_by"}).json["set_by"] is True
    response = admin.get(url, query_string={"schedule-kind": "monthly",
                                            "schedule-monthly_day": "30"})
    assert response.status_code == 400
    assert response.json == {"error": "Month 2 has no day 30 every year: choose the last day "
                                      "instead.", "field": "schedule-monthly_day"}
    response = admin.get(url, query_string={"schedule-rrule": "FREQ=SECONDLY",
                                            "schedule-kind": "rrule"})
    assert response.status_code == 400 and "FREQ must be" in response.json["error"]


def test_a_draft_that_is_not_toml_is_mended_in_the_plan_file(admin, draft):
    services.save_draft_source(draft, "[plan\nname = ", utcnow())
    db.session.commit()
    response = admin.get(f"/plans/{draft.id}/duties")
    assert response.headers["Location"] == f"/plans/{draft.id}"
    html = page(admin, f"/plans/{draft.id}")
    assert "The draft is not a valid plan file" in html and "invalid TOML" in html
    assert admin.get(f"/plans/{draft.id}/schedule").status_code == 400


def test_a_deeply_nested_draft_is_an_error_not_a_500(admin, draft):
    """Finding 16: ``a = [[[[...]]]]`` ten thousand deep, in the browser editor too."""
    nested = "a = " + "[" * 10_000 + "]" * 10_000 + "\n"
    services.save_draft_source(draft, nested, utcnow())
    db.session.commit()
    html = page(admin, f"/plans/{draft.id}")
    assert "nested too deeply" in html
    assert admin.get(f"/plans/{draft.id}/duties").status_code == 302
    copy = services.create_draft(draft.year, nested, None, utcnow())
    assert (copy.name, copy.title) == ("", "")


def test_an_imported_draft_is_filled_in_with_the_editor(admin, town, draft):
    """An official document's scoring table becomes a draft with no phases and no
    duties; the editor adds them, the loader says what is still missing."""
    from tests.phases.test_docximport import FRONT, ROWS, build

    document = build(ROWS, front=FRONT)
    response = admin.post("/plans/import", data={
        "year": str(town.year + 2), "document": (io.BytesIO(document),
                                                 "方案.docx")},
        content_type="multipart/form-data")
    # First the table as read, row by row beside the document's: nothing saved yet.
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "table 1, row 2" in html and "1-1-1" in html and "明确领导班子一把手" in html
    assert db.session.scalar(sa.select(PlanVersion).where(
        PlanVersion.year == town.year + 2)) is None
    response = post(admin, "/plans/import/confirm", form_data(html, "confirm-form"))
    imported = db.session.scalar(sa.select(PlanVersion).where(
        PlanVersion.year == town.year + 2))
    assert response.headers["Location"] == f"/plans/{imported.id}"
    assert imported.name == f"imported-{town.year + 2}"
    html = page(admin, f"/plans/{imported.id}")
    assert "The scoring table is imported as a draft" in html
    assert "32 rows" in html and "100 of 100 points" in html
    assert "the plan has no [[phases]]" in html
    assert f'href="/plans/{imported.id}/phases">Go there</a>' in html
    rubric = page(admin, f"/plans/{imported.id}/rubric")
    assert "1-4-1" in rubric and "健全并落实两委班子学习制度" in rubric
    saved(admin, f"/plans/{imported.id}/phases", **{
        "phases-0-code": "P1", "phases-0-title": "全年", "phases-0-start": "01-01",
        "phases-0-end": "12-31"})
    html = page(admin, f"/plans/{imported.id}")
    assert "rubric row 1-1-1 is served by no duty" in html


def test_a_document_without_a_scoring_table_is_refused(admin, town):
    import docx, io  # noqa: E401

    document = docx.Document()
    document.add_paragraph("书院镇2027年度工作方案")
    out = io.BytesIO()
    document.save(out)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(PlanVersion))
    for name, body in (("方案.docx", out.getvalue()), ("方案.docx", b"not a zip")):
        response = admin.post("/plans/import", data={
            "year": str(town.year + 1), "document": (io.BytesIO(body), name)},
            content_type="multipart/form-data")
        assert response.status_code == 400
        assert 'class="flash error"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PlanVersion)) == before


FUZZ_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(where=st.sampled_from(["/duties/study-session", "/rubric/2-3-2", "/phases", "/plan",
                              "/rubric"]),
       changes=st.dictionaries(st.sampled_from([
           "code", "title", "before", "overdue_every", "schedule-kind", "schedule-dates",
           "schedule-every", "schedule-start", "schedule-monthly_day", "schedule-times",
           "schedule-rrule", "evidence-0-kind", "evidence-0-max_chars", "evidence-1-index",
           "flags-0-code", "requires-0-at_least", "requires-0-deduct", "requires-0-duties",
           "requires-5-index", "points", "applies_to", "phases-0-start", "phases-9-code",
           "nodes-0-path", "nodes-3-points", "total", "issued_on", "timezone", "name",
           "not_applicable", "non_working_day", "source", "add"]), FUZZ_TEXT, max_size=4))
def test_fuzzed_editor_forms_never_fail_nor_write_a_broken_file(admin, draft, where, changes):
    """Whatever is typed: a save (302) or a refusal (400), and the plan file stays TOML."""
    url = f"/plans/{draft.id}{where}"
    testid = {"/duties/study-session": "duty-form", "/rubric/2-3-2": "row-form",
              "/rubric": "rubric-form"}.get(where)
    response = admin.get(url)
    if response.status_code == 404:  # renamed by an earlier example
        return
    response = admin.post(url, data=form_data(response.get_data(as_text=True), testid,
                                              **changes))
    assert response.status_code in (302, 400), response.status_code
    tomllib.loads(source_of(draft))



def test_an_editor_page_reads_the_version_once(admin, draft, count_queries):
    """The signed-in user and the version (the overview also asks whether the year has
    another plan): the plan is read from its file, not queried piece by piece."""
    for url in ("", "/plan", "/phases", "/duties", "/duties/study-session", "/rubric",
                "/rubric/1-4-1"):
        with count_queries() as statements:
            page(admin, f"/plans/{draft.id}{url}")
        assert len(statements) <= (4 if url == "" else 2), (url, statements)


def test_the_plan_file_form_made_on_an_older_draft_overwrites_nothing(admin, draft):
    """R6: the plan file as text, opened before the editor saved a change, is refused
    (409) with the text typed shown again; the editor's change stays."""
    url = f"/plans/{draft.id}"
    old_page = page(admin, url)
    saved(admin, f"{url}/plan", title="另一个窗口")
    old = form_data(old_page, "source-form")
    typed = old["source"].replace('title = "', 'title = "旧窗口', 1)
    response = post(admin, f"{url}/source", form_data(old_page, "source-form", source=typed),
                    status=409)
    html = response.get_data(as_text=True)
    assert "The draft was changed since this page was opened" in html
    assert "旧窗口" in html, "the text typed is shown again"
    assert plan_of(draft)["plan"]["title"] == "另一个窗口"
    # Saved again from the page shown (the current revision): it goes through.
    post(admin, f"{url}/source", form_data(html, "source-form"))
    assert plan_of(draft)["plan"]["title"].startswith("旧窗口")
