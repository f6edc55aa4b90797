"""Project membership: who belongs to a project is managed by its leads (API, CLI, admin), every change is an
Event, the creator of a project is its lead, and only members see a project."""
import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotator import actions
from annotator.models import Event, Project, ProjectMember
from annotator.permissions import project_role, projects_for
from tests.conftest import join

pytestmark = pytest.mark.django_db


def api(user):
    """A client that signs in with the user's API token, as a script would: every request loads its user afresh
    (``force_authenticate`` would hand each request the same user object, and with it the memberships that
    object cached for an earlier request)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_the_creator_of_a_project_is_its_lead(lead, annotator):
    r = api(lead).post("/api/projects/", {"name": "Wave 3", "emotions": ["happy", "sad"]}, format="json")
    assert r.status_code == 201, r.content
    project = Project.objects.get(name="Wave 3")
    assert project.emotions == ["happy", "sad"]
    assert project_role(lead, project) == "lead"
    assert Event.objects.filter(project=project, action="project.member_added").exists()
    # only the site role lead creates projects; names are unique
    assert api(annotator).post("/api/projects/", {"name": "Mine"}, format="json").status_code == 403
    assert api(lead).post("/api/projects/", {"name": "Wave 3"}, format="json").status_code == 400


def test_a_lead_adds_and_removes_members_and_only_members_see_the_project(lead, annotator, reviewer):
    project = join(Project.objects.create(name="P"), lead)
    assert api(annotator).get(f"/api/projects/{project.pk}/").status_code == 404
    assert api(annotator).post(f"/api/projects/{project.pk}/members/", {"username": "ann1"},
                               format="json").status_code == 404  # not theirs: it does not exist for them
    r = api(lead).post(f"/api/projects/{project.pk}/members/", {"username": "ann1"}, format="json")
    assert r.status_code == 201 and r.json()["role"] == "annotator"  # their site role by default
    assert api(annotator).get(f"/api/projects/{project.pk}/").status_code == 200
    # a member who is not a lead cannot change the members
    assert api(annotator).post(f"/api/projects/{project.pk}/members/", {"username": "rev1"},
                               format="json").status_code == 403
    api(lead).post(f"/api/projects/{project.pk}/members/", {"user": reviewer.pk, "role": "lead"}, format="json")
    rows = {m["username"]: m["role"] for m in api(lead).get(f"/api/projects/{project.pk}/members/").json()}
    assert rows == {"lead1": "lead", "ann1": "annotator", "rev1": "lead"}
    assert api(lead).delete(f"/api/projects/{project.pk}/members/{annotator.pk}/").status_code == 204
    assert api(annotator).get(f"/api/projects/{project.pk}/").status_code == 404
    assert [e.action for e in Event.objects.filter(project=project).order_by("id")] == [
        "project.member_added", "project.member_added", "project.member_added", "project.member_removed"]


def test_a_project_keeps_a_lead(lead):
    project = join(Project.objects.create(name="P"), lead)
    r = api(lead).delete(f"/api/projects/{project.pk}/members/{lead.pk}/")
    assert r.status_code == 400 and "only lead" in r.json()["detail"]
    with pytest.raises(actions.MemberError):
        actions.do_add_member(project, lead, "annotator")


def test_members_from_the_command_line(lead, annotator, capsys):
    Project.objects.create(name="CLI")
    call_command("project_members", "--project", "CLI", "--add", "lead1:lead", "--add", "ann1")
    call_command("project_members", "--project", "CLI")
    out = capsys.readouterr().out
    assert "lead       lead1" in out and "annotator  ann1" in out
    call_command("project_members", "--project", "CLI", "--remove", "ann1")
    assert not ProjectMember.objects.filter(user=annotator).exists()
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("project_members", "--project", "CLI", "--add", "ghost")
    with pytest.raises(CommandError, match="unknown role"):
        call_command("project_members", "--project", "CLI", "--add", "ann1:boss")


def test_members_in_the_admin(django_user_model, client, annotator):
    root = django_user_model.objects.create_superuser("root", password="pw")
    project = Project.objects.create(name="Admin")
    client.force_login(root)
    r = client.post("/admin/annotator/projectmember/add/", {"project": project.pk, "user": annotator.pk,
                                                            "role": "reviewer"})
    assert r.status_code == 302, r.content[:500]
    assert project_role(annotator, project.pk) == "reviewer"
    assert Event.objects.filter(project=project, action="project.member_added", actor=root).exists()


def test_assigning_work_needs_annotator_members(lead, annotator, other_annotator_user):
    from tests.workspace.conftest import labelled_project

    project = labelled_project("Pool", n=2, members=(lead, annotator))
    with pytest.raises(ValueError, match="not annotators of this project"):
        actions.do_assign_project(project.pk, [annotator.pk, other_annotator_user.pk], actor=lead)
    assert actions.do_assign_project(project.pk, [annotator.pk], actor=lead) > 0


def test_a_superuser_sees_every_project_and_others_only_theirs(django_user_model, lead):
    root = django_user_model.objects.create_superuser("root", password="pw")
    mine, other = join(Project.objects.create(name="mine"), lead), Project.objects.create(name="other")
    assert set(projects_for(root)) == {mine, other}
    assert set(projects_for(lead)) == {mine}


def test_the_demo_people_are_members_of_the_demo_project(capsys):
    from annotator.management.commands.demo_setup import DEMO_PROJECT

    call_command("demo_setup")
    project = Project.objects.get(name=DEMO_PROJECT)
    roles = dict(ProjectMember.objects.filter(project=project).values_list("user__username", "role"))
    assert roles["lead"] == "lead" and roles["annotator1"] == "annotator" and roles["reviewer3"] == "reviewer"
    assert len(roles) == 8


@pytest.fixture
def other_annotator_user(django_user_model):
    from annotator.roles import ANNOTATOR
    from tests.conftest import _user

    return _user(django_user_model, "ann9", ANNOTATOR)
