from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotator.backup import BackupError, backup


class Command(BaseCommand):
    help = ("Back up the database (pg_dump for PostgreSQL, a consistent copy for SQLite) and MEDIA_ROOT into a new "
            "folder, with backup.json (what, when, digests). Restore with: manage.py restore DIR")

    def add_arguments(self, parser):
        parser.add_argument("out", metavar="DIR", type=Path, help="a new (or empty) folder")

    def handle(self, *args, **opts):
        try:
            manifest = backup(opts["out"])
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(
            f"backed up {manifest['engine']} database {manifest['database']} ({manifest['database_bytes']:,} bytes) "
            f"and {manifest['media_files']:,} media files into {opts['out']}"))
