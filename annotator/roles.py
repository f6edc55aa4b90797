"""The three roles are Django groups; one check, composed everywhere (views, API, commands)."""
from django.contrib.auth.models import Group

ANNOTATOR = "annotator"
REVIEWER = "reviewer"
LEAD = "lead"
ROLES = (ANNOTATOR, REVIEWER, LEAD)


def ensure_role_groups():
    for name in ROLES:
        Group.objects.get_or_create(name=name)


def load_access(user) -> None:
    """Cache on the user object, for the request, their site roles (``_eistudio_roles``) and their project
    memberships (``_eistudio_memberships``: project id → role), read together in one query (``UNION ALL``): every
    page checks both, so they cost one round trip, not two."""
    from django.db.models import BigIntegerField, F, Value

    from .models import ProjectMember

    site = (Group.objects.filter(user=user, name__in=ROLES).order_by()
            .annotate(access_project=Value(None, output_field=BigIntegerField()), access_role=F("name"))
            .values_list("access_project", "access_role"))
    rows = (ProjectMember.objects.filter(user_id=user.pk).order_by()
            .annotate(access_project=F("project_id"), access_role=F("role"))
            .values_list("access_project", "access_role").union(site, all=True))
    roles, memberships = set(), {}
    for project_id, role in rows:
        if project_id is None:
            roles.add(role)
        else:
            memberships[project_id] = role
    if user.is_superuser:
        roles.add(LEAD)
    user._eistudio_roles, user._eistudio_memberships = roles, memberships


def user_roles(user) -> set[str]:
    """The roles of a user, cached on the user object for the request (with their memberships: load_access)."""
    if not user or not user.is_authenticated:
        return set()
    cached = getattr(user, "_eistudio_roles", None)
    if cached is None:
        load_access(user)
        cached = user._eistudio_roles
    return cached


def has_role(user, *roles: str) -> bool:
    """True when the user holds any of ``roles`` (a lead holds every permission)."""
    held = user_roles(user)
    return LEAD in held or bool(held.intersection(roles))
