"""Tags of the pass screen (``annotator/work/partials/work.html``). A screen has up to ~25 change forms, each with the
same hidden fields, and a category menu per trigger in pass 2: these write them in Python, the pieces shared by the
whole page once per page, instead of a dozen template nodes per form. The HTML is the same as the plain template's."""
from __future__ import annotations

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from ..models import Trigger

register = template.Library()


def _shared(context) -> tuple[str, str]:
    """(the CSRF field as ``{% csrf_token %}`` writes it, the ``version`` and ``seen`` fields), once per render."""
    cached = context.render_context.get("workspace_change_fields")
    if cached is None:
        csrf = CsrfTokenNode().render(context)  # what {% csrf_token %} writes
        state = format_html('<input type="hidden" name="version" value="{}"><input type="hidden" name="seen" '
                            'value="{}">', context["sample"].version, context.get("seen", ""))
        cached = context.render_context["workspace_change_fields"] = (csrf, state)
    return cached


@register.simple_tag(takes_context=True)
def change_fields(context, trigger=None):
    """A change form's hidden fields: the CSRF token, the trigger (when given), the sample's version and the last
    event seen (a stale version gets the conflict screen)."""
    csrf, state = _shared(context)
    if trigger is None:
        return csrf + state
    return csrf + format_html('<input type="hidden" name="trigger" value="{}">', trigger.pk) + state


_OPTIONS: dict[str, SafeString] = {}


@register.simple_tag
def category_options(selected):
    """``<option>`` per trigger category, ``selected`` marked (the menu after "(no category)")."""
    html = _OPTIONS.get(selected)
    if html is None:
        html = format_html_join("", '<option value="{}" {}>{}</option>', (
            (value, "selected" if selected == value else "", label) for value, label in Trigger.Category.choices))
        if selected in Trigger.Category.values or not selected:
            _OPTIONS[selected] = html  # a fixed set of menus; anything else is not kept
    return html
