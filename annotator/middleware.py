"""The database is unreachable (restarting, failing over, a dropped connection): answer **503 with a message a
person can act on and a retry**, instead of a bare "Server Error (500)".

Every change is one transaction (``annotator.actions``), so an error before its commit saved nothing, and a change
that did commit is never applied twice by a retry: the retried request carries the sample's old ``version`` and
gets the conflict screen (409), which lists what went through. Django reconnects on the next request by itself
(``CONN_HEALTH_CHECKS`` in the settings): the web server is never restarted.

* htmx requests get a small partial swapped into ``#unavailable`` (``HX-Retarget``: the form the person was
  filling in is left as it is) with a **Retry** button that sends the same request again (``static/js/app.js``);
* other pages get a standalone page (it touches no database) with the same message and, for a form post, a
  **Retry** form that posts the same fields again (never a password);
* the API gets ``{"detail": ..., "retryable": true}``.

All three carry ``Retry-After``.
"""
from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 3
MESSAGE = ("The database is not answering right now (it may be restarting). Your change was not confirmed. "
           "What you typed is still here: retry in a moment. A change that did go through is never applied twice.")
SECRET_FIELDS = ("password", "csrfmiddlewaretoken")


def database_unavailable(exc: BaseException) -> bool:
    """A lost or refused connection, a server shutting down, a deadlock or serialisation failure: all retryable."""
    return isinstance(exc, OperationalError | InterfaceError)


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_unavailable(exception):
            return None
        log.warning("database unavailable during %s %s: %s", request.method, request.path,
                    str(exception).strip().splitlines()[0] if str(exception).strip() else type(exception).__name__)
        for conn in connections.all(initialized_only=True):
            conn.close_if_unusable_or_obsolete()  # a broken connection is dropped now, not reused
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            response = JsonResponse({"detail": MESSAGE, "retryable": True}, status=503)
        elif getattr(request, "htmx", False):
            response = HttpResponse(render_to_string("annotator/partials/unavailable.html",
                                                     {"message": MESSAGE}), status=503)
            response["HX-Retarget"] = "#unavailable"
            response["HX-Reswap"] = "innerHTML"
        else:
            fields = [] if request.method != "POST" else [
                (key, value) for key, values in request.POST.lists() for value in values if key not in SECRET_FIELDS]
            response = HttpResponse(render_to_string("unavailable.html", {
                "message": MESSAGE, "method": request.method, "path": request.get_full_path(), "fields": fields,
                "csrf_token": get_token(request), "had_password": "password" in request.POST}), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
