"""Benchmark: `scheduler validate` against a bare YAML parse, and `scheduler next` latency.

Run with ``make bench`` (or ``.venv/bin/python bench/validate.py``). In one run it

1. generates 10,000 varied, valid job files (fixed seed) into a temporary folder;
2. times, as subprocesses and interleaved round by round, ``scheduler validate --format
   json`` and two bare parses of the same files: ``yaml.safe_load`` (the pure-Python
   ``SafeLoader``, which is what ``safe_load`` uses) and ``yaml.CSafeLoader`` (libyaml, the
   stricter baseline); the medians are reported as ratios;
3. times the same work in-process (a fresh interpreter per measurement, timed around the
   call) to separate interpreter start and imports from the per-file cost;
4. times ``python -m scheduler next NAME`` on a small jobs folder against ``python -c pass``
   and lists the imports that dominate (``-X importtime``);
5. profiles the in-process validate of all the files (cProfile, top functions).

The targets (validate <= 2x the bare parse; ``next`` < 200 ms including interpreter start)
are reported PASS/MISS and never fail the run: speed targets live here, not in the tests.
The report is printed and written to ``bench/results/validate.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from benchkit import compile_checkout  # noqa: E402

RESULTS = REPO / "bench" / "results" / "validate.md"
PY = sys.executable

VALIDATE_RATIO_TARGET = 2.0
NEXT_TARGET_MS = 200.0

# --------------------------------------------------------------------------------------
# Job file generation
# --------------------------------------------------------------------------------------

TEAMS = (  # noqa: SIM905
    "billing search growth infra data mobile payments identity reporting ml support ads "
    "catalog fraud platform web"
).split()
VERBS = (  # noqa: SIM905
    "sync refresh export rollup cleanup reindex notify backup compact audit warm-cache "
    "rotate-keys send-digest import reconcile purge snapshot aggregate retrain vacuum"
).split()
OBJECTS = (  # noqa: SIM905
    "invoices users orders sessions metrics catalog events reports logs accounts carts "
    "payouts models features tickets emails"
).split()
TIMEZONES = (  # noqa: SIM905
    "UTC Europe/Paris Europe/London Europe/Berlin America/New_York America/Los_Angeles "
    "America/Chicago America/Sao_Paulo America/St_Johns Asia/Tokyo Asia/Kolkata "
    "Asia/Kathmandu Asia/Singapore Australia/Sydney Australia/Adelaide Pacific/Auckland "
    "Africa/Johannesburg Europe/Moscow"
).split()
QUEUES = ["default", "high", "low", "reports", "billing:critical", "ml.batch", "io-bound"]
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LONG_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
INTERVALS = ["30s", "45s", "1m", "5m", "10m", "15m", "30m", "1h", "1h30m", "2h", "6h", "12h", "1d"]
WORDS = (  # noqa: SIM905
    "nightly hourly batch upstream downstream warehouse partner ledger cache index shard "
    "replica bucket archive digest snapshot window retry quota tenant region feed stale "
    "pending failed expired orphaned duplicate monthly weekly recent large small"
).split()


def _cron(rng: random.Random) -> str:
    m, h = rng.randrange(60), rng.randrange(24)
    templates: list[Callable[[], str]] = [
        lambda: f"{m} {h} * * *",
        lambda: f"*/{rng.choice([2, 5, 10, 15, 20, 30])} * * * *",
        lambda: f"{m} */{rng.choice([2, 3, 4, 6, 8, 12])} * * *",
        lambda: f"{m} {h} * * 1-5",
        lambda: f"{m} {rng.randrange(6, 10)}-{rng.randrange(16, 20)} * * mon-fri",
        lambda: f"{m} {h} {rng.randrange(1, 29)} * *",
        lambda: f"{m} {h} 1 */3 *",
        lambda: f"{m},{(m + 30) % 60} * * * *",
        lambda: f"{m} {h} * * {rng.choice(['0', '6', 'sat', 'sun', '1,3,5'])}",
        lambda: f"{m} {h} * * * {rng.choice([0, 15, 30, 45])}",
        lambda: rng.choice(["@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@midnight"]),
    ]
    return rng.choice(templates)()


def _time(rng: random.Random) -> str:
    minute = rng.choice([0, 0, 15, 30, 45, rng.randrange(60)])
    return f"{rng.randrange(24):02d}:{minute:02d}"


def _description(rng: random.Random, name: str) -> list[str]:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 12)))
    style = rng.random()
    if style < 0.35:
        return []
    if style < 0.6:
        return [f"description: {words.capitalize()} for {name}"]
    if style < 0.8:
        team = name.split("-", maxsplit=1)[0]
        return [f'description: "{words.capitalize()}: owned by the {team} team"']
    lines = textwrap.wrap(f"{words.capitalize()}. Runs {name}; pages on-call when it fails.", 40)
    return [f"description: {rng.choice(['>', '|', '>-'])}"] + [f"  {line}" for line in lines]


def _params(rng: random.Random) -> list[str]:
    if rng.random() < 0.3:
        return []
    pool: list[Callable[[], list[str]]] = [
        lambda: [f"batch_size: {rng.choice([100, 250, 500, 1000, 5000])}"],
        lambda: [f"dry_run: {rng.choice(['true', 'false'])}"],
        lambda: [f"region: {rng.choice(['eu-west-1', 'us-east-1', 'ap-south-1'])}"],
        lambda: [f"threshold: {rng.uniform(0, 1):.3f}"],
        lambda: [f"since: 2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"],
        lambda: [f'owner: "{rng.choice(TEAMS)}@example.com"'],
        lambda: ["note: null"],
        lambda: [f"tags: [{', '.join(rng.sample(WORDS, rng.randrange(1, 4)))}]"],
        lambda: (
            ["targets:"]
            + [f"  - s3://{rng.choice(WORDS)}-bucket/{rng.choice(WORDS)}/" for _ in range(3)]
        ),
        lambda: [
            "retry:",
            f"  attempts: {rng.randrange(1, 6)}",
            f"  backoff: {rng.choice(['1.5', '2', '2.5'])}",
            f"  on: [{rng.choice(['timeout', 'io'])}, connection]",
        ],
        lambda: [
            "limits:",
            f"  max_rows: {rng.randrange(1000, 10**7)}",
            "  window:",
            f"    hours: {rng.randrange(1, 48)}",
            f"    label: '{rng.choice(WORDS)} {rng.choice(WORDS)}'",
        ],
    ]
    body = [line for make in rng.sample(pool, rng.randrange(1, 6)) for line in make()]
    return ["params:"] + [f"  {line}" for line in body]


def _daily(rng: random.Random) -> list[str]:
    times = sorted({_time(rng) for _ in range(rng.choice([1, 1, 1, 2, 3]))})
    if len(times) == 1:
        return [f'daily: "{times[0]}"']
    if rng.random() < 0.5:
        return ["daily: [" + ", ".join(f'"{t}"' for t in times) + "]"]
    return ["daily:"] + [f'  - "{t}"' for t in times]


def _weekly(rng: random.Random) -> list[str]:
    idx = sorted(rng.sample(range(7), rng.randrange(1, 6)))
    names = LONG_DAYS if rng.random() < 0.2 else DAYS
    return ["weekly:", f"  days: [{', '.join(names[i] for i in idx)}]", f'  at: "{_time(rng)}"']


def _schedule(rng: random.Random) -> list[str]:
    kind = rng.choices(["cron", "interval", "daily", "weekly", "at"], [40, 25, 20, 12, 3])[0]
    out: list[str] = []
    interval = None
    if kind == "cron":
        expr = _cron(rng)
        out.append(f'cron: "{expr}"' if rng.random() < 0.7 else f"cron: '{expr}'")
    elif kind == "interval":
        interval = rng.choice(INTERVALS)
        out.append(f"interval: {interval}")
        if rng.random() < 0.3:
            out.append(f"anchor: 2024-01-01T00:{rng.randrange(60):02d}:00")
    elif kind == "daily":
        out += _daily(rng)
    elif kind == "weekly":
        out += _weekly(rng)
    else:
        day = f"2031-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        out.append(f"at: {day}T{_time(rng)}:00")
    if rng.random() < 0.85:
        out.append(f"timezone: {rng.choice(TIMEZONES)}")
    if kind != "at" and rng.random() < 0.25:
        # jitter must be shorter than the interval
        if interval in ("30s", "45s", "1m"):
            jitter = rng.choice(["5s", "10s"])
        else:
            jitter = rng.choice(["10s", "30s", "1m", "2m"] + ([] if interval else ["5m"]))
        out.append(f"jitter: {jitter}")
    if kind != "at" and rng.random() < 0.1:
        out.append(f"start: 2024-{rng.randrange(1, 13):02d}-01")
        out.append(f"end: 2032-{rng.randrange(1, 13):02d}-01T00:00:00")
    return ["schedule:"] + [f"  {line}" for line in out]


def job_document(rng: random.Random, index: int) -> list[str]:
    team, verb, obj = rng.choice(TEAMS), rng.choice(VERBS), rng.choice(OBJECTS)
    name = f"{team}-{verb}-{obj}-{index:05d}"
    lines = [f"name: {name}"]
    lines += _description(rng, name)
    # A task under a stdlib name ("platform") is refused since the task allow-list (issue 9).
    package = f"{team}ops" if team in sys.stdlib_module_names else team
    lines.append(f"task: {package}.jobs.{obj}:{verb.replace('-', '_')}")
    if rng.random() < 0.4:
        lines.append(f"queue: {rng.choice(QUEUES)}")
    if rng.random() < 0.5:
        lines += _params(rng) + _schedule(rng)
    else:
        lines += _schedule(rng) + _params(rng)
    if rng.random() < 0.08:
        lines.append("enabled: false")
    if rng.random() < 0.15:  # a comment before some top-level key (not inside a block)
        at = rng.choice([i for i, line in enumerate(lines) if i and not line.startswith(" ")])
        lines.insert(at, f"# {' '.join(rng.sample(WORDS, 4))}")
    return lines


@dataclass
class Corpus:
    root: Path
    files: int
    jobs: int
    bytes: int
    names: list[str]


def generate(root: Path, n_files: int, seed: int, multi_doc: float) -> Corpus:
    """``n_files`` job files in 16 team folders; a fraction hold two or three documents."""
    rng = random.Random(seed)
    jobs = size = 0
    names: list[str] = []
    for i in range(n_files):
        n_docs = 1 if rng.random() >= multi_doc else rng.choice([2, 3])
        parts: list[str] = []
        if rng.random() < 0.2:
            parts.append(f"# Owned by {rng.choice(TEAMS)}; see the runbook.")
        for d in range(n_docs):
            doc = job_document(rng, jobs)
            names.append(doc[0].split(": ", 1)[1])
            jobs += 1
            if d or rng.random() < 0.15:
                parts.append("---")
            parts += doc
        folder = root / TEAMS[i % len(TEAMS)]
        folder.mkdir(parents=True, exist_ok=True)
        text = "\n".join(parts) + "\n"
        suffix = ".yml" if rng.random() < 0.1 else ".yaml"
        (folder / f"job-{i:05d}{suffix}").write_text(text, encoding="utf-8")
        size += len(text.encode())
    return Corpus(root, n_files, jobs, size, names)


# --------------------------------------------------------------------------------------
# Measurement helpers
# --------------------------------------------------------------------------------------

# A bare parse of the same files, walked and read the way the catalog does it.
BARE_PARSE = r"""
import os, sys, yaml
loader = getattr(yaml, sys.argv[2])
jobs = 0
for dirpath, dirnames, filenames in os.walk(sys.argv[1]):
    dirnames.sort()
    for name in sorted(filenames):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(dirpath, name), "rb") as fh:
                text = fh.read().decode("utf-8-sig")
            # safe_load_all: one document each for most files; the same loader as safe_load.
            jobs += sum(doc is not None for doc in yaml.load_all(text, Loader=loader))
print(jobs)
"""

# In-process timing in a fresh interpreter: imports and the call timed separately.
IN_PROCESS = r"""
import json, sys, time
t0 = time.perf_counter()
mode, root = sys.argv[1], sys.argv[2]
if mode == "validate":
    from datetime import UTC, datetime
    from pathlib import Path
    from scheduler.engine import api
    t1, c1 = time.perf_counter(), time.process_time()
    catalog = api.validate([Path(root)], datetime.now(UTC))
    t2, c2 = time.perf_counter(), time.process_time()
    jobs, ok = len(catalog.jobs), catalog.valid
else:
    import os, yaml
    loader = getattr(yaml, mode)
    def run():
        jobs = 0
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith((".yaml", ".yml")):
                    with open(os.path.join(dirpath, name), "rb") as fh:
                        text = fh.read().decode("utf-8-sig")
                    jobs += sum(d is not None for d in yaml.load_all(text, Loader=loader))
        return jobs
    t1, c1 = time.perf_counter(), time.process_time()
    jobs = run()
    t2, c2 = time.perf_counter(), time.process_time()
    ok = True
print(json.dumps({"import": t1 - t0, "work": t2 - t1, "cpu": c2 - c1, "jobs": jobs, "ok": ok}))
"""

PROFILE = r"""
import cProfile, json, pstats, sys
from datetime import UTC, datetime
from pathlib import Path
from scheduler.engine import api
profiler = cProfile.Profile()
now = datetime.now(UTC)
profiler.enable()
catalog = api.validate([Path(sys.argv[1])], now)
profiler.disable()
stats = pstats.Stats(profiler)
rows = [
    {"file": f, "line": ln, "func": fn, "ncalls": nc, "prim": cc, "tottime": tt, "cumtime": ct}
    for (f, ln, fn), (cc, nc, tt, ct, _callers) in stats.stats.items()
]
print(json.dumps({"total": stats.total_tt, "jobs": len(catalog.jobs), "rows": rows}))
"""


@dataclass
class Timing:
    wall: float  # seconds
    cpu: float  # user + system seconds of the child: less sensitive to other load
    proc: subprocess.CompletedProcess[str]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: Sequence[str], *, check: bool = True) -> Timing:
    """Wall and CPU time of one subprocess, and its result (one child at a time)."""
    c0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    elapsed, cpu = time.perf_counter() - t0, _children_cpu() - c0
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return Timing(elapsed, cpu, proc)


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------


def bench_validate(corpus: Corpus, reps: int) -> dict[str, Any]:
    root = str(corpus.root)

    def validate_cli() -> Timing:
        cmd = [PY, "-m", "scheduler", "validate", "--format", "json", root]
        timing = run(cmd, check=False)  # exit 1 (invalid) is reported below
        proc = timing.proc
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"validate exited {proc.returncode}:\n{proc.stderr[-2000:]}")
        report = json.loads(proc.stdout)
        if not (
            report["valid"] and report["files"] == corpus.files and report["jobs"] == corpus.jobs
        ):
            raise RuntimeError(
                f"validate reported valid={report['valid']} files={report['files']} "
                f"jobs={report['jobs']} (expected {corpus.files} files, {corpus.jobs} jobs); "
                f"first errors: {report['errors'][:3]}"
            )
        if report["warnings"]:
            print(
                f"  note: validate reported {len(report['warnings'])} warning(s)", file=sys.stderr
            )
        return timing

    def bare(loader: str) -> Callable[[], Timing]:
        def go() -> Timing:
            timing = run([PY, "-c", BARE_PARSE, root, loader])
            if int(timing.proc.stdout) != corpus.jobs:
                raise RuntimeError(f"{loader} parsed {timing.proc.stdout.strip()} documents")
            return timing

        return go

    def in_process(mode: str) -> Callable[[], dict[str, float]]:
        def go() -> dict[str, float]:
            out = json.loads(run([PY, "-c", IN_PROCESS, mode, root]).proc.stdout)
            if out["jobs"] != corpus.jobs or not out["ok"]:
                raise RuntimeError(f"in-process {mode}: {out}")
            return out

        return go

    cli: dict[str, Callable[[], Timing]] = {
        "validate": validate_cli,
        "safe_load": bare("SafeLoader"),
        "CSafeLoader": bare("CSafeLoader"),
    }
    inproc: dict[str, Callable[[], dict[str, float]]] = {
        "validate": in_process("validate"),
        "safe_load": in_process("SafeLoader"),
        "CSafeLoader": in_process("CSafeLoader"),
    }
    # One warm-up round (page cache, .pyc files), then interleaved rounds against drift.
    for fn in cli.values():
        fn()
    wall: dict[str, list[float]] = {k: [] for k in cli}
    cpu: dict[str, list[float]] = {k: [] for k in cli}
    parts: dict[str, list[dict[str, float]]] = {k: [] for k in inproc}
    for i in range(reps):
        print(f"  round {i + 1}/{reps}", file=sys.stderr)
        for key, fn in cli.items():
            timing = fn()
            wall[key].append(timing.wall)
            cpu[key].append(timing.cpu)
        for key, measure in inproc.items():
            parts[key].append(measure())
    return {"wall": wall, "cpu": cpu, "parts": parts}


def bench_next(corpus_dir: Path, name: str, runs: int) -> dict[str, Any]:
    cmd = [PY, "-m", "scheduler", "next", name, "--jobs-dir", str(corpus_dir)]
    bare = [PY, "-c", "pass"]
    for _ in range(3):  # warm-up: page cache
        run(cmd)
        run(bare)
    times: dict[str, list[float]] = {"next": [], "bare": [], "next_cpu": [], "bare_cpu": []}
    for _ in range(runs):
        for key, argv in (("next", cmd), ("bare", bare)):
            timing = run(argv)
            times[key].append(timing.wall * 1000)
            times[f"{key}_cpu"].append(timing.cpu * 1000)
    imports = parse_importtime(run([PY, "-X", "importtime", *cmd[1:]]).proc.stderr)
    return {**times, "imports": imports}


def parse_importtime(stderr: str) -> list[tuple[int, int, str]]:
    """(cumulative us, self us, indented module name) per ``-X importtime`` line."""
    out = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        head, cum, pkg = line.split("|")
        out.append((int(cum), int(head.split(":")[1]), pkg.rstrip()))
    return out


def profile(corpus: Corpus) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(run([PY, "-c", PROFILE, str(corpus.root)]).proc.stdout)
    return result


def short_path(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3", str(REPO) + "/"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "/lib/python3" else tail
    return path


def machine_info() -> list[tuple[str, str]]:
    import pydantic
    import yaml

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", "scheduler"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    ).stdout.strip()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return [
        ("date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("commit", commit + (" (scheduler/ has uncommitted changes)" if dirty else "")),
        ("platform", platform.platform()),
        ("cpu", f"{cpu} ({os.cpu_count()} logical CPUs)"),
        ("load average", " ".join(f"{x:.2f}" for x in load) if load else "?"),
        ("python", f"{platform.python_implementation()} {platform.python_version()} ({PY})"),
        ("pyyaml", f"{yaml.__version__}, libyaml (CSafeLoader) available: {yaml.__with_libyaml__}"),
        ("pydantic", pydantic.VERSION),
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=10_000, help="job files to generate")
    ap.add_argument("--reps", type=int, default=5, help="timed rounds (median reported)")
    ap.add_argument("--next-runs", type=int, default=20, help="timed `next` invocations")
    ap.add_argument("--seed", type=int, default=20260509)
    ap.add_argument("--multi-doc", type=float, default=0.05, help="share of multi-document files")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfile section")
    ap.add_argument("--output", type=Path, default=RESULTS)
    ap.add_argument(
        "--only-next",
        action="store_true",
        help="time only `next` against `python -c pass`; print, write no report",
    )
    args = ap.parse_args()

    compile_checkout()  # time the code as an install runs it
    tmp = Path(tempfile.mkdtemp(prefix="scheduler-bench-"))
    if args.only_next:
        try:
            small = generate(tmp / "small", 5, args.seed + 1, 0.0)
            n = bench_next(small.root, small.names[0], args.next_runs)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        verdict = "PASS" if statistics.median(n["next"]) < NEXT_TARGET_MS else "MISS"
        print(
            "\n".join([*next_section(args, n), "", f"target < {NEXT_TARGET_MS:.0f} ms: {verdict}"])
        )
        return 0
    try:
        print(f"generating {args.files:,} job files in {tmp} ...", file=sys.stderr)
        corpus = generate(tmp / "jobs", args.files, args.seed, args.multi_doc)
        small = generate(tmp / "small", 5, args.seed + 1, 0.0)
        print("timing validate and the bare parses ...", file=sys.stderr)
        v = bench_validate(corpus, args.reps)
        print(f"timing `next` ({args.next_runs} runs) ...", file=sys.stderr)
        n = bench_next(small.root, small.names[0], args.next_runs)
        prof = None
        if not args.no_profile:
            print("profiling in-process validate ...", file=sys.stderr)
            prof = profile(corpus)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    report = render(args, corpus, v, n, prof)
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report + "\n", encoding="utf-8")
    print(f"\nwritten to {args.output}", file=sys.stderr)
    return 0


def next_section(args: argparse.Namespace, n: dict[str, Any]) -> list[str]:
    """The report's ``next`` section: latency against ``python -c pass``, top imports."""
    med = statistics.median
    out = ["", f"## `scheduler next` latency ({args.next_runs} runs each, interleaved)", ""]
    out.append("`python -m scheduler next NAME --jobs-dir <5 job files>` against `python -c pass`.")
    out.append("")
    rows = []
    for key, label in (("next", "`python -m scheduler next NAME`"), ("bare", "`python -c pass`")):
        xs = n[key]
        rows.append(
            [label]
            + [f"{x:.0f} ms" for x in (med(xs), pct(xs, 0.9), min(xs), max(xs))]
            + [f"{med(n[key + '_cpu']):.0f} ms"]
        )
    rows.append(
        [
            "difference (scheduler's own cost)",
            f"{med(n['next']) - med(n['bare']):.0f} ms",
            "",
            "",
            "",
            f"{med(n['next_cpu']) - med(n['bare_cpu']):.0f} ms",
        ]
    )
    out.append(md_table(["command", "median", "p90", "min", "max", "CPU median"], rows))
    out += [
        "",
        "Top 10 imports by cumulative time (`python -X importtime -m scheduler next ...`):",
        "",
    ]
    top = sorted(n["imports"], reverse=True)[:10]
    out.append(
        md_table(
            ["cumulative", "self", "module"],
            [
                [
                    f"{c / 1000:.1f} ms",
                    f"{s / 1000:.1f} ms",
                    f"`{m.strip()}` (depth {(len(m) - len(m.lstrip())) // 2})",
                ]
                for c, s, m in top
            ],
        )
    )
    return out


def render(
    args: argparse.Namespace, corpus: Corpus, v: dict[str, Any], n: dict[str, Any], prof: Any
) -> str:
    med = statistics.median
    wall = {k: med(xs) for k, xs in v["wall"].items()}
    cpu = {k: med(xs) for k, xs in v["cpu"].items()}
    work = {k: med(p["work"] for p in ps) for k, ps in v["parts"].items()}
    work_cpu = {k: med(p["cpu"] for p in ps) for k, ps in v["parts"].items()}
    imports = {k: med(p["import"] for p in ps) for k, ps in v["parts"].items()}
    r_safe = wall["validate"] / wall["safe_load"]
    r_c = wall["validate"] / wall["CSafeLoader"]
    next_med, next_p90 = med(n["next"]), pct(n["next"], 0.9)

    out = ["# `scheduler validate` and `scheduler next` benchmark", ""]
    out.append("Generated by `make bench` (`bench/validate.py`); overwritten on every run.")
    out += ["", "## Machine", ""]
    out.append(md_table(["", "value"], machine_info()))
    out += ["", "## Corpus", ""]
    out.append(
        f"{corpus.files:,} job files ({corpus.jobs:,} jobs; {args.multi_doc:.0%} of files hold "
        f"2-3 documents), {corpus.bytes / 1e6:.2f} MB, in 16 folders; seed {args.seed}. "
        "Schedules: cron ~40%, interval ~25%, daily ~20%, weekly ~12%, at ~3%; 18 time zones, "
        "params, descriptions (plain, quoted, block), windows, jitter, comments."
    )
    out += ["", "## Targets", ""]
    out.append(
        md_table(
            ["target", "measured", "result"],
            [
                [
                    "validate <= 2x bare `yaml.safe_load` (CLI wall time)",
                    f"{r_safe:.2f}x",
                    verdict(r_safe <= VALIDATE_RATIO_TARGET),
                ],
                [
                    "validate <= 2x `CSafeLoader` (stricter baseline, CLI wall time)",
                    f"{r_c:.2f}x",
                    verdict(r_c <= VALIDATE_RATIO_TARGET),
                ],
                [
                    f"`next` median < {NEXT_TARGET_MS:.0f} ms incl. interpreter start",
                    f"{next_med:.0f} ms (p90 {next_p90:.0f} ms)",
                    verdict(next_med < NEXT_TARGET_MS),
                ],
            ],
        )
    )
    out += ["", f"## Validate vs bare parse ({args.reps} rounds, median)", ""]
    out.append(
        "CLI: one subprocess each, including interpreter start, imports, walking and reading "
        "the files and (validate) printing the JSON report; wall time (min..max) and the "
        "child's user+system CPU time, which other load on the machine disturbs less. "
        "In-process: a fresh interpreter each, timed inside around the imports and around "
        "the call (wall, CPU)."
    )
    out.append("")
    rows = []
    for key, label in (
        ("validate", "`scheduler validate --format json`"),
        ("safe_load", "bare `yaml.safe_load` (SafeLoader, pure Python)"),
        ("CSafeLoader", "bare `yaml.load(Loader=CSafeLoader)` (libyaml)"),
    ):
        xs = v["wall"][key]
        rows.append(
            [
                label,
                f"{wall[key]:.2f} s ({min(xs):.2f}..{max(xs):.2f})",
                f"{cpu[key]:.2f} s",
                f"{imports[key] * 1000:.0f} ms",
                f"{work[key]:.2f} s / {work_cpu[key]:.2f} s",
                f"{work[key] / corpus.files * 1e6:.0f} us",
            ]
        )
    header = ["", "CLI wall", "CLI CPU", "in-process imports", "in-process call", "per file"]
    out.append(md_table(header, rows))
    out += [""]
    ratios = []
    for base in ("safe_load", "CSafeLoader"):
        ratios.append(
            [
                f"validate / {base}",
                f"{wall['validate'] / wall[base]:.2f}x",
                f"{cpu['validate'] / cpu[base]:.2f}x",
                f"{work['validate'] / work[base]:.2f}x",
                f"{work_cpu['validate'] / work_cpu[base]:.2f}x",
            ]
        )
    out.append(
        md_table(["ratio", "CLI wall", "CLI CPU", "in-process wall", "in-process CPU"], ratios)
    )
    out += next_section(args, n)
    if prof is not None:
        out += ["", "## Profile of in-process validate (cProfile)", ""]
        out.append(
            f"`scheduler.engine.api.validate` over the {corpus.files:,} files in a fresh "
            "interpreter: "
            f"{prof['total']:.2f} s under the profiler (which inflates Python-heavy code)."
        )
        for key, label in (("cumtime", "cumulative"), ("tottime", "own (tottime)")):
            rows2 = sorted(prof["rows"], key=lambda r: r[key], reverse=True)[:15]
            out += ["", f"Top 15 by {label} time:", ""]
            out.append(
                md_table(
                    ["ncalls", "tottime", "cumtime", "function"],
                    [
                        [
                            r["ncalls"]
                            if r["ncalls"] == r["prim"]
                            else f"{r['ncalls']}/{r['prim']}",
                            f"{r['tottime']:.3f}",
                            f"{r['cumtime']:.3f}",
                            f"`{short_path(r['file'])}:{r['line']}({r['func']})`",
                        ]
                        for r in rows2
                    ],
                )
            )
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
