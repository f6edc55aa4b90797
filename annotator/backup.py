"""Backup and restore: the database (``pg_dump``/``pg_restore`` for PostgreSQL, SQLite's online backup API) and a
copy of MEDIA_ROOT (the image files, content-addressed), with a ``backup.json`` that says what is in the folder.

A backup folder::

    backup.json      engine, database name, when, migrations, file sizes and SHA-256 digests
    database.dump    PostgreSQL custom format (pg_restore reads it)   -- or --
    database.sqlite3 a consistent SQLite copy
    media/           MEDIA_ROOT as it was

Restore goes into an *empty* database (a fresh one) and an empty or missing MEDIA_ROOT, never over live data.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

MANIFEST = "backup.json"


class BackupError(RuntimeError):
    """A backup or restore that cannot be done (the message says why)."""


def _engine(alias="default") -> str:
    engine = settings.DATABASES[alias]["ENGINE"]
    if "postgresql" in engine:
        return "postgresql"
    if "sqlite3" in engine:
        return "sqlite"
    raise BackupError(f"backup supports PostgreSQL and SQLite, not {engine}")


def _pg_env(db: dict) -> dict:
    env = {**os.environ, "PGDATABASE": db["NAME"]}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _run(cmd: list[str], env: dict) -> None:
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError(f"{cmd[0]} is not installed (PostgreSQL client tools)") from None
    if result.returncode:
        raise BackupError(f"{cmd[0]} failed: {result.stderr.strip() or result.stdout.strip()}")


def backup(out: Path, *, alias: str = "default") -> dict:
    """Write a backup of the database and MEDIA_ROOT into the new or empty folder ``out``; returns the manifest."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"{out} is not empty: a backup goes into a new folder")
    out.mkdir(parents=True, exist_ok=True)
    db = settings.DATABASES[alias]
    engine = _engine(alias)
    if engine == "postgresql":
        target = out / "database.dump"
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"], _pg_env(db))
    else:
        target = out / "database.sqlite3"
        source = sqlite3.connect(db["NAME"])
        try:
            with sqlite3.connect(target) as copy:
                source.backup(copy)  # consistent even while the web process and workers write
            copy.close()
        finally:
            source.close()
    media = Path(settings.MEDIA_ROOT)
    files = 0
    if media.is_dir():
        shutil.copytree(media, out / "media", symlinks=False)
        files = sum(len(f) for _d, _s, f in os.walk(out / "media"))
    applied = sorted(f"{app}.{name}" for app, name in
                     MigrationRecorder(connections[alias]).migration_qs.values_list("app", "name"))
    manifest = {"format": 1, "engine": engine, "database": str(db["NAME"]), "created_at": timezone.now().isoformat(),
                "database_file": target.name, "database_sha256": _digest(target),
                "database_bytes": target.stat().st_size, "media_files": files, "migrations": applied}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _database_is_empty(alias: str) -> bool:
    with connections[alias].cursor() as cursor:
        tables = connections[alias].introspection.table_names(cursor)
    return not tables


def restore(source: Path, *, alias: str = "default") -> dict:
    """Restore a backup folder into the (empty) database and the (empty or missing) MEDIA_ROOT."""
    source = Path(source)
    manifest_path = source / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{source} is not a backup folder (no {MANIFEST})")
    manifest = json.loads(manifest_path.read_text())
    engine = _engine(alias)
    if manifest["engine"] != engine:
        raise BackupError(f"the backup is of a {manifest['engine']} database; this one is {engine}")
    dump = source / manifest["database_file"]
    if _digest(dump) != manifest["database_sha256"]:
        raise BackupError(f"{dump} does not match its digest in {MANIFEST}: the backup is damaged")
    media = Path(settings.MEDIA_ROOT)
    if media.is_dir() and any(media.iterdir()):
        raise BackupError(f"MEDIA_ROOT {media} is not empty: restore into an empty one")
    db = settings.DATABASES[alias]
    if not _database_is_empty(alias):
        raise BackupError(f"the database {db['NAME']} is not empty: restore into a fresh database")
    if engine == "postgresql":
        connections[alias].close()
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={db['NAME']}",
              str(dump)], _pg_env(db))
    else:
        connections[alias].close()
        with sqlite3.connect(dump) as backup_db, sqlite3.connect(db["NAME"]) as live:
            backup_db.backup(live)
    if (source / "media").is_dir():
        shutil.copytree(source / "media", media, dirs_exist_ok=True)
    return manifest
