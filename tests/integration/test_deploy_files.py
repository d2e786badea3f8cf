"""The delivery files: Dockerfile, deploy/compose.yaml, deploy/kubernetes.yaml,
.pre-commit-hooks.yaml and the example GitHub workflow (docs/workflows/scheduler.yml).

Docker and Kubernetes cannot run here, so what they would run is run instead: the image's
ENTRYPOINT + CMD and HEALTHCHECK commands are read out of the Dockerfile and started for real
(with /app mapped to a temporary directory and the test's Redis), the manifests' commands
and jobs are checked against the CLI, the ConfigMap's way of swapping files is replayed under
a live watcher, and the hooks' and the workflow's commands run on real files and git history.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.helpers import wait_for

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
COMPOSE = REPO / "deploy" / "compose.yaml"
KUBERNETES = REPO / "deploy" / "kubernetes.yaml"
HOOKS = REPO / ".pre-commit-hooks.yaml"
WORKFLOW = REPO / "docs" / "workflows" / "scheduler.yml"
APP = "/app"
STOP_WITHIN = 5.0

GOOD_JOB = "name: tick\ntask: examples.bots:heartbeat\nschedule:\n  interval: 1h\n"
BAD_JOB = 'name: broken\ntask: examples.bots:heartbeat\nschedule:\n  cron: "0 30 9 * * *"\n'


# --- running the CLI as an image or a hook would -------------------------------------------


def scheduler_argv(args: list[str]) -> list[str]:
    """``scheduler ARGS`` through the installed console script (as in the image), else
    through ``python -m scheduler``."""
    script = Path(sys.executable).with_name("scheduler")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "scheduler", *args]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without SCHEDULER_* / REDIS_URL settings, plus ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("SCHEDULER_") and k != "REDIS_URL"
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def run(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


# --- Dockerfile ----------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order: continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        current += line
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    return out


def command_words(arguments: str) -> list[str]:
    """An exec-form (JSON array) or shell-form command as words."""
    if arguments.startswith("["):
        words = json.loads(arguments)
        assert all(isinstance(w, str) for w in words)
        return list(words)
    return shlex.split(arguments)


class Image:
    """What the Dockerfile configures, read from its text."""

    def __init__(self, text: str) -> None:
        self.instructions = dockerfile_instructions(text)

    def all(self, name: str) -> list[str]:
        return [args for instr, args in self.instructions if instr == name]

    def last(self, name: str) -> str:
        found = self.all(name)
        assert found, f"no {name} in the Dockerfile"
        return found[-1]

    @property
    def entrypoint(self) -> list[str]:
        return command_words(self.last("ENTRYPOINT"))

    @property
    def cmd(self) -> list[str]:
        return command_words(self.last("CMD"))

    @property
    def healthcheck(self) -> tuple[dict[str, str], list[str]]:
        """The HEALTHCHECK's --options and its command words."""
        options: dict[str, str] = {}
        rest = self.last("HEALTHCHECK")
        while rest.startswith("--"):
            option, _, rest = rest.partition(" ")
            key, _, value = option[2:].partition("=")
            options[key] = value
            rest = rest.strip()
        assert rest.startswith("CMD "), rest
        return options, command_words(rest[4:].strip())

    @property
    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for args in self.all("ENV"):
            for word in shlex.split(args):
                key, sep, value = word.partition("=")
                assert sep, f"ENV {args!r}: use KEY=VALUE"
                values[key] = value
        return values

    @property
    def volumes(self) -> list[str]:
        return [v for args in self.all("VOLUME") for v in command_words(args)]


@pytest.fixture(scope="module")
def image() -> Image:
    return Image(DOCKERFILE.read_text(encoding="utf-8"))


def in_container(value: str, root: Path) -> str:
    """A path of the image's file system, mapped under ``root`` (``/app/data`` -> root/data)."""
    if value == APP:
        return str(root)
    if value.startswith(APP + "/"):
        return str(root / value[len(APP) + 1 :])
    return value


def test_dockerfile_builds_the_documented_image(image: Image) -> None:
    """Slim Python 3.12, non-root, `pip install .`, jobs and data as volumes under /app."""
    assert image.last("FROM") == "python:3.12-slim"
    user = image.last("USER")
    assert user not in ("root", "0")
    assert any("pip install ." in args for args in image.all("RUN"))
    assert image.last("WORKDIR") == APP
    assert set(image.volumes) == {f"{APP}/jobs.d", f"{APP}/data"}
    assert image.entrypoint == ["scheduler"]
    assert image.cmd == ["run", "--jobs-dir", f"{APP}/jobs.d", "--data-dir", f"{APP}/data"]
    options, health = image.healthcheck
    assert health == ["scheduler", "health", "--data-dir", f"{APP}/data"]
    assert {"interval", "timeout", "start-period", "retries"} <= set(options)
    env = image.env
    assert image.all("EXPOSE") == [env["SCHEDULER_HEALTH_PORT"]] == ["8080"]
    assert env["SCHEDULER_DATA_DIR"] == f"{APP}/data"
    assert env["SCHEDULER_JOBS_DIR"] == f"{APP}/jobs.d"


def test_dockerfile_sets_up_the_volumes_before_declaring_them(image: Image) -> None:
    """Changes to a path after VOLUME are discarded: the chown of /app/data must come first,
    and the user must exist before USER names it."""
    names = [instr for instr, _ in image.instructions]
    volume_at = names.index("VOLUME")
    chown_at = max(
        i
        for i, (instr, args) in enumerate(image.instructions)
        if "chown" in args and instr == "RUN"
    )
    assert chown_at < volume_at
    useradd = next(args for instr, args in image.instructions if "useradd" in args)
    assert f"--uid {image.last('USER')}" in useradd


def _glob_regex(pattern: str) -> str:
    """A .dockerignore pattern as a regex over '/'-separated paths (Go's filepath.Match
    plus '**' for any number of folders)."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:[^/]*/)*", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return out


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Whether Docker leaves ``path`` (relative, '/'-separated) out of the build context:
    the last matching pattern wins, '!' re-includes, a folder's match covers its files."""
    excluded = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _glob_regex(pattern.removeprefix("!").strip("/"))
        if any(re.fullmatch(regex, p) for p in prefixes):
            excluded = not negate
    return excluded


def test_dockerignore_keeps_what_the_image_copies_and_drops_the_rest(image: Image) -> None:
    """Every COPY source is in the build context; venvs, git, data and caches are not."""
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = [w for args in image.all("COPY") for w in command_words(args)[:-1]]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        root = REPO / source
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for f in files:
            rel = f.relative_to(REPO).as_posix()
            if "__pycache__" in rel or rel.endswith(".pyc"):
                assert dockerignore_excludes(patterns, rel), rel
            else:
                assert not dockerignore_excludes(patterns, rel), rel
    for left_out in (".venv/bin/python", ".git/HEAD", "data/scheduler.db", "tests/__init__.py"):
        assert dockerignore_excludes(patterns, left_out), left_out
    # `pip install .` needs the package metadata and the readme it names.
    assert {"pyproject.toml", "README.md", "scheduler/"} <= set(sources)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _json_lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").split("\n")[:-1]:
        with contextlib.suppress(ValueError):
            value = json.loads(line)
            if isinstance(value, dict):
                out.append(value)
    return out


def _http_status(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@contextlib.contextmanager
def started(argv: list[str], cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A process whose stdout/stderr go to cwd/out.log and cwd/err.log; killed if left."""
    with (cwd / "out.log").open("wb") as out, (cwd / "err.log").open("wb") as err:
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_image_entrypoint_and_healthcheck_run_for_real(
    image: Image, tmp_path: Path, redis_url: str
) -> None:
    """The container's commands, with /app mapped to a temp dir: health fails before the
    watcher runs, the ENTRYPOINT + CMD start it on the image's jobs, health and /healthz then
    pass, and SIGTERM stops it with exit 0; health fails again afterwards."""
    root = tmp_path / "app"
    root.mkdir()
    for copied in ("jobs.d", "examples"):  # what the image COPYs into /app
        shutil.copytree(REPO / copied, root / copied)
    env = clean_env({key: in_container(value, root) for key, value in image.env.items()})
    env["SCHEDULER_HEALTH_PORT"] = "0"  # any free port; the log says which
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(REPO)])
    _, health_words = image.healthcheck
    health = scheduler_argv([in_container(w, root) for w in health_words[1:]])
    workdir = Path(in_container(image.last("WORKDIR"), root))

    before = run(health, workdir, env)
    assert before.returncode == 1, before
    assert "unhealthy" in before.stdout

    command = [*image.entrypoint, *image.cmd]
    assert command[0] == "scheduler"
    argv = scheduler_argv([in_container(w, root) for w in command[1:]])
    # The image has no embedded Redis: it is always given one, and workers run elsewhere.
    argv += ["--redis-url", redis_url, "--workers", "0"]
    with started(argv, workdir, env) as proc:

        def event(name: str) -> dict[str, Any] | None:
            if proc.poll() is not None:
                pytest.fail(
                    f"the watcher exited with {proc.returncode}:\n"
                    + (workdir / "err.log").read_text(errors="replace")[-3000:]
                )
            return next((r for r in _json_lines(workdir / "out.log") if r["event"] == name), None)

        started_event = wait_for(lambda: event("watcher.started"), timeout=20)
        shipped = run(scheduler_argv(["list", "--format", "json"]), workdir, env)
        assert started_event["jobs"] == len(json.loads(shipped.stdout)) > 0
        assert started_event["jobs_dir"] == str(root / "jobs.d")
        port = wait_for(lambda: event("healthz.listening"))["port"]

        during = run(health, workdir, env)
        assert during.returncode == 0, during
        assert during.stdout.startswith("ok: watcher running")
        assert _http_status(port) == 200
        assert (root / "data" / "scheduler.db").exists()

        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_WITHIN + 5) == 0
        assert time.monotonic() - t0 < STOP_WITHIN
    assert any(r["event"] == "watcher.stopped" for r in _json_lines(workdir / "out.log"))
    after = run(health, workdir, env)
    assert after.returncode == 1, after


# --- deploy/compose.yaml -----------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    docs = list(yaml.safe_load_all(COMPOSE.read_text(encoding="utf-8")))
    assert len(docs) == 1
    data: dict[str, Any] = docs[0]
    return data


def test_compose_has_redis_a_watcher_and_two_workers(compose: dict[str, Any]) -> None:
    """redis, watcher (run, REDIS_URL, jobs and data volumes, health port), 2 workers."""
    services = compose["services"]
    assert set(services) == {"redis", "watcher", "worker"}
    redis_url = "redis://redis:6379/0"

    watcher = services["watcher"]
    assert watcher["command"][:5] == ["run", "--jobs-dir", "/app/jobs.d", "--data-dir", "/app/data"]
    assert watcher["command"][5:] == ["--health-port", "8080"]
    assert watcher["environment"]["REDIS_URL"] == redis_url
    assert "../jobs.d:/app/jobs.d:ro" in watcher["volumes"]
    assert "scheduler-data:/app/data" in watcher["volumes"]
    assert watcher["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "healthcheck" not in watcher  # the image's HEALTHCHECK applies

    worker = services["worker"]
    assert worker["command"] == ["worker", "default"]
    assert worker["deploy"]["replicas"] == 2
    assert worker["environment"]["REDIS_URL"] == redis_url
    assert worker["healthcheck"] == {"disable": True}  # no heartbeat in a worker
    assert worker["image"] == watcher["image"]

    assert services["redis"]["image"].startswith("redis:")
    assert "--appendonly" in services["redis"]["command"]
    assert set(compose["volumes"]) == {"redis-data", "scheduler-data"}


def test_compose_paths_point_into_this_repository(compose: dict[str, Any]) -> None:
    """Relative paths resolve against deploy/: the build context has the Dockerfile and the
    mounted jobs folder exists and validates."""
    base = COMPOSE.parent
    for name in ("watcher", "worker"):
        assert (base / compose["services"][name]["build"] / "Dockerfile").is_file()
    jobs = (base / "../jobs.d").resolve()
    assert jobs == REPO / "jobs.d"
    result = run(scheduler_argv(["validate", "--jobs-dir", str(jobs)]), REPO)
    assert result.returncode == 0, result.stdout


def test_compose_commands_are_cli_commands(compose: dict[str, Any], tmp_path: Path) -> None:
    """Each service's command parses with the real CLI (checked with --help after it)."""
    for name in ("watcher", "worker"):
        words = compose["services"][name]["command"]
        result = run(scheduler_argv([words[0], "--help"]), tmp_path)
        assert result.returncode == 0, (name, result.stderr)
        for option in (w for w in words if w.startswith("--")):
            assert option in result.stdout, (name, option)


# --- deploy/kubernetes.yaml --------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(KUBERNETES.read_text(encoding="utf-8")) if d]
    by_key = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert len(by_key) == len(docs), "two objects with the same kind and name"
    return by_key


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: dict[str, Any] = containers[0]
    return container


def test_kubernetes_objects_and_the_watcher(manifests: dict[tuple[str, str], Any]) -> None:
    """A ConfigMap of jobs mounted at /app/jobs.d, a PVC at /app/data, one watcher (Recreate)
    probed on /healthz at the --health-port it is given, and REDIS_URL naming the Service."""
    assert set(manifests) == {
        ("ConfigMap", "scheduler-jobs"),
        ("PersistentVolumeClaim", "scheduler-data"),
        ("Deployment", "scheduler-watcher"),
        ("Deployment", "scheduler-worker"),
        ("Service", "redis"),
        ("PersistentVolumeClaim", "redis-data"),
        ("Deployment", "redis"),
    }
    watcher = manifests[("Deployment", "scheduler-watcher")]
    spec = watcher["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"]["type"] == "Recreate"
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001

    container = _container(watcher)
    args = container["args"]
    assert args[:5] == ["run", "--jobs-dir", "/app/jobs.d", "--data-dir", "/app/data"]
    port = int(args[args.index("--health-port") + 1])
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    probe = container["livenessProbe"]["httpGet"]
    assert probe["path"] == "/healthz"
    assert ports[probe["port"]] == port == 8080

    env = {e["name"]: e["value"] for e in container["env"]}
    service = manifests[("Service", "redis")]
    assert (
        env["REDIS_URL"]
        == f"redis://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/0"
    )

    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/app/jobs.d"]]["configMap"]["name"] == "scheduler-jobs"
    claim = volumes[mounts["/app/data"]]["persistentVolumeClaim"]["claimName"]
    assert ("PersistentVolumeClaim", claim) in manifests


def test_kubernetes_workers_and_redis(manifests: dict[tuple[str, str], Any]) -> None:
    """Workers run `worker default` against the same Redis; the Service selects the Redis pod."""
    worker = manifests[("Deployment", "scheduler-worker")]
    assert worker["spec"]["replicas"] >= 2
    container = _container(worker)
    assert container["args"] == ["worker", "default"]
    watcher_env = _container(manifests[("Deployment", "scheduler-watcher")])["env"]
    assert container["env"] == watcher_env
    assert container["image"] == _container(manifests[("Deployment", "scheduler-watcher")])["image"]

    redis_pod = manifests[("Deployment", "redis")]["spec"]["template"]
    selector = manifests[("Service", "redis")]["spec"]["selector"]
    assert selector.items() <= redis_pod["metadata"]["labels"].items()
    assert _container(manifests[("Deployment", "redis")])["ports"][0]["containerPort"] == 6379


def test_kubernetes_configmap_jobs_validate(
    manifests: dict[tuple[str, str], Any], tmp_path: Path
) -> None:
    """The ConfigMap's files, as the pod sees them, are valid job files."""
    data = manifests[("ConfigMap", "scheduler-jobs")]["data"]
    assert data
    jobs = tmp_path / "jobs.d"
    jobs.mkdir()
    for key, text in data.items():
        assert re.fullmatch(r"[-._a-zA-Z0-9]+\.ya?ml", key), key
        (jobs / key).write_text(text, encoding="utf-8")
    result = run(scheduler_argv(["validate", "--format", "json"]), tmp_path)
    assert result.returncode == 0, result.stdout
    assert json.loads(result.stdout)["jobs"] == len(data)


def _atomic_write(jobs: Path, files: dict[str, str], stamp: str) -> None:
    """Publish ``files`` into ``jobs`` as the kubelet updates a ConfigMap volume: a new
    hidden timestamped folder, the ``..data`` symlink swapped by rename, one visible symlink
    per key, then the old folder removed."""
    new_dir = jobs / f"..{stamp}"
    new_dir.mkdir()
    for key, text in files.items():
        (new_dir / key).write_text(text, encoding="utf-8")
    old = os.readlink(jobs / "..data") if (jobs / "..data").is_symlink() else None
    (jobs / "..data_tmp").symlink_to(new_dir.name)
    os.replace(jobs / "..data_tmp", jobs / "..data")
    for key in files:
        link = jobs / key
        if not link.is_symlink():
            link.symlink_to(f"..data/{key}")
    for link in jobs.iterdir():
        if link.is_symlink() and not link.name.startswith("..") and link.name not in files:
            link.unlink()
    if old is not None:
        shutil.rmtree(jobs / old)


def test_watcher_follows_a_configmap_volume_update(tmp_path: Path, redis_url: str) -> None:
    """The watcher reads a ConfigMap mount (symlinks into hidden folders) and applies an
    update (changed, added and removed keys) with no file rejected."""
    jobs = tmp_path / "jobs.d"
    jobs.mkdir()
    one = "name: one\ntask: examples.bots:heartbeat\nschedule:\n  interval: 1h\n"
    two = "name: two\ntask: examples.bots:heartbeat\nschedule:\n  interval: 2h\n"
    _atomic_write(jobs, {"one.yaml": one, "two.yaml": two}, "2026_03_28_12_00_00.000000001")
    argv = scheduler_argv(["run", "--jobs-dir", "jobs.d", "--data-dir", "data"])
    argv += ["--redis-url", redis_url, "--workers", "0"]
    with started(argv, tmp_path, clean_env()) as proc:
        log = tmp_path / "out.log"

        def events(name: str) -> list[dict[str, Any]]:
            if proc.poll() is not None:
                pytest.fail(f"the watcher exited with {proc.returncode}")
            return [r for r in _json_lines(log) if r["event"] == name]

        assert wait_for(lambda: events("watcher.started"), timeout=20)[0]["jobs"] == 2
        mark = len(_json_lines(log))
        three = "name: three\ntask: examples.bots:heartbeat\nschedule:\n  daily: '09:00'\n"
        changed = one.replace("1h", "30m")
        _atomic_write(
            jobs, {"one.yaml": changed, "three.yaml": three}, "2026_03_28_12_01_00.000000002"
        )

        def applied() -> bool:
            later = _json_lines(log)[mark:]
            loaded = {r["job"] for r in later if r["event"] == "config.job_loaded"}
            removed = {r["job"] for r in later if r["event"] == "config.job_removed"}
            return {"one", "three"} <= loaded and "two" in removed

        wait_for(applied, timeout=10, message=lambda: log.read_text()[-3000:])
        time.sleep(1.5)  # anything a late event would still do
        later = _json_lines(log)[mark:]
        assert [r for r in later if r["event"] == "config.rejected"] == []
        files = {r["file"] for r in later if r["event"] == "config.job_loaded"}
        assert all(".." not in f for f in files), files
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(STOP_WITHIN + 5) == 0
    listed = run(scheduler_argv(["list", "--format", "json"]), tmp_path)
    assert sorted(j["name"] for j in json.loads(listed.stdout)) == ["one", "three"]


# --- .pre-commit-hooks.yaml --------------------------------------------------------------


@pytest.fixture(scope="module")
def hooks() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert isinstance(data, list)
    return {hook["id"]: hook for hook in data}


def test_pre_commit_hooks_are_declared_as_documented(hooks: dict[str, dict[str, Any]]) -> None:
    """scheduler-validate: `scheduler validate` on the changed jobs.d files (python hook)."""
    hook = hooks["scheduler-validate"]
    assert hook["entry"] == "scheduler validate"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is True
    assert hook["files"] == r"^jobs\.d/.*\.ya?ml$"
    for hook in hooks.values():
        assert {"id", "name", "entry", "language", "files"} <= set(hook)
        pattern = re.compile(hook["files"])
        assert pattern.search("jobs.d/a.yaml")
        assert pattern.search("jobs.d/team/b.yml")
        assert not pattern.search("src/jobs.d/a.yaml")
        assert not pattern.search("jobs.d/notes.md")


def _hook_run(
    hook: dict[str, Any], staged: list[str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``hook`` as pre-commit would on the ``staged`` files (its `files` filter applied)."""
    words = shlex.split(hook["entry"])
    assert words[0] == "scheduler"
    chosen = [f for f in staged if re.search(hook["files"], f)]
    args = [*words[1:], *(chosen if hook.get("pass_filenames", True) else [])]
    return run(scheduler_argv(args), cwd)


def test_pre_commit_hooks_pass_good_files_and_fail_bad_ones(
    hooks: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    """On a repository's files: good job files pass (exit 0); a bad one fails (exit 1) with
    its file and line; a name used twice is caught by the whole-folder hook."""
    (tmp_path / "jobs.d/team").mkdir(parents=True)
    (tmp_path / "jobs.d/tick.yaml").write_text(GOOD_JOB, encoding="utf-8")
    (tmp_path / "jobs.d/team/other.yml").write_text(
        GOOD_JOB.replace("tick", "other"), encoding="utf-8"
    )
    (tmp_path / "README.md").write_text("not a job\n", encoding="utf-8")
    staged = ["jobs.d/tick.yaml", "jobs.d/team/other.yml", "README.md"]
    for hook in hooks.values():
        assert _hook_run(hook, staged, tmp_path).returncode == 0

    (tmp_path / "jobs.d/broken.yaml").write_text(BAD_JOB, encoding="utf-8")
    for hook in hooks.values():
        result = _hook_run(hook, [*staged, "jobs.d/broken.yaml"], tmp_path)
        assert result.returncode == 1
        assert "jobs.d/broken.yaml:4:" in result.stdout
        assert "schedule.cron" in result.stdout
    (tmp_path / "jobs.d/broken.yaml").unlink()

    # The changed file alone looks fine; only the whole folder shows the clash.
    (tmp_path / "jobs.d/dup.yaml").write_text(GOOD_JOB, encoding="utf-8")
    assert _hook_run(hooks["scheduler-validate"], ["jobs.d/dup.yaml"], tmp_path).returncode == 0
    whole = _hook_run(hooks["scheduler-validate-all"], ["jobs.d/dup.yaml"], tmp_path)
    assert whole.returncode == 1
    assert "duplicate job name 'tick'" in whole.stdout


# --- docs/workflows/scheduler.yml --------------------------------------------------------


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return data


def _steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    (job,) = workflow["jobs"].values()
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def test_workflow_validates_and_comments_the_plan(workflow: dict[Any, Any]) -> None:
    """On pull requests: full-history checkout, Python, install, `validate --format github`,
    `plan --base origin/<base> --format markdown`, and a sticky comment of that plan."""
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert "pull_request" in triggers
    assert workflow["permissions"]["pull-requests"] == "write"
    steps = _steps(workflow)
    uses = [s.get("uses", "") for s in steps]
    checkout = steps[uses.index("actions/checkout@v4")]
    assert checkout["with"]["fetch-depth"] == 0
    assert "actions/setup-python@v5" in uses
    runs = "\n".join(s.get("run", "") for s in steps)
    assert "pip install" in runs
    assert re.search(r"scheduler validate .*--format github", runs)
    assert 'scheduler plan --base "origin/${{ github.base_ref }}"' in runs
    assert "--format markdown" in runs
    comment = next(s for s in steps if "sticky-pull-request-comment" in s.get("uses", ""))
    plan = next(s for s in steps if "scheduler plan" in s.get("run", ""))
    assert comment["with"]["path"] == f"${{{{ steps.{plan['id']}.outputs.file }}}}"
    assert comment["with"]["header"]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def _step_script(step: dict[str, Any], base_ref: str) -> str:
    script: str = step["run"]
    script = script.replace("${{ github.base_ref }}", base_ref)
    assert "${{" not in script, script
    return script


@pytest.fixture
def pull_request(tmp_path: Path) -> Path:
    """A clone as actions/checkout leaves it for a pull request: origin/main has the base
    jobs, the working tree has the pull request's."""
    origin = tmp_path / "origin"
    (origin / "jobs.d").mkdir(parents=True)
    (origin / "jobs.d/tick.yaml").write_text(GOOD_JOB, encoding="utf-8")
    _git(origin, "init", "-q", "-b", "main")
    _git(origin, "add", "-A")
    _git(origin, "commit", "-q", "-m", "base")
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", str(origin), str(clone))
    _git(clone, "checkout", "-q", "-b", "pr")
    (clone / "jobs.d/tick.yaml").write_text(GOOD_JOB.replace("1h", "1m"), encoding="utf-8")
    (clone / "jobs.d/new.yaml").write_text(GOOD_JOB.replace("tick", "new"), encoding="utf-8")
    _git(clone, "add", "-A")
    _git(clone, "commit", "-q", "-m", "change")
    return clone


def _actions_env(workflow: dict[Any, Any], tmp_path: Path) -> dict[str, str]:
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    env = clean_env({k: str(v) for k, v in workflow.get("env", {}).items()})
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["RUNNER_TEMP"] = str(temp)
    env["GITHUB_STEP_SUMMARY"] = str(temp / "summary.md")
    env["GITHUB_OUTPUT"] = str(temp / "output")
    return env


def test_workflow_validate_step_runs(
    workflow: dict[Any, Any], pull_request: Path, tmp_path: Path
) -> None:
    """The validate step's script passes on valid jobs and annotates an invalid one."""
    if not Path(sys.executable).with_name("scheduler").exists():
        pytest.skip("needs the scheduler console script next to this Python")
    step = next(s for s in _steps(workflow) if "scheduler validate" in s.get("run", ""))
    env = _actions_env(workflow, tmp_path)
    script = _step_script(step, "main")
    ok = run(["bash", "-e", "-c", script], pull_request, env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    (pull_request / "jobs.d/broken.yaml").write_text(BAD_JOB, encoding="utf-8")
    bad = run(["bash", "-e", "-c", script], pull_request, env)
    assert bad.returncode == 1
    assert bad.stdout.startswith("::error file=jobs.d/broken.yaml,line=4,col=")


def test_workflow_plan_step_runs(
    workflow: dict[Any, Any], pull_request: Path, tmp_path: Path
) -> None:
    """The plan step's script writes the markdown plan, the summary and the step output."""
    if not Path(sys.executable).with_name("scheduler").exists():
        pytest.skip("needs the scheduler console script next to this Python")
    probe = run(scheduler_argv(["plan", "--help"]), pull_request)
    if probe.returncode != 0 or "--base" not in probe.stdout:
        pytest.skip("`scheduler plan --base` is not available in this tree yet")
    step = next(s for s in _steps(workflow) if "scheduler plan" in s.get("run", ""))
    env = _actions_env(workflow, tmp_path)
    result = run(["bash", "-e", "-c", _step_script(step, "main")], pull_request, env)
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = dict(
        line.split("=", 1) for line in Path(env["GITHUB_OUTPUT"]).read_text().splitlines()
    )
    plan = Path(outputs["file"]).read_text(encoding="utf-8")
    assert "new" in plan
    assert "tick" in plan
    assert Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8") == plan
