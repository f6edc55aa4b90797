"""The demo set-up: users with their roles and printed passwords, a demo project of real photographs."""
import re

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from annotator.management.commands.demo_setup import DEMO_DATA, DEMO_PROJECT
from annotator.models import Image, Project, Sample
from annotator.roles import user_roles

pytestmark = pytest.mark.django_db
USER_LINE = re.compile(r"^\s+\w+\s+(\w+)\s+(\S+)$", re.M)


def test_demo_setup_creates_users_and_project(capsys, settings):
    call_command("demo_setup")
    users = dict(USER_LINE.findall(capsys.readouterr().out))
    assert set(users) == {"lead", "annotator1", "annotator2", "annotator3", "annotator4", "reviewer1", "reviewer2",
                          "reviewer3"}
    lead = authenticate(username="lead", password=users["lead"])
    assert lead is not None and user_roles(lead) == {"lead"}
    assert (settings.VAR_DIR / "demo-users.txt").read_text().count("\n") == 9
    project = Project.objects.get(name=DEMO_PROJECT)
    assert project.is_demo
    assert sorted(Sample.objects.filter(project=project).values_list("emotion", "state")) == [
        ("excited", "imported"), ("happy", "final"), ("happy", "final")]
    assert Image.objects.filter(project=project, file="").count() == 0
    assert (512, 512) in {(i.width, i.height) for i in Image.objects.filter(project=project)}
    # running it again keeps the project and gives new passwords
    call_command("demo_setup")
    again = dict(USER_LINE.findall(capsys.readouterr().out))
    assert again["lead"] != users["lead"]
    assert Project.objects.filter(name=DEMO_PROJECT).count() == 1


def test_demo_manifest_imports_as_new_images():
    call_command("import_images", "--project", "photos", "--images-root", str(DEMO_DATA),
                 "--manifest", str(DEMO_DATA / "manifest.jsonl"), verbosity=0)
    kinds = list(Sample.objects.values_list("kind", flat=True))
    assert kinds.count("complex") == 2 and kinds.count("basic") == 2
