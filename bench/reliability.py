"""`make reliability`: the whole reliability suite, then docs/reliability.md with the figures of this run.

Steps (each one's output is kept under var/reliability/):

1. **load** — ``bench/load.py --profile full``: 50 annotators + 3 reviewers on a 100,000-sample project for
   2 minutes through gunicorn on PostgreSQL (``--quick``: the 20-second smoke profile);
2. **fault: PostgreSQL crash under load** — ``bench/load.py --profile postgres-restart`` (a throwaway cluster);
3. **fault tests** — pytest: PostgreSQL restarted while annotators save (tests/integration/test_db_restart.py),
   Redis restarted during a CFSA run, a worker SIGKILLed mid-batch (tests/integration/test_cfsa_*.py);
4. **hardening** — pytest ``-m "hardening or fuzz"`` (hostile input, security, permissions, property tests,
   schema-driven API fuzzing) with ``HYPOTHESIS_PROFILE=reliability`` (their bigger profile).

The pytest steps use ``DATABASE_URL``/``REDIS_URL`` (default: ``postgres://postgres@127.0.0.1:5432/h_load`` and
``redis://127.0.0.1:6379/8``; pytest-django creates its own ``test_*`` database there). The throwaway services
are started on free ports; the machine's PostgreSQL and Redis are never restarted.

    .venv/bin/python bench/reliability.py                # everything (about 18 minutes on 2 cores)
    .venv/bin/python bench/reliability.py --quick        # load smoke instead of the full load
    .venv/bin/python bench/reliability.py --skip load    # steps: load, fault-load, faults, hardening
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import machine, markdown  # noqa: E402

FAULT_TESTS = ["tests/integration/test_db_restart.py", "tests/integration/test_cfsa_faults.py",
               "tests/integration/test_cfsa_workers.py::test_a_worker_killed_mid_run_loses_and_duplicates_nothing"]
STEPS = ("load", "fault-load", "faults", "hardening")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="the load smoke profile instead of the full load")
    p.add_argument("--skip", action="append", default=[], choices=STEPS, help="leave a step out (repeatable)")
    p.add_argument("--load-args", default="", help="more arguments for bench/load.py's main run")
    p.add_argument("--out", default=str(ROOT / "docs" / "reliability.md"))
    p.add_argument("--work-dir", default=str(ROOT / "var" / "reliability"))
    return p.parse_args(argv)


def run(cmd: list[str], log: Path, env: dict | None = None, timeout: int = 3600) -> tuple[int, float]:
    print(f"\n== {' '.join(cmd)}", flush=True)
    t0 = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT,
                              timeout=timeout, check=False)
    seconds = time.monotonic() - t0
    tail = log.read_text().splitlines()[-6:]
    print("\n".join(tail), flush=True)
    print(f"-- exit {proc.returncode} in {seconds:.0f} s (log: {os.path.relpath(log, ROOT)})", flush=True)
    return proc.returncode, seconds


def junit(path: Path) -> dict:
    """Counts and per-test outcomes and times from pytest's JUnit XML."""
    if not path.exists():
        return {"tests": 0, "passed": 0, "failed": 0, "skipped": 0, "cases": []}
    cases = []
    for case in ET.parse(path).getroot().iter("testcase"):  # noqa: S314 (pytest wrote it, here)
        outcome = "passed"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        cases.append({"module": case.get("classname", ""), "name": case.get("name", ""),
                      "time": float(case.get("time") or 0), "outcome": outcome,
                      "message": next((c.get("message", "")[:200] for c in case if c.tag in
                                       ("failure", "error", "skipped")), "")})
    count = {k: sum(1 for c in cases if c["outcome"] == k) for k in ("passed", "failed", "skipped")}
    return {"tests": len(cases), **count, "cases": cases}


def hypothesis_examples(log: Path) -> dict[str, int]:
    """Examples Hypothesis ran per test, from ``--hypothesis-show-statistics``."""
    counts: dict[str, int] = {}
    test = None
    for line in log.read_text().splitlines() if log.exists() else []:
        m = re.match(r"^(\S+::\S+):$", line.strip())
        if m:
            test = m.group(1)
            continue
        m = re.search(r"(\d+) passing examples?, (\d+) failing examples?", line)
        if m and test:
            counts[test] = counts.get(test, 0) + int(m.group(1)) + int(m.group(2))
    return counts


def by_module(cases: list[dict]) -> list[tuple[str, dict]]:
    modules: dict[str, dict] = {}
    for c in cases:
        parts = c["module"].split(".")
        if len(parts) > 1 and parts[-1][:1].isupper():  # a test class: count it with its module
            parts = parts[:-1]
        m = modules.setdefault(".".join(parts), {"passed": 0, "failed": 0, "skipped": 0, "time": 0.0})
        m[c["outcome"]] += 1
        m["time"] += c["time"]
    return sorted(modules.items())


def main(argv=None) -> int:
    args = parse_args(argv)
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    command = "make reliability" + (f" RELIABILITY_ARGS={shlex.quote(' '.join(argv or sys.argv[1:]))}"
                                    if (argv or sys.argv[1:]) else "")
    env = {"DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/h_load",
           "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/8"}
    before = machine()
    py = sys.executable
    steps: dict[str, dict] = {}

    if "load" not in args.skip:
        profile = "smoke" if args.quick else "full"
        rc, s = run([py, "bench/load.py", "--profile", profile, "--json", str(work / "load.json"),
                     *shlex.split(args.load_args)], work / "load.log", timeout=1800)
        steps["load"] = {"rc": rc, "seconds": s, "result": _json(work / "load.json")}
    if "fault-load" not in args.skip:
        rc, s = run([py, "bench/load.py", "--profile", "postgres-restart", "--json", str(work / "fault-pg.json")],
                    work / "fault-pg.log")
        steps["fault-load"] = {"rc": rc, "seconds": s, "result": _json(work / "fault-pg.json")}
    if "faults" not in args.skip:
        rc, s = run([py, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--junitxml", str(work / "faults.xml"),
                     *FAULT_TESTS], work / "faults.log", env=env)
        steps["faults"] = {"rc": rc, "seconds": s, "junit": junit(work / "faults.xml")}
    if "hardening" not in args.skip:
        rc, s = run([py, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-m", "hardening or fuzz",
                     "--hypothesis-show-statistics", "--junitxml", str(work / "hardening.xml"), "tests"],
                    work / "hardening.log", env={**env, "HYPOTHESIS_PROFILE": "reliability"})
        steps["hardening"] = {"rc": rc, "seconds": s, "junit": junit(work / "hardening.xml"),
                              "examples": hypothesis_examples(work / "hardening.log")}

    after = machine()
    report = render(command, before, after, steps, env)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report)
    (work / "reliability.json").write_text(json.dumps(steps, indent=1, default=str))
    failed = [name for name, st in steps.items() if st["rc"] != 0]
    print(f"\nwrote {args.out}: " + ("all steps passed" if not failed else f"FAILED: {', '.join(failed)}"))
    return 1 if failed else 0


def _json(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


def render(command: str, before: dict, after: dict, steps: dict, env: dict) -> str:
    lines = [
        "# Reliability report",
        "",
        "Written by `make reliability` (`bench/reliability.py`) from its last run; how to read it is at the end, "
        "the tools are described in [bench/README.md](../bench/README.md).",
        "",
        f"- **Command:** `{command}`",
        f"- **Date:** {before['date']} (finished {after['date']})",
        f"- **Machine:** {before['cpu']}, {before['cores']} cores, {before['ram_mib']:,} MiB RAM, "
        f"Python {before['python']}",
        f"- **Commit:** {before['commit']}",
        f"- **Load average** (1 / 5 / 15 min) before: {' / '.join(map(str, before['load_average']))}, after: "
        f"{' / '.join(map(str, after['load_average']))}",
        f"- **Services:** pytest steps on `{env['DATABASE_URL']}` (its `test_*` database) and `{env['REDIS_URL']}`; "
        "fault steps on throwaway PostgreSQL / Redis instances on free ports",
        "",
        "| step | result | time |",
        "| --- | --- | ---: |",
    ]
    names = {"load": "load (bench/load.py)", "fault-load": "PostgreSQL crash under load",
             "faults": "fault tests (pytest)", "hardening": "hardening: hostile input, security, property, fuzz"}
    for name, st in steps.items():
        if "junit" in st:
            j = st["junit"]
            verdict = f"{j['passed']} passed, {j['failed']} failed, {j['skipped']} skipped"
        else:
            res = st.get("result") or {}
            verdict = "PASS" if st["rc"] == 0 and not res.get("failures") else \
                "FAIL: " + "; ".join(res.get("failures") or [f"exit {st['rc']}"])
        lines.append(f"| {names[name]} | {verdict} | {st['seconds']:.0f} s |")

    if steps.get("load", {}).get("result"):
        lines += ["", "## Load", "", markdown(steps["load"]["result"])]
    if steps.get("fault-load", {}).get("result"):
        lines += ["", "## PostgreSQL crash while annotators save", "", markdown(steps["fault-load"]["result"])]
    if "faults" in steps:
        lines += ["", "## Fault tests", "", "| test | outcome | time |", "| --- | --- | ---: |"]
        for c in steps["faults"]["junit"]["cases"]:
            lines.append(f"| `{c['module'].rsplit('.', 1)[-1]}::{c['name']}` | {c['outcome']}"
                         f"{': ' + c['message'] if c['message'] and c['outcome'] != 'passed' else ''} | "
                         f"{c['time']:.1f} s |")
    if "hardening" in steps:
        h = steps["hardening"]
        lines += ["", "## Hardening (hostile input, security, permissions, property tests, API fuzzing)", "",
                  "`pytest -m \"hardening or fuzz\"` with `HYPOTHESIS_PROFILE=reliability`.", "",
                  "| module | passed | failed | skipped | time |", "| --- | ---: | ---: | ---: | ---: |"]
        for module, m in by_module(h["junit"]["cases"]):
            lines.append(f"| `{module}` | {m['passed']} | {m['failed']} | {m['skipped']} | {m['time']:.1f} s |")
        failed = [c for c in h["junit"]["cases"] if c["outcome"] == "failed"]
        for c in failed[:20]:
            lines.append(f"\nFailed: `{c['module']}::{c['name']}`: {c['message']}")
        if h["examples"]:
            lines += ["", f"Property / fuzz tests: {len(h['examples'])} tests ran "
                          f"{sum(h['examples'].values()):,} Hypothesis examples in all.", "",
                      "| test | examples |", "| --- | ---: |"]
            lines += [f"| `{t}` | {n:,} |" for t, n in sorted(h["examples"].items())]
    lines += ["", READING]
    return "\n".join(lines) + "\n"


READING = """## How to read this report

* **Load.** Latencies are client-side wall times on loopback (what a browser would wait, minus the network), per
  endpoint as the browser calls it; p50/p95/p99 over the work phase (sign-in is its own rows: one PBKDF2 check
  each, on purpose expensive). The simulated people think 0.5-1.5 s between actions, roughly ten times faster than
  real annotators, so the server runs near its capacity on 2 cores: compare runs on the same machine and load
  average only. The checks below the table are what matters most: every change a client saw succeed is exactly
  one Event (lost / duplicated 0), every row agrees with its events, no sample was handed to two annotators in a
  pass, no server error.
* **PostgreSQL crash.** During the outage every request gets a 503 that offers a retry (htmx: into
  `#unavailable`, the form is not replaced); nothing else may fail, nothing may be lost or applied twice, and
  saving must resume after the restart without restarting gunicorn.
* **Fault tests** and **hardening** are pytest runs: a failed or skipped test is named with its message.
"""


if __name__ == "__main__":
    sys.exit(main())
