"""Sign-in, throttled: failed sign-ins are counted per (username, client address) and per address; over the limit
the form refuses with a clear message (HTTP 429) without checking the password."""
from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from config.security import client_ip, login_counters, minutes

THROTTLED = "Too many failed sign-ins for this username from your address. Try again in %(wait)s."


class ThrottledMixin:
    """For an AuthenticationForm: refuse while throttled, count failures, clear the count on success."""

    throttled = False

    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip().lower()
        ip = client_ip(self.request) if self.request else "unknown"
        by_user, by_ip = login_counters()
        wait = max(by_user.blocked_for(username, ip), by_ip.blocked_for(ip))
        if wait:
            self.throttled = True
            raise ValidationError(THROTTLED, code="throttled", params={"wait": minutes(wait)})
        try:
            cleaned = super().clean()
        except ValidationError:
            by_user.fail(username, ip)
            by_ip.fail(ip)
            raise
        by_user.clear(username, ip)
        return cleaned


class ThrottledAuthenticationForm(ThrottledMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledMixin, AdminAuthenticationForm):
    pass


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if getattr(form, "throttled", False):
            response.status_code = 429
        return response
