"""Schema-driven API fuzzing (schemathesis): every operation of ``/api/schema/`` with generated parameters and
bodies (valid and invalid), called in-process through the WSGI app with a token, as a project lead and as an
annotator. No answer may be a server error. Path ids are steered to the world's real objects half the time, so the
calls reach the code behind the 404s.

    pytest -m fuzz                                   # ~10 examples per operation and role
    HYPOTHESIS_PROFILE=reliability pytest -m fuzz    # 25 (about 10 s per operation and role here)
"""
import os
import random

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import settings as hsettings
from schemathesis.checks import not_a_server_error

from tests.hardening.world import build_world

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]
EXAMPLES = {"fast": 10, "reliability": 25}.get(os.environ.get("HYPOTHESIS_PROFILE", "fast"), 10)

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


# Server errors the fuzzer finds in the review app (reported; not ours to edit). The three it found (a JSON body that
# is not an object made finalise, rework and freeze call .get() on a list or a string) were fixed in review.
REVIEW_500: dict[str, str] = {}


@pytest.fixture(autouse=True)
def _known_review_bugs(request):
    for label, reason in REVIEW_500.items():
        if f"[{label}][lead]" in request.node.name:  # an annotator is refused before the bug
            request.applymarker(pytest.mark.xfail(strict=False, reason=reason))


@pytest.fixture
def _keep_the_test_connection():
    """As Django's test client does: the WSGI app must not close the test's database connection after a request."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(django_user_model, _keep_the_test_connection):
    w = build_world(django_user_model)
    # the ids of the world's objects, by the first segment(s) of their API path
    w.fuzz_ids = {
        "projects": [w.a.pk, w.b.pk], "samples": [w.sample.pk, w.other_sample.pk, w.b_sample.pk],
        "triggers": [w.trigger.pk, w.removed.pk], "imports": [w.job.pk], "assignments": [w.assignment.pk],
        "work/samples": [w.sample.pk, w.b_sample.pk], "work/triggers": [w.trigger.pk, w.removed.pk],
        "runs": [w.extra["run"].pk], "prompt-versions": [w.extra["version"].pk], "traces": [w.extra["trace"].pk],
        "review/draws": [w.extra["draw"].pk], "review/quality-samples": [w.extra["quality_sample"].pk],
        "review/assignments": [w.extra["review_assignment"].pk], "review/projects": [w.a.pk],
        "benchmark-versions": [w.extra["benchmark_version"].pk],
    }
    return w


def _steer(case, world):
    rng = random.Random(repr(sorted((case.path_parameters or {}).items())) + case.path)
    if not case.path_parameters or rng.random() < 0.5:
        return
    path = case.path.removeprefix("/api/")
    for prefix in sorted(world.fuzz_ids, key=len, reverse=True):
        if path.startswith(prefix + "/"):
            case.path_parameters["id"] = rng.choice(world.fuzz_ids[prefix])
            break
    if "user_id" in case.path_parameters:
        case.path_parameters["user_id"] = rng.choice([u.pk for u in world.users.values() if u])


@pytest.mark.parametrize("role", ["lead", "on_sample"])
@schema.parametrize()
@hsettings(max_examples=EXAMPLES)
def test_no_operation_answers_with_a_server_error(case, role, world):
    _steer(case, world)
    case.call_and_validate(headers={"Authorization": f"Token {world.token(role)}"}, checks=[not_a_server_error])
