"""Named actions: every write goes through one of these; each owns its transaction and writes its Event."""
from .imports import ImportRefused, ImportResult, Source, import_eibench, import_manifest, start_import_job
from .projects import get_or_create_project
from .triggers import StaleVersion, do_add_trigger, do_edit_trigger_text, do_set_trigger_fate

__all__ = [
    "ImportRefused", "ImportResult", "Source", "StaleVersion", "do_add_trigger", "do_edit_trigger_text",
    "do_set_trigger_fate", "get_or_create_project", "import_eibench", "import_manifest", "start_import_job",
]
