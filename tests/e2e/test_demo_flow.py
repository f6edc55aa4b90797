"""A new user in a real headless Chromium: sign in with a demo account, open the demo project and a sample
(its photograph shown), and download the EIBench export."""
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.management import call_command

from annotator.management.commands.demo_setup import DEMO_PROJECT
from annotator.models import Project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def demo_password(capsys, username):
    call_command("demo_setup")
    out = capsys.readouterr().out
    return re.search(rf"^\s+\w+\s+{username}\s+(\S+)$", out, re.M).group(1)


def test_new_user_signs_in_opens_a_sample_and_exports(live_server, page, capsys):
    password = demo_password(capsys, "annotator1")
    page.goto(live_server.url + "/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", "annotator1")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.get_by_role("link", name=DEMO_PROJECT).click()
    page.wait_for_selector("text=3 in all")
    assert page.locator("table.samples tbody tr").count() == 3

    # keyboard: j selects the first row, Enter opens it
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1.key")
    key = page.inner_text("h1.key")
    assert key in ("Happy/astronaut.jpg", "Happy/grace_hopper.jpg", "excitement/cameraman.png")
    img = page.locator("figure.image img")
    assert img.evaluate("i => i.decode().then(() => i.naturalWidth)") > 100  # the photo loaded (decode() waits for it)
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()
    page.keyboard.press("Escape")

    page.keyboard.press("u")  # back to the project
    page.wait_for_selector("#export-zip")
    with page.expect_download() as info:
        page.click("#export-zip")
    data = Path(info.value.path()).read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(data))
    truth = archive.read("EI_Basic/basic_ground_truth.json").decode()
    assert '"Happy/astronaut.jpg": "1. Broad smile.' in truth
    assert archive.read("EI_Basic/user.jsonl").count(b"\n") == 2  # the two final samples
    assert Project.objects.get(name=DEMO_PROJECT).is_demo


def open_demo_project(page, live_server, capsys, username):
    password = demo_password(capsys, username)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.get_by_role("link", name=DEMO_PROJECT).click()


def test_lead_imports_in_the_browser_and_sees_per_line_errors(live_server, page, capsys, eager_celery):
    open_demo_project(page, live_server, capsys, "lead")
    page.set_input_files("input[name=questions]", files=[{
        "name": "user.jsonl", "mimeType": "application/json",
        "buffer": b'{"new.png": "Why?"}\n{"new.png": "Why again?"}\n'}])
    page.click("form.import button[type=submit]")
    page.wait_for_selector(".job-failed")
    text = page.inner_text(".job-failed")
    assert "nothing was imported" in text
    assert "duplicate image path 'new.png' (first on line 1)" in text

    page.set_input_files("input[name=questions]", files=[{
        "name": "more.jsonl", "mimeType": "application/json", "buffer": b'{"new.png": "Why?"}\n'}])
    page.click("form.import button[type=submit]")
    page.wait_for_selector(".job-done")
    assert "Imported 1 samples" in page.inner_text(".job-done")


def test_import_form_shows_what_to_fix(live_server, page, capsys):
    open_demo_project(page, live_server, capsys, "lead")
    page.click("form.import button[type=submit]")  # no file chosen
    page.wait_for_selector("form.import .error")
    assert "choose at least one file" in page.inner_text("form.import")
