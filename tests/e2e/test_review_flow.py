"""The quality loop in a real headless Chromium, from the keyboard: three reviewers rate a sample (one gives it 1,
the mean falls below 3), the lead sends it back to pass 2, the annotator reads the reviewers' notes, fixes it and
submits passes 2 and 3, the three reviewers rate it again, and the lead's dashboard shows the new figures."""
import pytest

from annotator import actions as work
from annotator.models import Sample
from annotator.roles import REVIEWER
from review import actions
from review.models import QualitySample
from tests.conftest import _user, join
from tests.review.conftest import refined_project

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reviewers(reviewer, django_user_model):
    return [reviewer, _user(django_user_model, "rev2", REVIEWER), _user(django_user_model, "rev3", REVIEWER)]


@pytest.fixture
def loop(lead, reviewers, annotator):
    project = join(refined_project("E2E review", per_emotion=1, emotions=["happy", "sad"], with_image=True,
                                   state="labelled"), lead, *reviewers, annotator)
    work.do_assign_project(project.pk, [annotator.pk], actor=lead, overlap_fraction=0)
    for sample in Sample.objects.filter(project=project):
        for p in (1, 2, 3):
            work.do_take_next(project.pk, p, actor=annotator)
            work.do_submit_pass(sample.pk, actor=annotator)
    actions.do_draw_quality_sample(project.pk, actor=lead, per_emotion=1, seed=1, emotions=["happy"])
    return project, QualitySample.objects.get(project=project)


def signed_in(browser, live_server, username):
    context = browser.new_context()
    page = context.new_page()
    page.goto(live_server.url + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-" + username)
    page.click("button[type=submit]")
    page.wait_for_selector("form.who")  # signed in
    return page


def settled(page):
    """htmx is done swapping (a selector wait: the pages' CSP forbids the eval a wait_for_function would need)."""
    page.wait_for_selector(".htmx-request, .htmx-settling, .htmx-added, .htmx-swapping", state="detached")


def rate(browser, live_server, username, score, note=""):
    page = signed_in(browser, live_server, username)
    page.click("text=My reviews")
    page.wait_for_selector("#review-queue [data-review-next]")
    page.wait_for_load_state("load")             # the deferred review.js listens to the keys by then
    page.keyboard.press("n")                     # the first project with something to rate
    page.wait_for_selector("#rate-form")
    page.wait_for_load_state("load")
    assert page.locator(".zoom-stage img").evaluate("i => i.decode().then(() => i.naturalWidth)") == 64
    assert "4–5 if the triggers make sense" in page.inner_text("#review")
    page.keyboard.press("?")
    assert "choose the rating" in page.inner_text("#help")
    page.keyboard.press("Escape")
    page.keyboard.press(str(score))
    assert page.locator(f"input[name=score][value='{score}']").is_checked()
    if note:
        page.keyboard.press("t")
        page.keyboard.type(note)
    page.keyboard.press("Enter")
    page.wait_for_selector("#review[data-status=done]")
    settled(page)
    text = page.inner_text("#review")
    assert f"Rated: {score}/5" in text
    page.context.close()
    return text


def test_rate_rework_rerate_dashboard(live_server, browser, loop, lead, reviewers, annotator):
    project, qs = loop
    first = rate(browser, live_server, "rev1", 1, "The trophy is not in the picture.")
    assert "Ratings of this round" in first and "rev2" not in first  # only mine so far
    second = rate(browser, live_server, "rev2", 3)
    assert "The trophy is not in the picture." in second  # after rating: the others' ratings and notes
    rate(browser, live_server, "rev3", 4)
    qs.refresh_from_db()
    assert qs.status == "below" and qs.mean == pytest.approx(8 / 3)

    boss = signed_in(browser, live_server, "lead1")
    boss.goto(f"{live_server.url}/projects/{project.pk}/review/dashboard/")
    assert boss.inner_text("tr[data-emotion=happy] td.mean") == "2.67"
    boss.goto(f"{live_server.url}/projects/{project.pk}/review/")
    row = boss.locator(f"#qs-{qs.pk}")
    assert "below the threshold" in row.inner_text() and "The trophy is not in the picture." in row.inner_text()
    row.locator("select[name=pass_number]").select_option("2")
    row.locator("text=Send to rework").click()
    boss.wait_for_selector("text=back to pass 2")
    assert Sample.objects.get(pk=qs.sample_id).state == "pass2"

    page = signed_in(browser, live_server, "ann1")
    page.goto(live_server.url + "/work/")
    page.wait_for_load_state("load")
    page.keyboard.press("n")
    page.wait_for_selector("#work li.trigger.selected")
    assert "Pass 2" in page.inner_text("h1")
    notes = page.inner_text("#work .rework")
    assert "mean rating 2.67 is below the threshold 3" in notes
    assert "rev1 rated 1/5: The trophy is not in the picture." in notes
    version = int(page.get_attribute("#work", "data-version"))
    page.keyboard.press("a")
    page.keyboard.type("He has just won the final of the tournament.")
    page.keyboard.press("Enter")
    page.wait_for_selector(f'#work[data-version="{version + 1}"]')
    settled(page)
    page.keyboard.press("Escape")
    page.keyboard.press("s")                     # pass 2 done → my queue
    page.wait_for_url("**/work/?empty=2")
    page.wait_for_load_state("load")
    page.keyboard.press("n")                     # pass 3
    page.wait_for_selector("#work li.trigger.selected")
    assert "Pass 3" in page.inner_text("h1")
    assert "He has just won the final of the tournament." in page.inner_text("#export-preview")
    page.keyboard.press("s")
    page.wait_for_url("**/work/?empty=3")
    page.context.close()

    qs.refresh_from_db()
    assert qs.round == 2 and qs.status == "pending"  # refined again: a new rating round
    assert Sample.objects.get(pk=qs.sample_id).state == "sampled"
    for who, score in (("rev1", 4), ("rev2", 4), ("rev3", 5)):
        text = rate(browser, live_server, who, score)
        assert "He has just won the final of the tournament." in text  # reviewers rate the fixed triggers
    qs.refresh_from_db()
    assert qs.status == "passed" and qs.mean == pytest.approx(13 / 3)

    boss.goto(f"{live_server.url}/projects/{project.pk}/review/dashboard/")
    assert boss.inner_text("tr[data-emotion=happy] td.mean") == "4.33"
    assert boss.locator("#dash-categories svg.chart").count() == 2
    boss.goto(f"{live_server.url}/projects/{project.pk}/review/")
    boss.locator("#categories form:has(input[value=happy]) button").click()
    boss.wait_for_selector("text=Finalised happy")
    assert Sample.objects.get(pk=qs.sample_id).state == "final"
