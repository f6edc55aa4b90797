"""A lead in a real headless Chromium starts auto-labelling of the demo project, watches the run finish, and
reads the CFSA transcript of the labelled sample, marked as placeholder output."""
import pytest

from tests.e2e.test_demo_flow import open_demo_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_lead_starts_a_run_and_reads_the_transcript(live_server, page, capsys, eager_celery):
    open_demo_project(page, live_server, capsys, "lead")
    panel = page.locator("#pipeline-panel")
    panel.wait_for()
    assert "Placeholder model: outputs are random" in panel.inner_text()
    page.click("#run-start")
    page.wait_for_selector("#pipeline-panel .run-done", timeout=60_000)
    row = page.inner_text("#pipeline-panel .run")
    assert "1 done" in row and "0 failed" in row and "placeholder model: outputs are random" in row
    assert page.locator("#pipeline-panel .runbar .done").evaluate("e => e.style.width") == "100%"

    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Demo: people photographs").click()
    page.select_option("select[name=state]", "labelled")
    page.wait_for_selector("table.samples tbody tr >> text=cameraman")
    page.click("table.samples tbody tr >> text=cameraman")
    page.wait_for_selector("#pipeline-sample")
    transcript = page.inner_text("#pipeline-sample")
    for stage in ("1a · question preprocessing", "2b · general answers", "4 · emotion summarisation"):
        assert stage in transcript
    assert "These triggers come from a model with random weights" in transcript
    assert page.locator("ol.triggers li .origin").first.inner_text() == "model"
