from django.core.management.base import BaseCommand, CommandError

from annotator.actions.members import MemberError, do_add_member, do_remove_member, user_by_name
from annotator.models import Project, ProjectMember


class Command(BaseCommand):
    help = (
        "List, add or remove the members of a project. A member sees the project with their role in it (lead, "
        "reviewer or annotator; default: their site role); anyone else does not see it at all. Only the project's "
        "annotators (and leads) can be given work in the refinement passes. Without --add or --remove: list the "
        "members. Example: project_members --project 'Wave 2' --add alice:lead --add bob --remove carol"
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="the project's name, exactly")
        parser.add_argument("--add", action="append", default=[], metavar="USER[:ROLE]",
                            help="add USER (or change their role); ROLE is lead, reviewer or annotator "
                                 "(default: the user's site role); repeat for several")
        parser.add_argument("--remove", action="append", default=[], metavar="USER",
                            help="take USER out of the project (their past work stays; a project keeps at "
                                 "least one lead); repeat for several")

    def handle(self, *args, **opts):
        project = Project.objects.filter(name=opts["project"]).first()
        if project is None:
            raise CommandError(f"no project named {opts['project']!r}")
        try:
            for spec in opts["add"]:
                username, _, role = spec.partition(":")
                member = do_add_member(project, user_by_name(username), role or None)
                self.stdout.write(f"{member.user.username}: {member.role}")
            for username in opts["remove"]:
                if do_remove_member(project, user_by_name(username)):
                    self.stdout.write(f"{username}: removed")
                else:
                    self.stdout.write(f"{username}: was not a member")
        except MemberError as exc:
            raise CommandError(str(exc)) from None
        if not (opts["add"] or opts["remove"]):
            for m in ProjectMember.objects.filter(project=project).select_related("user").order_by("role", "user"):
                self.stdout.write(f"{m.role:<10} {m.user.username}")
