"""Object-level permissions: every page, partial and API operation x every role (anonymous, no role, another
project's lead, an annotator of the project off / on the sample, its reviewer, its lead). The URL patterns and the
API schema are walked, so an endpoint added without a line in ``matrix.py`` fails here."""
import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from tests.hardening.matrix import API, PAGE_EXEMPT, PAGES, REVIEW
from tests.hardening.world import ROLES, build_world

pytestmark = pytest.mark.django_db


def url_names(resolver=None, namespace=""):
    """Every named URL pattern of the site (admin and the API router's own names aside)."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            if p.namespace == "admin":
                continue
            yield from url_names(p, p.namespace or namespace)
        elif isinstance(p, URLPattern) and p.name:
            yield p.name


def api_operations():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {(method, path) for path, ops in schema["paths"].items() for method in ops
            if method in ("get", "post", "put", "patch", "delete")}


def test_every_endpoint_is_in_the_matrix():
    pages = {n for n in url_names() if not n.startswith("api-")} - PAGE_EXEMPT
    assert pages - {op.name for op in PAGES} == set(), "pages without a permission test: add them to matrix.PAGES"
    assert {op.name for op in PAGES} - pages == set(), "matrix.PAGES names a page that does not exist"
    operations = api_operations()
    assert operations - set(API) == set(), "API operations without a permission test: add them to matrix.API"
    assert set(API) - operations == set(), "matrix.API names an operation that does not exist"


def _request(op, w, role):
    user = w.users[role]
    data = op.data(w) if op.data else {}
    if op.api:
        client = APIClient()
        if user:
            client.force_authenticate(user)
        multipart = any(hasattr(v, "read") for v in data.values())
        kwargs = {"format": "multipart" if multipart else "json"} if op.method != "get" else {}
        return getattr(client, op.method)(op.path(w), data, **kwargs)
    client = Client()
    if user:
        client.force_login(user)
    return getattr(client, op.method)(op.path(w), data, HTTP_HX_REQUEST="true")


def _denied(response, role, op) -> bool:
    code = response.status_code
    if role == "anonymous" and not op.api:
        return code == 302 and "/accounts/login/" in response["Location"]
    if op.api and code == 400 and b"does not exist" in response.content:
        return True  # a project named in the body that is not theirs does not exist for them (DRF's wording)
    return code in (401, 403, 404)


def _leaks(response, w) -> list[str]:
    """What of project A a response shows (checked for people outside A)."""
    if response.status_code != 200 or getattr(response, "streaming", False):
        return []
    body = response.content.decode(errors="replace")
    if response["Content-Type"].startswith("application/json"):
        data = json.loads(body)
        items = data.get("results", []) if isinstance(data, dict) else data
        samples = w.a_ids()["sample"]
        return [str(i)[:120] for i in items if isinstance(i, dict) and (
            i.get("project") == w.a.pk or i.get("sample") in samples)]
    return ["alpha"] if "alpha" in body else []


ALL_OPS = PAGES + list(API.values())


@pytest.mark.parametrize("op", ALL_OPS, ids=[f"{o.method} {o.name}" for o in ALL_OPS])
def test_who_may_use_it(op, django_user_model):
    w = build_world(django_user_model)
    problems = []
    for role in ROLES:  # refused roles first: they change nothing, so the allowed ones see the world as built
        response = _request(op, w, role)
        code = response.status_code
        if code >= 500:
            problems.append(f"{role}: server error {code}")
            continue
        if op.allowed == REVIEW:
            must_pass = role == "lead"
            must_fail = role in ("anonymous", "no_role", "other_lead")
        else:
            must_pass, must_fail = role in op.allowed, role not in op.allowed
        if (must_pass and _denied(response, role, op)) or (must_pass and code in (401, 403, 404)):
            problems.append(f"{role}: refused ({code}) but may use it: {response.content[:200]!r}")
        if must_fail and not _denied(response, role, op):
            problems.append(f"{role}: got {code}, must be refused")
        if role == "other_lead" and not must_fail:
            problems.extend(f"other_lead sees project A: {leak}" for leak in _leaks(response, w))
    assert not problems, "\n".join(problems)
