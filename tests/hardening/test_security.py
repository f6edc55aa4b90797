"""Security settings and throttles: production mode passes `check --deploy`, headers on every response, sign-in
and API tokens throttled with a clear message, oversized uploads refused before they are read."""
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.authtoken.models import Token

from annotator.models import ImportJob
from config import security
from tests.conftest import SAMPLE, join

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"DEBUG": "false", "EISTUDIO_SECURE": "true", "EISTUDIO_BEHIND_PROXY": "true",
              "ALLOWED_HOSTS": "eistudio.example.org", "CSRF_TRUSTED_ORIGINS": "https://eistudio.example.org"}


def manage(*args, env=None, tmp_path=None):
    environ = {k: v for k, v in os.environ.items()
               if k not in ("DEBUG", "EISTUDIO_SECURE", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    environ.update(env or {})
    if tmp_path is not None:
        environ["EISTUDIO_VAR_DIR"] = str(tmp_path)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    env={**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(50)}, tmp_path=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_flags_the_local_defaults(tmp_path):
    """The same check without production mode is not clean: the test above proves something."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", env={"DEBUG": "false"}, tmp_path=tmp_path)
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr + result.stdout


def test_production_mode_refuses_the_local_secret_key(tmp_path):
    result = manage("check", env=PRODUCTION, tmp_path=tmp_path)
    assert result.returncode != 0 and "needs a SECRET_KEY of its own" in result.stderr


@pytest.mark.django_db
def test_every_response_carries_the_security_headers(client, lead):
    for url in ["/accounts/login/", "/", "/api/projects/", "/api/docs/", "/static/js/app.js"]:
        if url == "/":
            client.force_login(lead)
        r = client.get(url)
        assert r.status_code == 200, url
        assert r["X-Content-Type-Options"] == "nosniff", url
        assert r["Referrer-Policy"] == "same-origin", url
        csp = r["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors 'none'" in csp, url
        assert "unsafe-eval" not in csp and "script-src 'self' 'unsafe-inline'" not in csp
        assert "camera=()" in r["Permissions-Policy"]
    page = client.get("/")
    assert page["X-Frame-Options"] == "DENY" and page["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_swagger_ui_has_no_inline_script(client, lead):
    """The API docs fit the CSP: the page loads its init script from a URL (drf-spectacular's split view)."""
    client.force_login(lead)
    html = client.get("/api/docs/").content.decode()
    assert "<script>" not in html.replace(" ", "")
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


@pytest.mark.django_db
def test_production_cookies_and_https(settings, lead):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    client = Client()
    r = client.get("/accounts/login/")
    assert r.status_code == 301 and r["Location"].startswith("https://")
    r = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert r.status_code == 200 and "max-age=31536000" in r["Strict-Transport-Security"]
    r = client.post("/accounts/login/", {"username": "lead1", "password": "pw-lead1"}, HTTP_X_FORWARDED_PROTO="https")
    assert r.status_code == 302
    session = r.cookies["sessionid"]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    assert r.cookies["csrftoken"]["secure"] and r.cookies["csrftoken"]["httponly"]


# ---------------------------------------------------------------------------------------------- throttling
@pytest.mark.django_db
def test_failed_sign_ins_are_throttled_per_username_and_address(settings, annotator, reviewer):
    settings.EISTUDIO_LOGIN_FAILURE_LIMIT = 3
    client = Client(REMOTE_ADDR="10.9.8.7")
    for _ in range(3):
        r = client.post("/accounts/login/", {"username": "ann1", "password": "wrong"})
        assert r.status_code == 200 and b"didn't match" in r.content
    # now even the right password is refused, with a clear message, without checking it
    r = client.post("/accounts/login/", {"username": "ANN1", "password": "pw-ann1"})
    assert r.status_code == 429
    assert b"Too many failed sign-ins for this username from your address. Try again in 15 minutes." in r.content
    # another person at the same address, and the same person elsewhere, still sign in
    assert client.post("/accounts/login/", {"username": "rev1", "password": "pw-rev1"}).status_code == 302
    elsewhere = Client(REMOTE_ADDR="10.1.1.1")
    assert elsewhere.post("/accounts/login/", {"username": "ann1", "password": "pw-ann1"}).status_code == 302


@pytest.mark.django_db
def test_a_success_clears_the_count_and_one_address_cannot_spray_usernames(settings, annotator):
    settings.EISTUDIO_LOGIN_FAILURE_LIMIT = 3
    settings.EISTUDIO_LOGIN_FAILURE_LIMIT_PER_IP = 5
    client = Client(REMOTE_ADDR="10.0.0.5")
    for _ in range(2):
        client.post("/accounts/login/", {"username": "ann1", "password": "wrong"})
    assert client.post("/accounts/login/", {"username": "ann1", "password": "pw-ann1"}).status_code == 302
    client.logout()
    for _ in range(2):  # the count started again
        assert client.post("/accounts/login/", {"username": "ann1", "password": "wrong"}).status_code == 200
    for name in ("a", "b", "c"):
        client.post("/accounts/login/", {"username": name, "password": "x"})
    r = client.post("/accounts/login/", {"username": "ann1", "password": "pw-ann1"})
    assert r.status_code == 429


@pytest.mark.django_db
def test_the_admin_sign_in_is_throttled_too(settings, django_user_model):
    settings.EISTUDIO_LOGIN_FAILURE_LIMIT = 2
    django_user_model.objects.create_superuser("root", password="pw-root")
    client = Client()
    for _ in range(2):
        client.post("/admin/login/", {"username": "root", "password": "no"})
    r = client.post("/admin/login/", {"username": "root", "password": "pw-root"})
    assert r.status_code == 200 and b"Too many failed sign-ins" in r.content


@pytest.mark.django_db
def test_proxy_address_comes_from_the_trusted_hop(settings):
    from django.test import RequestFactory

    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9")
    assert security.client_ip(request) == "127.0.0.1"
    settings.EISTUDIO_TRUSTED_PROXIES = 1
    assert security.client_ip(request) == "203.0.113.9"  # not the forgeable left-most entry


@pytest.mark.django_db
def test_wrong_api_tokens_are_throttled_per_address(settings, lead):
    settings.EISTUDIO_TOKEN_FAILURE_LIMIT = 4
    good = Token.objects.create(user=lead).key
    client = Client(REMOTE_ADDR="10.2.2.2")
    for i in range(4):
        assert client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token wrong{i}").status_code in (401, 403)
    r = client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {good}")
    assert r.status_code == 429 and "wrong API token" in r.json()["detail"]
    assert Client(REMOTE_ADDR="10.3.3.3").get("/api/projects/", HTTP_AUTHORIZATION=f"Token {good}").status_code == 200


@pytest.mark.django_db
def test_api_requests_are_rate_limited_per_user(monkeypatch, lead):
    monkeypatch.setattr(security.UserThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "2/min"})
    token = Token.objects.create(user=lead).key
    client = Client()
    codes = [client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token}").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


@pytest.mark.django_db
def test_a_cache_outage_does_not_lock_anyone_out(settings, annotator, lead):
    """Throttle counters fail open: with the cache unreachable, sign-in and the API keep working."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}
    client = Client()
    assert client.post("/accounts/login/", {"username": "ann1", "password": "wrong"}).status_code == 200
    assert client.post("/accounts/login/", {"username": "ann1", "password": "pw-ann1"}).status_code == 302
    token = Token.objects.create(user=lead).key
    assert Client().get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


# ------------------------------------------------------------------------------------------------- uploads
@pytest.fixture
def project(lead):
    from annotator.models import Project

    return join(Project.objects.create(name="uploads"), lead)


@pytest.mark.django_db
def test_an_import_file_over_the_limit_is_refused_with_a_clear_message(client, settings, lead, project):
    settings.EISTUDIO_MAX_UPLOAD_BYTES = 1000
    client.force_login(lead)
    big = SimpleUploadedFile("user.jsonl", (SAMPLE / "user.jsonl").read_bytes()[:1500])
    assert big.size > 1000
    r = client.post(f"/projects/{project.pk}/import/", {"format": "eibench", "questions": big})
    assert r.status_code == 422 and "larger than the limit of 1,000 bytes" in r.content.decode()
    api = client.post(f"/api/projects/{project.pk}/imports/",
                      {"format": "eibench", "questions": SimpleUploadedFile("user.jsonl", b"x" * 1001)})
    assert api.status_code == 400 and "larger than the limit of 1,000 bytes" in str(api.json())
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_an_oversized_request_is_refused_before_its_body_is_read(client, settings, lead, project):
    settings.EISTUDIO_MAX_UPLOAD_BYTES = 10
    client.force_login(lead)
    limit = security.upload_limit_bytes()
    for url in (f"/projects/{project.pk}/import/", f"/api/projects/{project.pk}/imports/"):
        r = client.generic("POST", url, b"", content_type="multipart/form-data; boundary=x",
                           CONTENT_LENGTH=str(limit + 1))
        assert r.status_code == 413, url
        message = r.json()["detail"] if url.startswith("/api/") else r.content.decode()
        assert "upload refused" in message and "10 bytes per file" in message
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_a_nul_character_in_the_address_is_a_clear_400_not_a_server_error(client, lead, project):
    """Found by the API fuzzer (reliability profile): ``GET /api/assignments/?status=%00`` reached PostgreSQL,
    whose text cannot hold NUL, and failed as a 500."""
    client.force_login(lead)
    for url in ["/api/assignments/?status=%00", "/api/samples/?state=a%00b", f"/projects/{project.pk}/?state=%00",
                "/api/projects/%00/"]:
        r = client.get(url)
        assert r.status_code == 400, url
        assert "NUL character" in r.content.decode(), url
    assert client.get("/api/assignments/?status=open").status_code == 200  # the same filter without it works
