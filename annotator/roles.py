"""The three roles are Django groups; one check, composed everywhere (views, API, commands)."""
from django.contrib.auth.models import Group

ANNOTATOR = "annotator"
REVIEWER = "reviewer"
LEAD = "lead"
ROLES = (ANNOTATOR, REVIEWER, LEAD)


def ensure_role_groups():
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def user_roles(user) -> set[str]:
    """The roles of a user, cached on the user object for the request."""
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_eistudio_roles", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            cached.add(LEAD)
        user._eistudio_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    """True when the user holds any of ``roles`` (a lead holds every permission)."""
    held = user_roles(user)
    return LEAD in held or bool(held.intersection(roles))
