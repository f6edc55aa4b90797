"""EIBench import/export benchmark for EI Studio.

Generates synthetic EIBench files (``EI_Basic/user.jsonl`` + ``EI_Basic/basic_ground_truth.json``) of N samples,
imports them with ``annotator.actions.import_eibench`` into a fresh project, exports them back with
``annotator.exporting`` (files, zip stream, provenance lines), checks the export is byte-identical to the input
and prints a Markdown table: wall time, SQL queries, Python heap peak, for each N side by side.

    .venv/bin/python bench/run.py --samples 1000,100000 --out bench/results.md --json bench/results.json

It owns its database: the tables of the benchmark database are dropped and recreated (``migrate``) at start.
The database name must contain "bench"; the ``test`` database and ``var/eistudio.sqlite3`` are never touched.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import platform
import pstats
import random
import resource
import shlex
import sys
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/eistudio_bench"
BENCH_DATABASE = "eistudio_bench"
PROTECTED_DATABASES = {"test", "postgres", "template0", "template1"}

# Targets (at 100,000 samples, 5 triggers each).
TARGET_N = 100_000
TARGET_IMPORT_S = 5.0
TARGET_EXPORT_S = 3.0
LABEL_STUDIO_CONTEXT = ("Label Studio 1.23 on this machine: ~53 s import / ~75 s export of 50,000 similar tasks "
                        "(from the issue, not measured here)")

FOLDERS = ("Angry", "Sad", "Happy", "excitement")


# ---------------------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------------------
def _sample_counts(text: str) -> list[int]:
    try:
        counts = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or N1,N2,... (integers), got {text!r}") from None
    if not counts or any(n < 1 for n in counts):
        raise argparse.ArgumentTypeError("sample counts must be positive integers")
    return sorted(dict.fromkeys(counts))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description=(
            "Benchmark EIBench import and export at scale: generate synthetic EIBench files, import them "
            "(annotator.actions.import_eibench), export them (write_eibench, eibench_zip, provenance_lines), "
            "check the export is byte-identical, and print a Markdown table (time, SQL queries, Python heap "
            "peak) with the machine and the command line. The benchmark database's tables are dropped and "
            "recreated; its name must contain 'bench'."
        ),
        epilog=(
            f"Targets: import <= {TARGET_IMPORT_S:g} s and export <= {TARGET_EXPORT_S:g} s at {TARGET_N:,} "
            "samples; query counts constant in N; export heap flat (the same at N/2 and N). Example: "
            "bench/run.py --samples 1000,100000 --out bench/results.md"
        ),
    )
    parser.add_argument("--samples", type=_sample_counts, default=[100_000], metavar="N[,N...]",
                        help="number of basic samples; a comma-separated list runs each and shows them side by "
                             "side (default: 100000)")
    parser.add_argument("--triggers-per-sample", type=int, default=5, metavar="T",
                        help="triggers in each ground-truth list (default: 5)")
    parser.add_argument("--database-url", default=None, metavar="URL",
                        help="database to benchmark in (default: $DATABASE_URL if its database name contains "
                             "'bench', else that server's 'eistudio_bench' database; without $DATABASE_URL "
                             f"{DEFAULT_DATABASE_URL}). A missing PostgreSQL database is created.")
    parser.add_argument("--out", type=Path, metavar="FILE.md", help="also write the Markdown report here")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every figure as JSON here")
    parser.add_argument("--seed", type=int, default=20240501, help="seed of the synthetic data (default: 20240501)")
    parser.add_argument("--repeat", type=int, default=1, metavar="R",
                        help="timed passes per step; the table shows the fastest, the JSON all (default: 1; each "
                             "import pass goes into a new project)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the tracemalloc passes (faster; no peak MiB column)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="also run import and write_eibench once more under cProfile (largest N), write "
                             ".pstats files to DIR and print the top functions")
    parser.add_argument("--keep-files", type=Path, metavar="DIR",
                        help="generate and export under DIR and keep the files (default: a temporary folder)")
    parser.add_argument("--per-row-fk-checks", action="store_true",
                        help="import with PostgreSQL's per-row foreign key checks (EISTUDIO_SET_BASED_FK_CHECKS="
                             "false), as a database role that may not set session_replication_role would")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.triggers_per_sample < 1:
        parser.error("--triggers-per-sample must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


# ---------------------------------------------------------------------------------------------------------
# Database choice and preparation (before Django is set up)
# ---------------------------------------------------------------------------------------------------------
def choose_database_url(given: str | None) -> tuple[str, str]:
    """The URL to use and why; refuses databases the harness must not wipe."""
    if given:
        url, why = given, "--database-url"
    elif os.environ.get("DATABASE_URL"):
        env_url = os.environ["DATABASE_URL"]
        parts = urlsplit(env_url)
        if "bench" in unquote(parts.path):
            url, why = env_url, "$DATABASE_URL"
        elif parts.scheme.startswith("postgres"):
            url = urlunsplit(parts._replace(path="/" + BENCH_DATABASE))
            why = f"$DATABASE_URL's server, database {BENCH_DATABASE!r}"
        else:
            url, why = DEFAULT_DATABASE_URL, "default ($DATABASE_URL names no bench database)"
    else:
        url, why = DEFAULT_DATABASE_URL, "default"
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/")) if not parts.scheme.startswith("sqlite") else unquote(parts.path)
    if parts.scheme.startswith("sqlite"):
        path = Path(name[1:] if name.startswith("//") else name).resolve() if name else None
        if path is None or path == (ROOT / "var" / "eistudio.sqlite3").resolve() or "bench" not in path.name:
            sys.exit(f"refusing {url!r}: the benchmark wipes its database; use an SQLite file whose name "
                     "contains 'bench' (never var/eistudio.sqlite3)")
    elif not parts.scheme.startswith("postgres"):
        sys.exit(f"unsupported database URL {url!r}: use postgres://... or sqlite:///...bench...")
    elif name in PROTECTED_DATABASES or "bench" not in name:
        sys.exit(f"refusing database {name!r}: the benchmark drops its tables, so the database name must "
                 "contain 'bench' (e.g. eistudio_bench)")
    return url, why


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(":" + parts.password + "@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def prepare_database(url: str) -> None:
    """Create the PostgreSQL database if missing and drop everything in it; or delete the SQLite file."""
    parts = urlsplit(url)
    if parts.scheme.startswith("sqlite"):
        name = unquote(parts.path)
        path = Path(name[1:] if name.startswith("//") else name)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg
    from psycopg import sql

    dbname = unquote(parts.path.lstrip("/"))
    conninfo = {
        "host": unquote(parts.hostname or "") or None,
        "port": parts.port,
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
    }
    conninfo = {k: v for k, v in conninfo.items() if v is not None}
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    with psycopg.connect(dbname=dbname, autocommit=True, **conninfo) as conn:
        owner = conn.execute("SELECT current_user").fetchone()[0]
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute(sql.SQL("CREATE SCHEMA public AUTHORIZATION {}").format(sql.Identifier(owner)))


def setup_django(url: str) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


# ---------------------------------------------------------------------------------------------------------
# Synthetic EIBench data
# ---------------------------------------------------------------------------------------------------------
SUBJECTS = (
    "the man", "the woman", "the man in the red vest", "the woman in the blue dress", "the boy", "the girl",
    "the elderly man", "the young woman", "the man sitting on the bench", "the woman holding a cup",
    "the man in the purple shirt", "the child", "the couple", "the people in the image",
)
QUESTIONS = {
    "Angry": (
        "What might have caused {s} to appear angry or upset in the image?",
        "What might have caused {s} in the image to appear agitated?",
        "What might have caused {s} in the image to appear annoyed or frustrated?",
        "What might have caused {s} to look outraged?",
    ),
    "Sad": (
        "What might have caused {s} in the image to look sad?",
        "What might have caused the sadness of {s} in the image?",
        "What led to the formation of the sorrowful expression of {s} in this image?",
        "What might have caused {s} to appear upset or worried?",
    ),
    "Happy": (
        "What might have caused {s} in the image to have a radiant smile?",
        "What might have caused {s} to appear cheerful while standing in the kitchen?",
        "What led to the formation of the blissful expression of {s} in the image?",
        "What led to the formation of the lighthearted and spirited expression of {s}?",
    ),
    "excitement": (
        "What led to the formation of the excitement of {s} in this image?",
        "What might have caused {s} to appear thrilled?",
        "What might have caused the enthusiasm of {s} in the image?",
        "What led to the formation of the stimulated expression of {s} in this image?",
    ),
}
HEADS = (
    "Disagreement or conflict", "Casual social gathering", "Natural beauty of the surroundings",
    "Frustration or stress caused by the situation", "Anticipation of sharing a meal", "Sense of accomplishment",
    "Relaxed and comfortable environment", "Defensive or confrontational body language", "Love for cooking",
    "Shared joke, funny story, or lively discussion", "Contemplation or melancholy", "Personal issue or stress",
    "Kite-flying activity", "Pleasant and organized atmosphere", "Loss of a loved one", "Smiling and laughing",
    "Cultural or social context of the event", "Desire for a challenging experience", "Cooking/meal preparation",
    "Positive and enjoyable atmosphere", "Tense posture and clenched fists", "Tears running down the cheeks",
)
LINKS = ("with", "in", "during", "related to", "because of", "near", "after", "while watching")
TAILS = (
    "the other man in the room", "a crowded public place", "the family at the dinner table",
    "the festive atmosphere around her", "an unexpected piece of news", "the noisy traffic outside",
    "a purchase, service, or personal matter", "the group and the environment around her",
    "the kitchen", "the gaze outside the window", "fellow dancers and loud music", "the empty street at night",
    "a long wait at the office", "the rain on the window", "friends on a sunny afternoon", "the game",
)
PARENTHESES = ("(presence of fellow dancers)", "(celebration of a birthday)", "(raised voice)",
               "(rhythm and melody of the song)", "(cold and grey weather)")


def _trigger_text(rng: random.Random) -> str:
    """One trigger text of 40 to 80 characters, without its final punctuation."""
    for _ in range(20):
        text = f"{rng.choice(HEADS)} {rng.choice(LINKS)} {rng.choice(TAILS)}"
        if rng.random() < 0.15:
            text += " " + rng.choice(PARENTHESES)
        if 40 <= len(text) <= 79:
            return text
    return (text + " in the image and its surroundings")[:79].rstrip()


def trigger_list(seed: int, index: int, count: int) -> str:
    """The ground-truth trigger list of sample ``index`` (deterministic, independent of file order).

    Quirks of the real data, a few percent each: a line " 4. text" with a leading space, a missing final
    period, a period after a space ("window .").
    """
    rng = random.Random(seed * 1_000_003 + index)
    lines = []
    for k in range(1, count + 1):
        text = _trigger_text(rng)
        if k == count and rng.random() < 0.5:
            end = ""  # the real lists often end without a period
        elif rng.random() < 0.02:
            end = " ."
        else:
            end = "."
        prefix = f" {k}. " if (k == min(4, count) and rng.random() < 0.03) else f"{k}. "
        lines.append(f"{prefix}{text}{end}")
    return "\n".join(lines)


def _keys(n: int) -> list[str]:
    """Image paths grouped by emotion folder, as the real user.jsonl is."""
    return [f"Bench/train/{FOLDERS[i * len(FOLDERS) // n]}/{i:06d}.png" for i in range(n)]


def question(seed: int, index: int, folder: str) -> str:
    rng = random.Random(seed * 7_919 + index)
    return rng.choice(QUESTIONS[folder]).format(s=rng.choice(SUBJECTS))


def generate(folder: Path, n: int, triggers: int, seed: int) -> dict[str, Path]:
    from annotator.formats import eibench

    keys = _keys(n)
    questions_path = folder / eibench.QUESTIONS_FILE
    truth_path = folder / eibench.GROUND_TRUTH_FILE
    questions_path.parent.mkdir(parents=True, exist_ok=True)
    rows = ((key, question(seed, i, key.split("/")[2])) for i, key in enumerate(keys))
    with open(questions_path, "w", encoding="utf-8", newline="") as fh:
        fh.writelines(eibench.write_questions(rows))
    order = list(range(n))
    random.Random(seed).shuffle(order)  # the ground truth's key order differs from user.jsonl's
    truth = ((keys[i], trigger_list(seed, i, triggers)) for i in order)
    with open(truth_path, "w", encoding="utf-8", newline="") as fh:
        fh.writelines(eibench.write_ground_truth(truth))
    return {eibench.QUESTIONS_FILE: questions_path, eibench.GROUND_TRUTH_FILE: truth_path}


# ---------------------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Measure:
    seconds: float | None = None
    queries: int | None = None
    peak_mib: float | None = None
    rss_high_water_mib: float | None = None
    extra: dict = field(default_factory=dict)


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _server_cpu() -> float | None:
    """CPU seconds the PostgreSQL backend of this connection has used (its /proc entry: a local server only)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    pid = connection.connection.info.backend_pid
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@contextmanager
def timed(measure: Measure):
    """Wall time, the SQL queries Django captured (COPY on the raw psycopg cursor is not among them), and the CPU
    time of this Python process (all its threads) and of the database server's process for this connection."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    gc.collect()
    connection.ensure_connection()
    with CaptureQueriesContext(connection) as captured:
        server = _server_cpu()
        python = time.process_time()
        start = time.perf_counter()
        yield
        seconds = time.perf_counter() - start
        python = time.process_time() - python
        server = None if server is None else _server_cpu() - server
    measure.extra.setdefault("all_seconds", []).append(round(seconds, 4))
    if measure.seconds is None or seconds < measure.seconds:  # the CPU figures of the fastest pass
        measure.extra["python_cpu_s"] = round(python, 3)
        measure.extra["server_cpu_s"] = None if server is None else round(server, 3)
    measure.seconds = min(measure.extra["all_seconds"])
    if measure.queries is not None and measure.queries != len(captured.captured_queries):
        measure.extra["queries_varied"] = True
    measure.queries = len(captured.captured_queries)
    measure.extra["sql"] = [q["sql"][:200] for q in captured.captured_queries]
    measure.rss_high_water_mib = _maxrss_mib()


@contextmanager
def traced(measure: Measure):
    """Python heap peak (tracemalloc) of a separate pass; timings are never taken under tracemalloc."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        yield
        _current, peak = tracemalloc.get_traced_memory()
        measure.peak_mib = peak / 2**20
    finally:
        tracemalloc.stop()
    measure.rss_high_water_mib = max(measure.rss_high_water_mib or 0, _maxrss_mib())


def heap_flat(half: float, full: float) -> bool:
    """Twice the samples, (about) the same heap: 20 % + 1 MiB of slack, where accumulating would double it."""
    return full <= 1.2 * half + 1


def first_difference(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def check_identical(generated: dict[str, Path], exported: list[Path], out_dir: Path) -> None:
    names = {str(p.relative_to(out_dir)) for p in exported}
    if names != set(generated):
        raise SystemExit(f"EXPORT MISMATCH: exported files {sorted(names)} != generated {sorted(generated)}")
    for name, source in generated.items():
        want, got = source.read_bytes(), (out_dir / name).read_bytes()
        if want != got:
            at = first_difference(want, got)
            raise SystemExit(
                f"EXPORT MISMATCH in {name}: {len(got):,} bytes exported vs {len(want):,} generated; first "
                f"difference at byte {at:,}:\n  generated: {want[max(0, at - 60):at + 60]!r}\n"
                f"  exported:  {got[max(0, at - 60):at + 60]!r}"
            )


def run_one(n: int, args, work: Path, run_id: str) -> dict:
    from django.core.management import call_command

    from annotator.actions import Source, import_eibench
    from annotator.exporting import eibench_zip, provenance_lines, write_eibench
    from annotator.models import Project

    call_command("flush", interactive=False, verbosity=0)  # each N starts from empty tables
    folder = work / f"n{n}"
    results: dict[str, Measure] = {name: Measure() for name in ("generate", "import", "export", "zip", "provenance")}

    start = time.perf_counter()
    generated = generate(folder / "input", n, args.triggers_per_sample, args.seed)
    results["generate"].seconds = time.perf_counter() - start
    results["generate"].extra["bytes"] = {k: p.stat().st_size for k, p in generated.items()}
    questions = Source.of(generated["EI_Basic/user.jsonl"])
    truth = Source.of(generated["EI_Basic/basic_ground_truth.json"])
    expected = {"samples": n, "final_samples": n, "triggers": n * args.triggers_per_sample}

    def do_import(name):
        return import_eibench(project_name=name, questions=questions, ground_truth=truth)

    def check_import(result):
        got = {k: getattr(result, k) for k in expected}
        if got != expected:
            raise SystemExit(f"IMPORT COUNTS WRONG for N={n}: {got} != {expected}")
        return Project.objects.get(pk=result.project_id)

    # Timed passes (no tracemalloc). Exports read the first imported project.
    project = None
    for attempt in range(args.repeat):
        with timed(results["import"]):
            result = do_import(f"bench-{run_id}-n{n}" + (f"-r{attempt}" if attempt else ""))
        project = project or check_import(result)
    out = folder / "export"
    for _ in range(args.repeat):
        with timed(results["export"]):
            written = write_eibench(project, out)
        check_identical(generated, written, out)
    results["export"].extra["identical"] = True
    for _ in range(args.repeat):
        with open(os.devnull, "wb") as sink, timed(results["zip"]):
            size = 0
            for chunk in eibench_zip(project):
                size += len(chunk)
                sink.write(chunk)
    results["zip"].extra["bytes"] = size
    for _ in range(args.repeat):
        with timed(results["provenance"]):
            size = lines = 0
            for line in provenance_lines(project):
                size += len(line)
                lines += 1
    results["provenance"].extra.update(chars=size, lines=lines)
    if lines != n:
        raise SystemExit(f"PROVENANCE has {lines} lines for {n} samples")

    # Memory passes (tracemalloc slows Python down, so these are separate and untimed).
    half = {}
    if not args.no_memory:
        with traced(results["import"]):
            result = do_import(f"bench-{run_id}-n{n}-mem")
        check_import(result)
        export_memory(project, generated, folder / "export-mem", results)
        if n == max(args.samples) and n >= 2:
            # The same exports at N/2, to see whether their heap grows with N (it must not).
            print(f"... N={n // 2:,} (memory reference)", file=sys.stderr, flush=True)
            half_generated = generate(folder / "input-half", n // 2, args.triggers_per_sample, args.seed)
            half_result = import_eibench(
                project_name=f"bench-{run_id}-n{n}-half",
                questions=Source.of(half_generated["EI_Basic/user.jsonl"]),
                ground_truth=Source.of(half_generated["EI_Basic/basic_ground_truth.json"]),
            )
            half_measures = {key: Measure() for key in ("export", "zip", "provenance")}
            export_memory(Project.objects.get(pk=half_result.project_id), half_generated,
                          folder / "export-half", half_measures)
            half = {"n": n // 2, **{key: m.peak_mib for key, m in half_measures.items()}}

    if args.profile and n == max(args.samples):
        args.profile.mkdir(parents=True, exist_ok=True)
        for label, func in (
            ("import", lambda: do_import(f"bench-{run_id}-n{n}-prof")),
            ("export", lambda: write_eibench(project, folder / "export-prof")),
        ):
            profiler = cProfile.Profile()
            profiler.runcall(func)
            path = args.profile / f"{label}-n{n}.pstats"
            profiler.dump_stats(path)
            print(f"\n### cProfile: {label}, N={n:,} ({path})\n```", file=sys.stderr)
            pstats.Stats(str(path), stream=sys.stderr).sort_stats("cumulative").print_stats(25)
            pstats.Stats(str(path), stream=sys.stderr).sort_stats("tottime").print_stats(20)
            print("```", file=sys.stderr)

    return {**{name: m.__dict__ for name, m in results.items()}, "half": half}


def export_memory(project, generated: dict[str, Path], out: Path, results: dict[str, Measure]) -> None:
    """Python heap peaks of the three exports of ``project``."""
    from annotator.exporting import eibench_zip, provenance_lines, write_eibench

    with traced(results["export"]):
        written = write_eibench(project, out)
    check_identical(generated, written, out)
    with open(os.devnull, "wb") as sink, traced(results["zip"]):
        for chunk in eibench_zip(project):
            sink.write(chunk)
    with traced(results["provenance"]):
        for _line in provenance_lines(project):
            pass


# ---------------------------------------------------------------------------------------------------------
# Machine and report
# ---------------------------------------------------------------------------------------------------------
def machine() -> dict:
    import django
    from django.db import connection

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 2**20
    except OSError:
        pass
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            db = f"PostgreSQL {cursor.fetchone()[0]}"
        elif connection.vendor == "sqlite":
            import sqlite3

            db = f"SQLite {sqlite3.sqlite_version}"
        else:
            db = connection.vendor
    driver = ""
    if connection.vendor == "postgresql":
        import psycopg

        driver = f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__})"
    from annotator.bulk import set_based_checks
    from annotator.models import Event, Image, Sample, Trigger

    set_based = set_based_checks([Image, Sample, Trigger, Event])
    return {
        "fk_checks": "set-based" if set_based else ("per-row" if connection.vendor == "postgresql" else "sqlite"),
        "cpu": cpu or "unknown",
        "cores": os.cpu_count(),
        "ram_gib": round(ram_gib, 1) if ram_gib else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "database": db,
        "driver": driver,
        "commit": _commit(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _commit() -> str:
    """The checked-out commit, read from .git without running git (empty when unknown)."""
    git = ROOT / ".git"
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:12]
        ref = head[5:]
        if (git / ref).is_file():
            return (git / ref).read_text().strip()[:12]
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:12]
    except OSError:
        pass
    return ""


def _fmt_s(m: dict) -> str:
    return "–" if m.get("seconds") is None else f"{m['seconds']:.2f}"


def _fmt_q(m: dict) -> str:
    return "–" if m.get("queries") is None else str(m["queries"])


def _fmt_mib(m: dict) -> str:
    return "–" if m.get("peak_mib") is None else f"{m['peak_mib']:.1f}"


STEPS = (
    ("generate", "generate synthetic files (setup, not a product step)", "—"),
    ("import", "import: `import_eibench` (2 files)", f"≤ {TARGET_IMPORT_S:g} s @ {TARGET_N:,}"),
    ("export", "export: `write_eibench` (2 files, byte-checked)", f"≤ {TARGET_EXPORT_S:g} s @ {TARGET_N:,}"),
    ("zip", "export: `eibench_zip` → /dev/null", "—"),
    ("provenance", "export: `provenance_lines` consumed", "—"),
)


def report(args, runs: dict[int, dict], info: dict, db_url: str, db_why: str) -> tuple[str, list[str]]:
    ns = sorted(runs)
    out = ["# EI Studio — EIBench import/export benchmark", ""]
    out.append(f"Command: `{shlex.join(sys.orig_argv)}` (cwd `{os.getcwd()}`)")
    out.append("")
    out.append(f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM, {info['os']}; "
               f"Python {info['python']}, Django {info['django']}, {info['database']}"
               + (f" via {info['driver']}" if info["driver"] else "")
               + (f"; HEAD {info['commit']}" if info["commit"] else "")
               + f"; load average at start {info['load_average'][0]:.2f} (1 min)")
    out.append({
        "set-based": "Foreign keys of the imported rows: checked set-based, one scan per constraint (this database "
                     "role may set `session_replication_role`; see annotator/bulk.py).",
        "per-row": "Foreign keys of the imported rows: PostgreSQL's per-row checks"
                   + (" (--per-row-fk-checks)." if args.per_row_fk_checks else
                      " (this database role may not set `session_replication_role`)."),
        "sqlite": "Foreign keys: SQLite's own checks.",
    }[info["fk_checks"]])
    out.append(f"Database: `{redact(db_url)}` ({db_why}); data: {args.triggers_per_sample} triggers per sample, "
               f"seed {args.seed}; " + (f"best of {args.repeat} timed passes." if args.repeat > 1 else
                                        "one timed pass per step (use --repeat R for the best of R)."))
    out.append("")
    header = "| step | target |"
    rule = "|---|---|"
    for n in ns:
        header += f" N={n:,}: s | queries¹ | peak MiB² |"
        rule += "---:|---:|---:|"
    out += [header, rule]
    for key, label, target in STEPS:
        row = f"| {label} | {target} |"
        for n in ns:
            m = runs[n][key]
            q = "–" if key == "generate" else _fmt_q(m)
            mib = "–" if key == "generate" else _fmt_mib(m)
            row += f" {_fmt_s(m)} | {q} | {mib} |"
        out.append(row)
    out.append("")
    cpu = [(n, runs[n]["import"]["extra"]) for n in ns if runs[n]["import"]["extra"].get("server_cpu_s") is not None]
    if cpu:
        out.append("Where the import's time goes, CPU seconds of its fastest pass (Python: reading and checking the "
                   "files, building rows, formatting them for COPY (both threads); PostgreSQL: storing the rows "
                   "and their index entries, checking foreign keys): " + "; ".join(
                       f"N={n:,}: {runs[n]['import']['seconds']:.2f} s wall, Python {e['python_cpu_s']:.2f} s, "
                       f"PostgreSQL {e['server_cpu_s']:.2f} s" for n, e in cpu)
                   + f". On {info['cores']} cores the wall time cannot be below the larger of the two, nor below half "
                   "their sum; the rest is waiting (one side for the other, the disk, other processes).")
        out.append("")

    # Checks against the targets.
    checks, failures = [], []

    def check(ok: bool | None, text: str):
        mark = "➖" if ok is None else ("✅" if ok else "❌")
        checks.append(f"- {mark} {text}")
        if ok is False:
            failures.append(text)

    big = [n for n in ns if n >= TARGET_N]
    for key, limit in (("import", TARGET_IMPORT_S), ("export", TARGET_EXPORT_S)):
        if not big:
            check(None, f"{key} ≤ {limit:g} s at {TARGET_N:,} samples: not run at N ≥ {TARGET_N:,}")
        for n in big:
            allowed = limit * n / TARGET_N
            secs = runs[n][key]["seconds"]
            rate = n / secs if secs else 0
            check(secs <= allowed, f"{key} at N={n:,}: {secs:.2f} s (target ≤ {allowed:g} s; {rate:,.0f} samples/s)")
    if len(ns) > 1:
        for key, _label, _t in STEPS[1:]:
            counts = [runs[n][key]["queries"] for n in ns]
            check(len(set(counts)) == 1,
                  f"{key} queries constant in N: " + " / ".join(f"{c} (N={n:,})" for c, n in zip(counts, ns, strict=True)))
    else:
        check(None, "query counts constant in N: needs two sample counts (e.g. --samples 1000,100000)")
    if not args.no_memory:
        lo, hi = ns[0], ns[-1]
        half = runs[hi]["half"]
        for key in ("export", "zip", "provenance"):
            full = runs[hi][key]["peak_mib"]
            text = f"{key} memory flat"
            if half:
                text += f": peak {half[key]:.1f} MiB at N={half['n']:,} → {full:.1f} MiB at N={hi:,}"
            if lo != hi:
                text += f" (and {runs[lo][key]['peak_mib']:.1f} MiB at N={lo:,})"
            check(heap_flat(half[key], full) if half else None, text)
        text = "import memory (no target; it keeps the ground truth's keys, ids and ordinals by design): " + " → ".join(
            f"{runs[n]['import']['peak_mib']:.1f} MiB at N={n:,}" for n in ns)
        check(None, text)
    check(all(runs[n]["export"]["extra"].get("identical") for n in ns),
          "export byte-identical to the generated files (user.jsonl, basic_ground_truth.json) for every N")
    out += ["Checks:", "", *checks, "", f"For context only: {LABEL_STUDIO_CONTEXT}.", ""]
    out += [
        "¹ SQL statements captured by Django (`CaptureQueriesContext`). The import's bulk rows go through "
        "PostgreSQL `COPY` on the raw psycopg cursor, which Django does not capture: one `COPY` held open for the "
        "table that gets most of a file's rows (triggers, then samples), the other table's rows in batches of "
        "20,000 sent by a worker thread; the streamed exports count one query per server-side cursor, not per "
        "fetched chunk.",
        "² Python heap peak (`tracemalloc`) in a separate, untimed pass of the same step (timings are taken "
        "without tracemalloc). \"Flat\": the largest N's exports are also run (untimed) on a project of N/2 "
        "samples, and the peak must not grow between them (≤ 1.2 × + 1 MiB; accumulating would double it). Memory held by libpq/PostgreSQL is not "
        "included; process RSS high-water: "
        + ", ".join(f"{max(runs[n][key]['rss_high_water_mib'] or 0 for key, _l, _t in STEPS):.0f} MiB after N={n:,}"
                    for n in ns) + " (ru_maxrss only grows).",
    ]
    return "\n".join(out) + "\n", failures


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.per_row_fk_checks:
        os.environ["EISTUDIO_SET_BASED_FK_CHECKS"] = "false"  # as an operator would set it
    url, why = choose_database_url(args.database_url)
    prepare_database(url)
    setup_django(url)
    info = machine()
    run_id = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    runs = {}
    with tempfile.TemporaryDirectory(prefix="eistudio-bench-") as tmp:
        work = args.keep_files or Path(tmp)
        for n in args.samples:
            print(f"... N={n:,}", file=sys.stderr, flush=True)
            runs[n] = run_one(n, args, work, run_id)
    text, failures = report(args, runs, info, url, why)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "command": sys.orig_argv, "machine": info, "database_url": redact(url),
            "samples": args.samples, "triggers_per_sample": args.triggers_per_sample, "seed": args.seed,
            "targets": {"n": TARGET_N, "import_s": TARGET_IMPORT_S, "export_s": TARGET_EXPORT_S},
            "runs": {str(n): r for n, r in runs.items()}, "failures": failures,
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return 1 if (failures and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
