import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from annotator.actions import Source, do_add_member, import_eibench
from annotator.models import Project
from annotator.roles import ANNOTATOR, LEAD, REVIEWER, ensure_role_groups

DEMO_DATA = Path(__file__).resolve().parents[2] / "demo_data"
DEMO_PROJECT = "Demo: people photographs"
DEMO_USERS = [("lead", LEAD), *((f"annotator{i}", ANNOTATOR) for i in range(1, 5)),
              *((f"reviewer{i}", REVIEWER) for i in range(1, 4))]


class Command(BaseCommand):
    help = (
        "Create the demo: a lead, four annotators and three reviewers (new passwords printed on every run and "
        "written to var/demo-users.txt), and a demo project of three public-domain photographs of people "
        "(two with example ground truth, one waiting for auto-labelling)."
    )

    def handle(self, *args, **opts):
        ensure_role_groups()
        User = get_user_model()
        lines, users = [], []
        with transaction.atomic():
            for username, role in DEMO_USERS:
                user, _ = User.objects.get_or_create(username=username)
                password = secrets.token_urlsafe(9)
                user.set_password(password)
                user.is_staff = role == LEAD
                user.save()
                user.groups.set([Group.objects.get(name=role)])
                users.append((user, role))
                lines.append(f"{role:<10} {username:<11} {password}")
        if not Project.objects.filter(name=DEMO_PROJECT).exists():
            basic = DEMO_DATA / "EI_Basic"
            import_eibench(project_name=DEMO_PROJECT, questions=Source.of(basic / "user.jsonl", "user.jsonl"),
                           ground_truth=Source.of(basic / "basic_ground_truth.json", "basic_ground_truth.json"),
                           images_root=DEMO_DATA)
            Project.objects.filter(name=DEMO_PROJECT).update(
                is_demo=True,
                description="Three public-domain photographs (see annotator/demo_data/ATTRIBUTION.md). "
                            "Model output in this project comes from a placeholder model with random weights.",
            )
        project = Project.objects.get(name=DEMO_PROJECT)
        for user, role in users:  # the demo's people are the demo project's members, each in their role
            do_add_member(project, user, role)
        out = Path(settings.VAR_DIR) / "demo-users.txt"
        out.write_text("role       username    password\n" + "\n".join(lines) + "\n")
        self.stdout.write("Demo users (role, username, password) — also in " + str(out) + ":")
        for line in lines:
            self.stdout.write("  " + line)
        self.stdout.write(self.style.SUCCESS(f"Demo project: {DEMO_PROJECT!r}"))
