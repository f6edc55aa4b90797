from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotator.backup import BackupError, restore


class Command(BaseCommand):
    help = ("Restore a backup folder (from manage.py backup) into an empty database and an empty MEDIA_ROOT. "
            "For PostgreSQL create the database first (createdb); it is refused when it already has tables.")

    def add_arguments(self, parser):
        parser.add_argument("source", metavar="DIR", type=Path)

    def handle(self, *args, **opts):
        try:
            manifest = restore(opts["source"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            f"restored the {manifest['engine']} backup of {manifest['created_at']} "
            f"({manifest['media_files']:,} media files)"))
