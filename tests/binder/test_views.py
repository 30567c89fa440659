"""The 工作台账 on the web: built in the background, shown on a progress page, for the
unit's own people and the coordinator only."""

import io
import time
import zipfile

import pytest
from pypdf import PdfReader


@pytest.fixture(autouse=True)
def no_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False


def wait_done(client, location, seconds=180):
    """Follow the progress page until the build is over; the page's final text."""
    deadline = time.monotonic() + seconds
    while True:
        page = client.get(location)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        if 'http-equiv="refresh"' not in text:
            return text
        assert time.monotonic() < deadline, "the build did not finish"
        time.sleep(0.5)


def test_a_manager_exports_the_units_binder(filed, client, login):
    town = filed.town
    login(client, town.users.manager)
    assert "/binder" in client.get("/binder").get_data(as_text=True)
    response = client.post(f"/binder/{town.year}/units/{town.units.a.id}.pdf")
    assert response.status_code == 302
    location = response.headers["Location"]
    text = wait_done(client, location)
    assert "Ready." in text
    pdf = client.get(location + "/file")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(pdf.data))
    pdf.close()  # send_file's open file
    assert "EVIDENCE-PDF-OWN-TEXT" in "".join(p.extract_text() for p in reader.pages)


def test_a_manager_is_refused_another_units_binder(filed, client, login, app):
    town = filed.town
    login(client, town.users.manager)
    assert client.post(f"/binder/{town.year}/units/{town.units.b.id}.pdf").status_code == 404
    assert client.post(f"/binder/{town.year}/units/{town.units.b.id}.zip").status_code == 404
    assert client.post(f"/binder/{town.year}/town.zip").status_code == 404
    assert client.get(f"/stats?year={town.year}&unit={town.units.b.id}").status_code == 404
    # Another unit's manager cannot follow a's job, nor download it.
    location = client.post(f"/binder/{town.year}/units/{town.units.a.id}.zip"
                           ).headers["Location"]
    wait_done(client, location)
    other = app.test_client()
    login(other, town.users.other)
    assert other.get(location).status_code == 404
    assert other.get(location + "/file").status_code == 404
    assert other.get("/binder/jobs/not-a-token").status_code == 404


def test_the_coordinator_exports_the_towns_zip(filed, client, login):
    town = filed.town
    login(client, town.users.admin)
    page = client.get(f"/binder?year={town.year}").get_data(as_text=True)
    assert town.units.a.name in page and town.units.b.name in page
    location = client.post(f"/binder/{town.year}/town.zip").headers["Location"]
    assert "Ready." in wait_done(client, location, seconds=400)
    download = client.get(location + "/file")
    data = download.data
    download.close()
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {n.split("/")[0] for n in names} == {"洋溢村党总支", "新北村党支部"}
    assert f"洋溢村党总支/洋溢村党总支 {town.year}年工作台账.pdf" in names


def test_a_year_without_a_plan_is_not_found(town, client, login):
    login(client, town.users.admin)
    assert client.post(f"/binder/{town.year + 3}/town.zip").status_code == 404
    assert client.get(f"/stats?year={town.year + 3}").status_code == 404


def test_the_year_in_figures_page(filed, client, login):
    town = filed.town
    login(client, town.users.admin)
    page = client.get(f"/stats?year={town.year}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert text.count('<svg class="chart"') == 2
    assert "洋溢村党总支" in text and "新北村党支部" in text
    login(client, town.users.manager)
    own = client.get(f"/stats?year={town.year}").get_data(as_text=True)
    assert "洋溢村党总支" in own and "新北村党支部" not in own


def test_the_interface_says_taizhang(town, client, login):
    login(client, town.users.manager)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    page = client.get(f"/binder?year={town.year}").get_data(as_text=True)
    assert "导出台账" in page and "工作台账" in page
    sheet = client.get(f"/assessment/{town.year}/units/{town.units.a.id}")
    assert "导出台账" in sheet.get_data(as_text=True)


def test_a_failed_build_says_why(town, client, login, monkeypatch, tmp_path):
    from tracker.core import pdf

    monkeypatch.setattr(pdf, "_font_family", None)
    monkeypatch.setenv("PATH", str(tmp_path))  # no fontconfig: no font can be found
    login(client, town.users.manager)
    location = client.post(f"/binder/{town.year}/units/{town.units.a.id}.pdf"
                           ).headers["Location"]
    text = wait_done(client, location)
    assert "The export failed" in text and "fonts-noto-cjk" in text
    assert client.get(location + "/file").status_code == 404
