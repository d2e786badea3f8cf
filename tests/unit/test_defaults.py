"""Defaults files (``_defaults.yaml``), how they merge under jobs, and the task rules.

Errors are checked by their (file, line, column, path), counted 1-based from the YAML text
written in each test.
"""

from __future__ import annotations

import pytest

from scheduler.config.defaults import DefaultsFile, DefaultsTree, merge, parse_defaults
from scheduler.config.loader import FileContext, parse_job_documents
from scheduler.config.project import TaskRules
from scheduler.core.catalog import FileResult

ROOT_DEFAULTS = "jobs.d/_defaults.yaml"
SUB_DEFAULTS = "jobs.d/bots/_defaults.yaml"
JOB_FILE = "jobs.d/bots/birthday.yaml"
JOB = "name: greet\ntask: examples.bots:birthday\nschedule:\n  cron: '0 9 * * *'\n"


def located(parsed: DefaultsFile) -> list[tuple[str, int, int, str]]:
    """The (file, line, column, path) of each error of a parsed defaults file."""
    return [(e.file, e.line, e.column, e.path) for e in parsed.errors]


def tree_with(**files: str) -> DefaultsTree:
    """A defaults tree from folder -> defaults text (``root`` is the jobs directory)."""
    tree = DefaultsTree()
    for folder, text in files.items():
        rel = "" if folder == "root" else folder
        source = f"jobs.d/{rel}/_defaults.yaml" if rel else ROOT_DEFAULTS
        tree.set(rel or ".", parse_defaults(text, source))
    return tree


def load(text: str, tree: DefaultsTree | None = None, rules: TaskRules | None = None) -> FileResult:
    """Parse ``text`` as JOB_FILE under ``tree``'s defaults and ``rules``."""
    defaults = (tree or DefaultsTree()).for_file("bots/birthday.yaml")
    return parse_job_documents(text, JOB_FILE, context=FileContext(defaults, rules or TaskRules()))


# --- parse_defaults: accepted --------------------------------------------------------


def test_defaults_file_with_shared_settings_is_accepted():
    """queue, enabled and params are accepted as defaults, as written."""
    parsed = parse_defaults("queue: bots\nenabled: false\nparams:\n  dry_run: true\n", "d.yaml")
    assert parsed.errors == []
    assert parsed.data == {"queue": "bots", "enabled": False, "params": {"dry_run": True}}


def test_timezone_and_jitter_shorthands_move_into_schedule():
    """Top-level timezone and jitter are filed under schedule."""
    parsed = parse_defaults("timezone: Europe/Paris\njitter: 5m\nqueue: q\n", "d.yaml")
    assert parsed.errors == []
    assert parsed.data == {
        "queue": "q",
        "schedule": {"timezone": "Europe/Paris", "jitter": "5m"},
    }


def test_schedule_timezone_written_in_full_is_accepted():
    """schedule.timezone and schedule.jitter may also be written under schedule."""
    parsed = parse_defaults("schedule:\n  timezone: Asia/Tokyo\n  jitter: 30s\n", "d.yaml")
    assert parsed.errors == []
    assert parsed.data == {"schedule": {"timezone": "Asia/Tokyo", "jitter": "30s"}}


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_defaults_file_sets_nothing(text):
    """An empty defaults file is valid and sets nothing."""
    parsed = parse_defaults(text, "d.yaml")
    assert parsed.errors == []
    assert parsed.data == {}


# --- parse_defaults: refused, located ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("queue: q\nname: shared\n", (2, 1, "name")),
        ("queue: q\ntask: pkg.mod:f\n", (2, 1, "task")),
        ("queue: q\n\ndescription: all of them\n", (3, 1, "description")),
        ("previous_names: [old]\n", (1, 1, "previous_names")),
    ],
)
def test_job_identity_cannot_be_a_default(text, where):
    """name, task, description and previous_names are refused, located on their key."""
    parsed = parse_defaults(text, ROOT_DEFAULTS)
    assert located(parsed) == [(ROOT_DEFAULTS, *where)]
    assert "belongs to each job" in parsed.errors[0].message
    assert parsed.data == {}


@pytest.mark.parametrize("kind", ["cron: '0 9 * * *'", "interval: 5m", "at: 2030-01-01T00:00:00"])
def test_schedule_kind_cannot_be_a_default(kind):
    """A schedule kind under schedule is refused, located on its key, naming what is allowed."""
    text = f"queue: q\nschedule:\n  timezone: UTC\n  {kind}\n"
    parsed = parse_defaults(text, ROOT_DEFAULTS)
    key = kind.split(":")[0]
    assert located(parsed) == [(ROOT_DEFAULTS, 4, 3, f"schedule.{key}")]
    assert "only timezone and jitter" in parsed.errors[0].message
    assert parsed.data == {}


def test_every_refused_key_is_reported():
    """A file with several refused keys reports each of them."""
    parsed = parse_defaults("name: a\ntask: b:c\nschedule:\n  daily: '09:00'\n", ROOT_DEFAULTS)
    assert [e.path for e in parsed.errors] == ["name", "task", "schedule.daily"]


def test_bad_timezone_shorthand_is_located_on_its_value_as_written():
    """An unknown time zone in the shorthand is reported at 'timezone', on its value."""
    parsed = parse_defaults("queue: q\ntimezone: Mars/Olympus\n", ROOT_DEFAULTS)
    assert located(parsed) == [(ROOT_DEFAULTS, 2, 11, "timezone")]
    assert "Mars/Olympus" in parsed.errors[0].message


def test_bad_jitter_shorthand_is_located_on_its_value():
    """A jitter that is not a duration is reported at 'jitter', on its value."""
    parsed = parse_defaults("jitter: banana\n", ROOT_DEFAULTS)
    assert located(parsed) == [(ROOT_DEFAULTS, 1, 9, "jitter")]


def test_bad_value_type_in_defaults_is_located():
    """A wrong type for a default (params not a mapping) is located on the value."""
    parsed = parse_defaults("queue: q\nparams: 5\n", ROOT_DEFAULTS)
    assert located(parsed) == [(ROOT_DEFAULTS, 2, 9, "params")]


def test_unknown_field_in_defaults_is_reported():
    """A misspelt field is reported at its path."""
    parsed = parse_defaults("queu: bots\n", ROOT_DEFAULTS)
    assert [(e.line, e.path) for e in parsed.errors] == [(1, "queu")]


def test_schedule_that_is_not_a_mapping_is_refused():
    """``schedule: 5`` in a defaults file is refused at schedule."""
    parsed = parse_defaults("schedule: 5\n", ROOT_DEFAULTS)
    assert [(e.line, e.path) for e in parsed.errors] == [(1, "schedule")]


def test_defaults_that_are_not_a_mapping_are_refused():
    """A defaults file holding a list is refused."""
    parsed = parse_defaults("- queue\n- bots\n", ROOT_DEFAULTS)
    assert len(parsed.errors) == 1
    assert "mapping" in parsed.errors[0].message


def test_second_document_in_a_defaults_file_is_refused():
    """A defaults file holds one document; a second one is reported where it starts."""
    parsed = parse_defaults("queue: a\n---\nqueue: b\n", ROOT_DEFAULTS)
    assert [(e.line, e.path) for e in parsed.errors] == [(3, "")]
    assert parsed.data == {}


def test_yaml_syntax_error_in_defaults_is_reported_with_its_file():
    """Broken YAML is an error naming the defaults file."""
    parsed = parse_defaults("queue: [bots\n", SUB_DEFAULTS)
    assert parsed.errors
    assert all(e.file == SUB_DEFAULTS for e in parsed.errors)
    assert parsed.data == {}


def test_malformed_env_reference_in_default_params_is_located():
    """A malformed ${...} reference in default params is reported at the param."""
    parsed = parse_defaults("params:\n  token: ${TOKEN}\n", ROOT_DEFAULTS)
    assert [(e.line, e.path) for e in parsed.errors] == [(2, "params.token")]


# --- merge ---------------------------------------------------------------------------


def test_merge_job_value_wins_over_default():
    """A value the job sets replaces the default's."""
    assert merge({"queue": "bots", "enabled": False}, {"queue": "mine"}) == {
        "queue": "mine",
        "enabled": False,
    }


def test_merge_mappings_key_by_key_at_every_depth():
    """Nested mappings merge key by key, the job's keys winning."""
    defaults = {"params": {"a": 1, "b": {"x": 1, "y": 2}}, "schedule": {"timezone": "UTC"}}
    job = {"params": {"b": {"y": 3}, "c": 4}, "schedule": {"cron": "* * * * *"}}
    assert merge(defaults, job) == {
        "params": {"a": 1, "b": {"x": 1, "y": 3}, "c": 4},
        "schedule": {"timezone": "UTC", "cron": "* * * * *"},
    }


def test_merge_replaces_lists_whole():
    """A list in the job replaces the default's list; it is not appended to."""
    assert merge({"params": {"to": ["a", "b"]}}, {"params": {"to": ["c"]}}) == {
        "params": {"to": ["c"]}
    }


def test_merge_replaces_a_mapping_by_a_scalar_and_back():
    """A scalar replaces a default mapping, and a mapping replaces a default scalar."""
    assert merge({"params": {"a": 1}}, {"params": None}) == {"params": None}
    assert merge({"params": 5}, {"params": {"a": 1}}) == {"params": {"a": 1}}


def test_merge_does_not_change_its_inputs():
    """merge leaves both the defaults and the job unchanged."""
    defaults = {"params": {"a": 1, "n": {"x": 1}}}
    job = {"params": {"n": {"y": 2}}}
    merge(defaults, job)
    assert defaults == {"params": {"a": 1, "n": {"x": 1}}}
    assert job == {"params": {"n": {"y": 2}}}


# --- DefaultsTree --------------------------------------------------------------------


def test_tree_merges_ancestors_outer_to_inner():
    """A sub-folder's defaults win over the root's, and params merge across both."""
    tree = tree_with(
        root="timezone: Europe/Paris\nqueue: default\nparams:\n  dry_run: true\n  n: 1\n",
        bots="queue: bots\nparams:\n  n: 2\n",
    )
    defaults = tree.for_file("bots/birthday.yaml")
    assert defaults.broken is None
    assert defaults.files == (ROOT_DEFAULTS, SUB_DEFAULTS)
    assert defaults.data == {
        "queue": "bots",
        "params": {"dry_run": True, "n": 2},
        "schedule": {"timezone": "Europe/Paris"},
    }


def test_tree_applies_a_folders_defaults_only_below_it():
    """A file beside the sub-folder gets only the root's defaults."""
    tree = tree_with(root="queue: default\n", bots="queue: bots\n")
    assert tree.for_file("heartbeat.yaml").data == {"queue": "default"}
    assert tree.for_file("heartbeat.yaml").files == (ROOT_DEFAULTS,)
    assert tree.for_file("other/x.yaml").data == {"queue": "default"}


def test_tree_applies_defaults_to_deeper_folders():
    """A deeper file gets the defaults of every folder on its way, skipping folders without."""
    tree = tree_with(root="queue: default\n", bots="params:\n  a: 1\n")
    defaults = tree.for_file("bots/deep/er/job.yaml")
    assert defaults.data == {"queue": "default", "params": {"a": 1}}
    assert defaults.files == (ROOT_DEFAULTS, SUB_DEFAULTS)


def test_tree_without_defaults_gives_empty_defaults():
    """With no defaults file, a job file gets no defaults."""
    defaults = DefaultsTree().for_file("bots/birthday.yaml")
    assert defaults.data == {}
    assert defaults.files == ()
    assert defaults.broken is None


def test_tree_folder_names_are_normalised():
    """'./bots/' and 'bots' name the same folder."""
    tree = DefaultsTree()
    tree.set("./bots/", parse_defaults("queue: bots\n", SUB_DEFAULTS))
    assert tree.for_file("bots/job.yaml").data == {"queue": "bots"}


def test_broken_root_defaults_mark_every_file_below_as_broken():
    """A broken root defaults file makes every job file's defaults broken, naming it."""
    tree = tree_with(root="name: nope\n", bots="queue: bots\n")
    for path in ("job.yaml", "bots/birthday.yaml"):
        defaults = tree.for_file(path)
        assert defaults.broken == ROOT_DEFAULTS
        assert defaults.data == {}


def test_broken_sub_defaults_do_not_affect_files_outside_it():
    """A broken sub-folder defaults file breaks only the files below it."""
    tree = tree_with(root="queue: default\n", bots="schedule:\n  cron: '* * * * *'\n")
    assert tree.for_file("bots/birthday.yaml").broken == SUB_DEFAULTS
    assert tree.for_file("heartbeat.yaml").broken is None
    assert tree.for_file("heartbeat.yaml").data == {"queue": "default"}


def test_defaults_digest_changes_with_the_data():
    """The digest of two different sets of defaults differs, and is stable for equal ones."""
    one = tree_with(root="queue: a\n").for_file("x.yaml")
    same = tree_with(root="queue: a\n").for_file("x.yaml")
    other = tree_with(root="queue: b\n").for_file("x.yaml")
    assert one.digest == same.digest
    assert one.digest != other.digest


# --- job documents under defaults ----------------------------------------------------


def test_job_without_timezone_gets_the_defaults_timezone():
    """A job that sets no timezone runs in the defaults' time zone."""
    result = load(JOB, tree_with(root="timezone: Europe/Paris\n"))
    assert result.errors == []
    (job,) = result.jobs
    assert job.spec.schedule.timezone == "Europe/Paris"
    assert job.defaults_files == (ROOT_DEFAULTS,)


def test_jobs_own_timezone_wins_over_the_default():
    """A job's own schedule.timezone wins over the defaults'."""
    text = JOB + "  timezone: America/New_York\n"
    (job,) = load(text, tree_with(root="timezone: Europe/Paris\n")).jobs
    assert job.spec.schedule.timezone == "America/New_York"


def test_job_without_defaults_runs_in_utc():
    """Without defaults the same job's time zone is UTC (the defaults are what change it)."""
    (job,) = load(JOB).jobs
    assert job.spec.schedule.timezone == "UTC"


def test_job_params_merge_key_by_key_over_default_params():
    """Default params the job does not set are kept; the ones it sets win."""
    tree = tree_with(
        root="params:\n  dry_run: true\n  max_messages: 5\n",
        bots="params:\n  process_late: true\n",
    )
    text = JOB + "params:\n  max_messages: 20\n"
    (job,) = load(text, tree).jobs
    assert job.spec.params == {"dry_run": True, "max_messages": 20, "process_late": True}


def test_defaults_apply_to_every_document_of_a_file():
    """Each job document in a file gets the defaults."""
    second = JOB.replace("name: greet", "name: greet-too")
    result = load(JOB + "---\n" + second, tree_with(root="queue: bots\n"))
    assert [(j.name, j.spec.queue) for j in result.jobs] == [
        ("greet", "bots"),
        ("greet-too", "bots"),
    ]


def test_defaults_do_not_supply_a_jobs_schedule_kind():
    """A job without a schedule kind is still invalid under defaults that set a timezone."""
    text = "name: greet\ntask: examples.bots:birthday\n"
    result = load(text, tree_with(root="timezone: Europe/Paris\n"))
    assert not result.ok


def test_job_file_under_broken_defaults_is_rejected_naming_the_defaults_file():
    """A job file under an invalid defaults file is rejected with an error naming it."""
    result = load(JOB, tree_with(root="queue: ok\n", bots="task: pkg.mod:f\n"))
    assert not result.ok
    messages = [e.message for e in result.errors]
    assert any(SUB_DEFAULTS in m for m in messages), messages
    (error,) = [e for e in result.errors if SUB_DEFAULTS in e.message]
    assert (error.file, error.line, error.column) == (JOB_FILE, 1, 1)


def test_job_file_beside_broken_sub_defaults_is_accepted():
    """A broken defaults file in a sub-folder does not reject job files outside it."""
    tree = tree_with(root="queue: ok\n", bots="task: pkg.mod:f\n")
    defaults = tree.for_file("heartbeat.yaml")
    result = parse_job_documents(JOB, "jobs.d/heartbeat.yaml", context=FileContext(defaults))
    assert result.ok
    assert result.jobs[0].spec.queue == "ok"


# --- task rules ----------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["os:system", "subprocess:run", "shutil:rmtree", "os.path:join"])
def test_default_rules_refuse_standard_library_tasks_on_the_task_line(ref):
    """With no allow-list, a stdlib task is refused, located on the task value."""
    text = f"name: evil\ntask: {ref}\nschedule:\n  cron: '0 9 * * *'\n"
    result = load(text)
    assert result.jobs == []
    assert [(e.file, e.line, e.column, e.path) for e in result.errors] == [(JOB_FILE, 2, 7, "task")]
    assert "part of Python itself" in result.errors[0].message
    assert repr(ref.partition(":")[0]) in result.errors[0].message


def test_default_rules_refuse_the_scheduler_itself():
    """With no allow-list, the scheduler's own modules cannot be tasks."""
    assert TaskRules().problem("scheduler.runner:execute") is not None


def test_default_rules_accept_a_project_task():
    """With no allow-list, a task from the project's own package is accepted."""
    assert TaskRules().problem("examples.bots:birthday") is None
    assert load(JOB).ok


def test_allow_list_refuses_a_module_outside_it_on_the_task_line():
    """With allowed=("examples",), another module is refused, naming the settings file."""
    rules = TaskRules(allowed=("examples",), source="pyproject.toml")
    text = "name: other\n\ntask: otherpkg.jobs:run\nschedule:\n  cron: '0 9 * * *'\n"
    result = load(text, rules=rules)
    assert result.jobs == []
    assert [(e.line, e.column, e.path) for e in result.errors] == [(3, 7, "task")]
    message = result.errors[0].message
    assert "'otherpkg.jobs'" in message
    assert "pyproject.toml" in message
    assert "examples" in message


def test_allow_list_accepts_a_task_under_its_prefix():
    """With allowed=("examples",), examples.bots:birthday is accepted."""
    rules = TaskRules(allowed=("examples",), source="pyproject.toml")
    result = load(JOB, rules=rules)
    assert result.errors == []
    assert [j.spec.task for j in result.jobs] == ["examples.bots:birthday"]


@pytest.mark.parametrize(
    ("ref", "allowed"),
    [
        ("examples:f", True),
        ("examples.bots.deep:f", True),
        ("examplesfoo.bots:f", False),
        ("my.examples:f", False),
        ("os:system", False),
    ],
)
def test_allow_list_prefix_matches_whole_module_names(ref, allowed):
    """A prefix allows the module and its sub-modules, not modules that merely start alike."""
    rules = TaskRules(allowed=("examples",), source="scheduler.toml")
    assert (rules.problem(ref) is None) is allowed


def test_allow_list_entry_with_a_function_allows_only_that_function():
    """An entry 'pkg.mod:fn' allows exactly that task and not its neighbours."""
    rules = TaskRules(allowed=("examples.bots:birthday",), source="scheduler.toml")
    assert rules.problem("examples.bots:birthday") is None
    assert rules.problem("examples.bots:visitor") is not None


def test_empty_allow_list_refuses_everything():
    """An explicit empty allow-list allows no task at all."""
    rules = TaskRules(allowed=(), source="scheduler.toml")
    problem = rules.problem("examples.bots:birthday")
    assert problem is not None
    assert "nothing" in problem


def test_non_text_params_key_in_defaults_is_located():
    """A defaults file's params keys are keyword names too: `1:` is an error at the key."""
    parsed = parse_defaults("queue: bots\nparams:\n  1: one\n", ROOT_DEFAULTS)
    assert located(parsed) == [(ROOT_DEFAULTS, 3, 3, "params.1")]
    assert "keyword names must be strings" in parsed.errors[0].message
