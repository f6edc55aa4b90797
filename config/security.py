"""Security plumbing shared by the site: response headers (CSP, Permissions-Policy), the early refusal of oversized
uploads, the client address behind a proxy, sign-in throttling and DRF throttles that never turn a cache outage
into a server error."""
from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------- headers
class SecurityHeadersMiddleware:
    """Content-Security-Policy (``settings.EISTUDIO_CSP``) and Permissions-Policy on every response that has not
    set its own. The pages load only their own vendored scripts and styles (no CDN, no inline scripts)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.EISTUDIO_CSP and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.EISTUDIO_CSP
        if settings.EISTUDIO_PERMISSIONS_POLICY and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = settings.EISTUDIO_PERMISSIONS_POLICY
        return response


# ------------------------------------------------------------------------------------------------- uploads
def upload_limit_bytes() -> int:
    """Largest request body accepted for an upload: every file of an import (up to three) at the per-file limit,
    plus room for the form's other fields."""
    return 3 * settings.EISTUDIO_MAX_UPLOAD_BYTES + 1024 * 1024


def too_large_message(size: int) -> str:
    return (f"upload refused: the request is {size:,} bytes, more than this server accepts "
            f"({settings.EISTUDIO_MAX_UPLOAD_BYTES:,} bytes per file, EISTUDIO_MAX_UPLOAD_BYTES)")


class UploadLimitMiddleware:
    """Refuse an upload larger than the limit with 413 *before* its body is read (CSRF checking and form parsing
    would otherwise spool all of it to disk first)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            size = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            size = 0
        if size > upload_limit_bytes():
            message = too_large_message(size)
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=413)
            return HttpResponse(message, status=413, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


# ---------------------------------------------------------------------------------------------- NUL bytes
NUL_MESSAGE = "bad request: the address contains a NUL character (%00), which no parameter may hold"


class NulBytesMiddleware:
    """Refuse with 400 an address whose path or query string holds a NUL character. No field may store one
    (PostgreSQL's text cannot), and a filter such as ``?status=%00`` would otherwise reach the database and fail
    there as a server error. Form and JSON fields are refused by their validators (Django's and DRF's CharField);
    this covers what no form checks. One substring test per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query or "\x00" in request.path_info:
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": NUL_MESSAGE}, status=400)
            return HttpResponse(NUL_MESSAGE, status=400, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


# ------------------------------------------------------------------------------------------ client address
def client_ip(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind ``EISTUDIO_TRUSTED_PROXIES`` proxies the address the
    outermost of them saw (from the right of X-Forwarded-For: entries further left are the client's to forge)."""
    hops = settings.EISTUDIO_TRUSTED_PROXIES
    if hops:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


# ------------------------------------------------------------------------------------------- failure counts
class FailureCounter:
    """Failures per key in a fixed window, in the default cache (shared by every web process with Redis or the
    file cache). A cache that cannot be reached fails open: sign-in keeps working, the event is logged."""

    def __init__(self, prefix: str, limit: int, window: int):
        self.prefix, self.limit, self.window = prefix, limit, window

    def _key(self, *parts: str) -> str:
        digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return f"eistudio:{self.prefix}:{digest}"

    def blocked_for(self, *parts: str) -> int:
        """Seconds until ``parts`` may try again (0: now)."""
        try:
            entry = cache.get(self._key(*parts))
        except Exception:  # the cache is down: do not lock people out
            log.warning("throttle cache unavailable; %s not checked", self.prefix, exc_info=True)
            return 0
        if not entry:
            return 0
        count, first = entry
        left = int(first + self.window - time.time())
        if left <= 0:
            return 0
        return left if count >= self.limit else 0

    def fail(self, *parts: str) -> None:
        key = self._key(*parts)
        now = time.time()
        try:
            count, first = cache.get(key) or (0, now)
            if now - first > self.window:
                count, first = 0, now
            cache.set(key, (count + 1, first), timeout=self.window)
        except Exception:
            log.warning("throttle cache unavailable; %s failure not counted", self.prefix, exc_info=True)

    def clear(self, *parts: str) -> None:
        try:
            cache.delete(self._key(*parts))
        except Exception:
            log.warning("throttle cache unavailable", exc_info=True)


def login_counters() -> tuple[FailureCounter, FailureCounter]:
    """(per username + address, per address): the second stops one address trying many usernames."""
    window = settings.EISTUDIO_LOGIN_FAILURE_WINDOW
    return (FailureCounter("login", settings.EISTUDIO_LOGIN_FAILURE_LIMIT, window),
            FailureCounter("login-ip", settings.EISTUDIO_LOGIN_FAILURE_LIMIT_PER_IP, window))


def minutes(seconds: int) -> str:
    m = max(1, round(seconds / 60))
    return f"{m} minute{'s' if m != 1 else ''}"


# -------------------------------------------------------------------------------------------------- the API
class ThrottledTokenAuthentication(TokenAuthentication):
    """Token auth whose failures are counted per client address: after ``EISTUDIO_TOKEN_FAILURE_LIMIT`` bad tokens
    in the window, that address gets 429 for every token, good or bad, until the window ends (DRF's own throttles
    run after authentication, so they never see a wrong token)."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.lower().startswith(self.keyword.lower()):
            return None
        counter = FailureCounter("token", settings.EISTUDIO_TOKEN_FAILURE_LIMIT, settings.EISTUDIO_LOGIN_FAILURE_WINDOW)
        ip = client_ip(request)
        wait = counter.blocked_for(ip)
        if wait:
            raise exceptions.Throttled(wait=wait, detail=f"Too many requests with a wrong API token from your address; "
                                                         f"try again in {minutes(wait)}.")
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            counter.fail(ip)
            raise


class _FailOpen:
    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except Exception:  # a cache outage must not turn every API call into a 500
            log.warning("throttle cache unavailable; request not throttled", exc_info=True)
            return True


class AnonThrottle(_FailOpen, AnonRateThrottle):
    """Requests without a signed-in user or a token, per address (``EISTUDIO_API_ANON_RATE``)."""

    def get_ident(self, request):
        return client_ip(request)


class UserThrottle(_FailOpen, UserRateThrottle):
    """Requests of a signed-in user or token, per user (``EISTUDIO_API_USER_RATE``)."""

    def get_ident(self, request):
        return client_ip(request)
