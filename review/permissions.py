"""Who may do what in review, composed from annotator's checks: the user's role *in the project*
(``annotator.permissions.has_project_role`` / ``projects_for`` / ``project_for``) and its sample-level access
(``sample_access``). Nothing here decides a role on its own."""
from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from annotator.permissions import HasAnyRole, IsLead, has_project_role, project_of, sample_access
from annotator.roles import LEAD, REVIEWER, has_role

from .models import QualitySample, ReviewAssignment


class IsReviewer(BasePermission):
    """Site role reviewer (or lead); object level: a reviewer (or lead) of the object's project."""

    message = "Only reviewers rate."

    def has_permission(self, request, view):
        return has_role(request.user, REVIEWER)

    def has_object_permission(self, request, view, obj):
        return has_project_role(request.user, project_of(obj), REVIEWER)


class LeadWrites(HasAnyRole):
    """Everyone with a role reads; only a lead writes."""

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return super().has_permission(request, view)
        return IsLead().has_permission(request, view)


def can_rate(user, assignment: ReviewAssignment) -> bool:
    """Only the reviewer a review is assigned to, a reviewer of its project, rates it (an annotator never does)."""
    return assignment.reviewer_id == user.pk and has_project_role(user, assignment.project_id, REVIEWER)


def is_lead_of(user, project) -> bool:
    return has_project_role(user, project, LEAD)


def can_read_sample(user, sample) -> bool:
    return sample_access(user, sample) is not None


def can_see_round(user, qs: QualitySample, round_number: int, mine: dict[tuple[int, int], str] | None = None) -> bool:
    """Whether ``user`` may see the ratings of ``qs`` in ``round_number``: leads always; a reviewer with an open
    review of the sample none of its rounds (blind until they rated it); a reviewer of that round once they rated
    it; anyone who reads the sample once the round is complete.

    ``mine``: the user's review assignments as ``{(quality_sample_id, round): status}`` when the caller has
    them (else one query)."""
    if has_project_role(user, qs.project_id, LEAD):
        return True
    if mine is None:
        mine = {(a, r): s for a, r, s in ReviewAssignment.objects.filter(
            quality_sample=qs, reviewer_id=user.pk).values_list("quality_sample_id", "round", "status")}
    if any(k[0] == qs.pk and v == ReviewAssignment.Status.OPEN for k, v in mine.items()):
        return False  # blind while rating this sample: no round of it (earlier ones neither) until rated
    status = mine.get((qs.pk, round_number))
    if status == ReviewAssignment.Status.DONE:
        return True
    complete = round_number < qs.round or qs.status != QualitySample.Status.PENDING
    return complete and can_read_sample(user, qs.sample)


def my_assignments(user, qs_ids) -> dict[tuple[int, int], str]:
    """The user's review assignments of these quality samples, for :func:`can_see_round` (one query)."""
    return {(a, r): s for a, r, s in ReviewAssignment.objects.filter(quality_sample_id__in=list(qs_ids),
                                                                     reviewer_id=user.pk)
            .values_list("quality_sample_id", "round", "status")}
