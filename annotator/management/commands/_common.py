"""Shared by the import commands: a progress line (redrawn in place on a terminal) and the refusal report."""
import sys
import time
from contextlib import contextmanager

from django.core.management.base import CommandError

from annotator.actions import ImportRefused


class ProgressLine:
    def __init__(self, stream, label: str):
        self.stream = stream
        self.label = label
        self.started = time.monotonic()
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int):
        now = time.monotonic()
        if now - self.last < 0.5 and done < total:
            return
        self.last = now
        pct = 100 * done / total if total else 100
        rate = done / max(now - self.started, 1e-9)
        line = f"{self.label}: {done:,}/{total:,} ({pct:.0f}%, {rate:,.0f}/s)"
        if self.tty:
            self.stream.write("\r" + line + ("\n" if done >= total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def stderr_progress(label: str) -> ProgressLine:
    return ProgressLine(sys.stderr, label)


@contextmanager
def refusal_as_command_error():
    """An import refused with problems becomes a CommandError listing them (exit status 1)."""
    try:
        yield
    except ImportRefused as exc:
        raise CommandError("import refused, nothing was imported:\n" + exc.report()) from None
