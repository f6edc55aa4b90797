"""The database is unreachable: 503 with a message and a retry (htmx partial into #unavailable, a standalone page
that re-posts the same fields, JSON for the API), never a bare 500. The real thing (a PostgreSQL restart behind
gunicorn) is tests/integration/test_db_restart.py."""
from unittest import mock

import pytest
from django.db import OperationalError

pytestmark = pytest.mark.django_db

DOWN = OperationalError("connection failed: server closed the connection unexpectedly")


@pytest.fixture
def signed_in(client, annotator):
    client.force_login(annotator)
    return client


def test_an_htmx_change_gets_the_message_in_unavailable_and_leaves_the_form_alone(signed_in):
    with mock.patch("annotator.workspace_views.queue_rows", side_effect=DOWN):
        r = signed_in.get("/work/", HTTP_HX_REQUEST="true")
    assert r.status_code == 503 and r["Retry-After"] == "3" and r["HX-Retarget"] == "#unavailable"
    body = r.content.decode()
    assert "data-retry" in body and "Your change was not confirmed" in body


def test_a_form_post_gets_a_page_that_posts_the_same_fields_again_but_never_a_password(client, annotator):
    with mock.patch("django.contrib.auth.forms.AuthenticationForm.clean", side_effect=DOWN):
        r = client.post("/accounts/login/", {"username": "ann1", "password": "pw-typed", "next": "/work/"})
    body = r.content.decode()
    assert r.status_code == 503 and "database is not answering" in body
    assert 'name="username" value="ann1"' in body and 'name="next" value="/work/"' in body
    assert "pw-typed" not in body and 'type="password"' in body  # typed again, never echoed


def test_the_api_answers_json_with_retryable(signed_in):
    with mock.patch("annotator.api.ProjectViewSet.list", side_effect=DOWN):
        r = signed_in.get("/api/projects/")
    assert r.status_code == 503 and r.json()["retryable"] is True


def test_other_errors_are_not_hidden(signed_in):
    with mock.patch("annotator.workspace_views.queue_rows", side_effect=ValueError("a bug")), \
            pytest.raises(ValueError):
        signed_in.get("/work/")
