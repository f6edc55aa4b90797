"""CSRF on every write, and text people write rendered as text everywhere: every page, partial, API answer and
export of a world whose project name, description, questions, triggers, notes, reasons, errors, prompts and ratings
all carry an HTML/JS payload. Pages also have to fit the CSP (no inline script, no inline event handler)."""
import re

import pytest
from django.test import Client

from annotator.models import Event
from tests.hardening.matrix import API, PAGES, REVIEW
from tests.hardening.world import MARKERS, PAYLOAD, build_world

pytestmark = pytest.mark.django_db

WRITES = [op for op in PAGES + list(API.values()) if op.method != "get"]
READS = [op for op in PAGES + list(API.values()) if op.method == "get"]


def _actor(op):
    if op.allowed == REVIEW or "lead" in op.allowed:
        return "lead"
    return sorted(op.allowed)[0]


@pytest.mark.parametrize("op", WRITES, ids=[o.name for o in WRITES])
def test_a_write_without_the_csrf_token_is_refused(op, django_user_model):
    w = build_world(django_user_model)
    client = Client(enforce_csrf_checks=True)
    client.force_login(w.users[_actor(op)])
    client.get("/")  # the CSRF cookie, as a browser would have it
    data = op.data(w) if op.data else {}
    multipart = any(hasattr(v, "read") for v in data.values())
    kwargs = {} if multipart or not op.api else {"content_type": "application/json"}
    if kwargs:
        import json

        data = json.dumps(data)
    events = Event.objects.count()
    refused = getattr(client, op.method)(op.path(w), data, HTTP_HX_REQUEST="true", **kwargs)
    assert refused.status_code == 403, (refused.status_code, refused.content[:300])
    assert b"CSRF" in refused.content
    assert Event.objects.count() == events, "a refused request changed something"
    # with the token (as htmx sends it) the same request is not refused for CSRF
    if multipart:  # the upload was consumed; make it again
        data = op.data(w)
    token = client.cookies["csrftoken"].value
    accepted = getattr(client, op.method)(op.path(w), data, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token,
                                          **kwargs)
    assert not (accepted.status_code == 403 and b"CSRF" in accepted.content), accepted.content[:300]


def _viewers(op):
    if op.allowed == REVIEW:
        return ["lead"]
    return [r for r in ("lead", "reviewer", "on_sample") if r in op.allowed]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


@pytest.fixture
def hostile(django_user_model):
    return build_world(django_user_model, payload=PAYLOAD)


@pytest.mark.parametrize("op", READS, ids=[o.name for o in READS])
def test_written_text_renders_as_text(op, hostile):
    w = hostile
    for role in _viewers(op):
        client = Client()
        client.force_login(w.users[role])
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            r = client.get(op.path(w), **headers)
            assert r.status_code < 500, (role, r.status_code)
            if r.status_code != 200:
                continue
            kind = r["Content-Type"]
            assert r["X-Content-Type-Options"] == "nosniff"
            body = b"".join(r.streaming_content) if r.streaming else r.content
            if kind.startswith("text/html"):
                html = body.decode()
                for marker in MARKERS:
                    assert marker not in html, f"{role} sees {marker!r} unescaped in {op.path(w)}"
            else:  # JSON, exports, images, CSV: never served as something a browser would run
                assert not kind.startswith(("text/html", "image/svg", "application/xhtml")), kind


@pytest.mark.parametrize("op", [o for o in PAGES if o.method == "get"],
                         ids=[o.name for o in PAGES if o.method == "get"])
def test_pages_fit_the_content_security_policy(op, hostile):
    """No inline <script> and no on*= handler: the CSP (script-src 'self') would block them in a browser."""
    w = hostile
    client = Client()
    client.force_login(w.users[_viewers(op)[0]])
    r = client.get(op.path(w))
    if r.status_code != 200 or not r["Content-Type"].startswith("text/html"):
        return
    html = re.sub(r'"[^"]*"|\'[^\']*\'', '""', r.content.decode())  # attribute values (escaped text) aside
    assert not INLINE_SCRIPT.findall(html), INLINE_SCRIPT.findall(html)[:3]
    assert not INLINE_HANDLER.findall(html), INLINE_HANDLER.findall(html)[:3]


def test_the_hostile_world_really_holds_the_payload(hostile):
    """The walk above proves something: the payload is in the database, and the pages show it (escaped)."""
    client = Client()
    client.force_login(hostile.users["lead"])
    html = client.get(f"/samples/{hostile.sample.pk}/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert hostile.sample.question.endswith(PAYLOAD)
