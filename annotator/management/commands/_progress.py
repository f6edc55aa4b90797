"""A progress line for long commands (on a terminal it redraws in place)."""
import sys
import time


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
