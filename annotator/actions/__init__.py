"""Named actions: every write goes through one of these; each owns its transaction and writes its Event."""
from .imports import ImportRefused, ImportResult, Source, import_eibench, import_manifest, start_import_job
from .members import MemberError, do_add_member, do_remove_member
from .projects import get_or_create_project
from .triggers import (
    StaleVersion,
    do_add_trigger,
    do_edit_trigger_text,
    do_move_trigger,
    do_set_trigger_fate,
    do_update_trigger,
)
from .workspace import (
    LeaseHeld,
    NotAssigned,
    NothingToUndo,
    do_assign_project,
    do_reassign,
    do_release_lease,
    do_renew_lease,
    do_reopen_pass,
    do_skip,
    do_submit_pass,
    do_take_next,
    do_touch_lease,
    do_undo_last,
)

__all__ = [
    "ImportRefused", "ImportResult", "LeaseHeld", "MemberError", "NotAssigned", "NothingToUndo", "Source",
    "StaleVersion", "do_add_member", "do_add_trigger", "do_assign_project", "do_edit_trigger_text",
    "do_move_trigger", "do_reassign", "do_release_lease", "do_remove_member", "do_renew_lease", "do_reopen_pass",
    "do_set_trigger_fate", "do_skip", "do_submit_pass", "do_take_next", "do_touch_lease", "do_undo_last",
    "do_update_trigger", "get_or_create_project", "import_eibench", "import_manifest", "start_import_job",
]
