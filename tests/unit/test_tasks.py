"""The task API: the @task decorator, how the runner calls a task, and params checking.

The tasks here are small local functions that record what they were called with, so each
test checks the call the runner makes, and the messages a user reads when params are bad.
"""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from scheduler.core.errors import TaskParamsError
from scheduler.tasks import RunContext, call_task, check_params, params_model, task

REF = "tests.unit.test_tasks:job"


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retries: int = Field(default=1, ge=0, le=5)


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    count: int = Field(default=1, ge=1, le=10)
    ratio: float = Field(default=0.5, gt=0.0, lt=1.0)
    flag: bool = False
    token: str = ""
    inner: Inner = Inner()
    headers: dict[str, int] = {}


class Required(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str


def ctx(timezone: str = "UTC", when: datetime | None = None) -> RunContext:
    """A run context for a scheduled run."""
    return RunContext(
        run_id="r-42",
        job="nightly",
        scheduled_for=when or datetime(2026, 6, 1, 9, 0, tzinfo=UTC),
        timezone=timezone,
        trigger="schedule",
    )


def problems_of(model: type[BaseModel], params: dict[str, Any]) -> list[str]:
    """The problems TaskParamsError lists when a task declaring ``model`` gets ``params``."""

    @task(params=model)
    def job(p: BaseModel) -> None:
        raise AssertionError("a task must not run with invalid params")

    with pytest.raises(TaskParamsError) as info:
        call_task(job, REF, params, ctx())
    return info.value.problems


# --- call convention -----------------------------------------------------------------


def test_two_argument_task_gets_validated_params_and_run_context():
    """A decorated task taking two arguments gets the params model and the RunContext."""
    seen: list[Any] = []

    @task(params=Params)
    def job(params: Params, run: RunContext) -> str:
        seen.append((params, run))
        return "done"

    run = ctx()
    assert call_task(job, REF, {"count": 3, "flag": True}, run) == "done"
    ((params, got_run),) = seen
    assert isinstance(params, Params)
    assert params.count == 3
    assert params.flag is True
    assert got_run is run


def test_one_argument_task_gets_only_the_params():
    """A decorated task taking one argument is called with the params model alone."""
    seen: list[Any] = []

    @task(params=Params)
    def job(params: Params) -> int:
        seen.append(params)
        return params.count * 2

    assert call_task(job, REF, {"count": 4}, ctx()) == 8
    assert seen == [Params(count=4)]


def test_params_left_out_take_the_models_defaults():
    """Params the job does not give take the model's default values."""
    seen: list[Params] = []

    @task(params=Params)
    def job(params: Params) -> None:
        seen.append(params)

    call_task(job, REF, {}, ctx())
    assert seen[0].count == 1
    assert seen[0].inner.retries == 1
    assert seen[0].flag is False


def test_nested_params_are_validated_into_the_model():
    """A nested mapping in params becomes the nested model."""
    seen: list[Params] = []

    @task(params=Params)
    def job(params: Params) -> None:
        seen.append(params)

    call_task(job, REF, {"inner": {"retries": 4}, "headers": {"x": 2}}, ctx())
    assert seen[0].inner == Inner(retries=4)
    assert seen[0].headers == {"x": 2}


def test_task_with_var_positional_arguments_gets_the_context():
    """A decorated task taking *args is given both the params and the context."""
    seen: list[tuple[Any, ...]] = []

    @task(params=Params)
    def job(*args: Any) -> None:
        seen.append(args)

    run = ctx()
    call_task(job, REF, {}, run)
    assert len(seen[0]) == 2
    assert seen[0][1] is run


def test_task_with_optional_second_argument_gets_the_context():
    """A decorated task whose second argument has a default still receives the context."""
    seen: list[Any] = []

    @task(params=Params)
    def job(params: Params, run: RunContext | None = None) -> None:
        seen.append(run)

    run = ctx()
    call_task(job, REF, {}, run)
    assert seen == [run]


def test_undecorated_task_is_called_with_keyword_params():
    """A plain callable is called as fn(**params), without the run context."""
    seen: list[dict[str, Any]] = []

    def plain(**kwargs: Any) -> str:
        seen.append(kwargs)
        return "ok"

    assert call_task(plain, REF, {"a": 1, "b": "two"}, ctx()) == "ok"
    assert seen == [{"a": 1, "b": "two"}]


def test_undecorated_task_params_are_not_validated():
    """A plain callable gets its params as given: no model means no type checking."""

    def plain(count: Any = None) -> Any:
        return count

    assert call_task(plain, REF, {"count": "not a number"}, ctx()) == "not a number"


def test_decorated_task_stays_directly_callable():
    """The decorator returns the function itself, callable with a model as before."""

    def job(params: Params, run: RunContext) -> int:
        return params.count

    decorated = task(params=Params)(job)
    assert decorated is job
    assert decorated(Params(count=7), ctx()) == 7


def test_task_not_called_when_params_are_invalid():
    """With invalid params the task body never runs."""
    calls: list[Any] = []

    @task(params=Params)
    def job(params: Params) -> None:
        calls.append(params)

    with pytest.raises(TaskParamsError):
        call_task(job, REF, {"count": 0}, ctx())
    assert calls == []


# --- the decorator -------------------------------------------------------------------


def test_params_model_is_the_declared_model():
    """params_model returns the model a task declared."""

    @task(params=Params)
    def job(params: Params) -> None:
        pass

    assert params_model(job) is Params


def test_params_model_of_a_plain_function_is_none():
    """params_model of an undecorated function is None."""

    def plain(**kwargs: Any) -> None:
        pass

    assert params_model(plain) is None
    assert params_model(print) is None


@pytest.mark.parametrize("bad", [dict, Params(), "Params", None, int])
def test_task_with_a_non_model_raises_type_error(bad):
    """task(params=...) with anything but a pydantic model class raises TypeError."""
    with pytest.raises(TypeError, match="pydantic model class"):
        task(params=bad)


def test_task_without_a_positional_argument_raises_type_error():
    """A task that cannot take its params positionally is refused when decorated."""

    def keyword_only(*, params: Params) -> None:
        pass

    with pytest.raises(TypeError, match="keyword_only"):
        task(params=Params)(keyword_only)


def test_task_needing_more_than_params_and_context_raises_type_error():
    """A task needing a third positional argument is refused when decorated."""

    def three(params: Params, run: RunContext, extra: int) -> None:
        pass

    with pytest.raises(TypeError):
        task(params=Params)(three)


# --- TaskParamsError messages --------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"count": 0}, "params.count: must be >= 1"),
        ({"count": 11}, "params.count: must be <= 10"),
        ({"ratio": 0.0}, "params.ratio: must be > 0.0"),
        ({"ratio": 1.0}, "params.ratio: must be < 1.0"),
        ({"cuont": 2}, "params.cuont: is not a parameter of this task"),
        ({"count": "3"}, "params.count: expected a whole number, got '3'"),
        ({"count": 1.5}, "params.count: expected a whole number, got 1.5"),
        ({"flag": "yes"}, "params.flag: expected true or false, got 'yes'"),
        ({"inner": {"retries": 9}}, "params.inner.retries: must be <= 5"),
        ({"headers": {"x": "1"}}, "params.headers.x: expected a whole number, got '1'"),
    ],
)
def test_invalid_params_message_names_the_field(params, expected):
    """Each invalid value is reported as '<dotted field>: <what is wrong>'."""
    assert problems_of(Params, params) == [expected]


def test_missing_required_param_is_reported():
    """A param the model requires and the job does not give is reported as required."""
    assert problems_of(Required, {}) == ["params.target: is required by the task"]


def test_every_bad_field_is_listed_in_one_error():
    """Several bad params give one error listing each of them."""
    problems = problems_of(Params, {"count": 0, "flag": "no", "extra": 1})
    assert sorted(p.split(":")[0] for p in problems) == [
        "params.count",
        "params.extra",
        "params.flag",
    ]


def test_task_params_error_names_the_task_and_problems():
    """The error's text names the task reference and each problem."""

    @task(params=Params)
    def job(params: Params) -> None:
        pass

    with pytest.raises(TaskParamsError) as info:
        call_task(job, "pkg.mod:job", {"count": 0, "flag": 1}, ctx())
    text = str(info.value)
    assert info.value.task == "pkg.mod:job"
    assert "pkg.mod:job" in text
    assert "params.count: must be >= 1" in text
    assert "params.flag" in text
    assert isinstance(info.value, ValueError)


def test_task_params_error_survives_pickling():
    """The error keeps its task and problems through pickle (as a worker reports it)."""
    error = TaskParamsError("pkg.mod:job", ["params.count: must be >= 1"])
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, TaskParamsError)
    assert copy.task == "pkg.mod:job"
    assert copy.problems == ["params.count: must be >= 1"]
    assert str(copy) == str(error)


# --- check_params --------------------------------------------------------------------


def test_check_params_of_valid_params_is_empty():
    """Valid params give no problems."""
    assert check_params(Params, {"count": 2, "inner": {"retries": 0}}) == []


def test_check_params_reports_path_and_message():
    """check_params gives (dotted path, message) pairs for bad params."""
    assert check_params(Params, {"count": 0}) == [("params.count", "must be >= 1")]
    assert check_params(Params, {"nope": 1}) == [("params.nope", "is not a parameter of this task")]


def test_check_params_ignores_a_value_holding_an_env_reference():
    """A value that is an ${env:...} reference is not reported, even for an int field."""
    assert check_params(Params, {"count": "${env:COUNT}"}) == []
    assert check_params(Params, {"flag": "prefix-${env:FLAG}"}) == []


def test_check_params_still_reports_other_fields_next_to_a_reference():
    """Only the field holding a reference is skipped; other bad fields are reported."""
    problems = check_params(Params, {"count": "${env:COUNT}", "flag": "yes"})
    assert problems == [("params.flag", "expected true or false, got 'yes'")]


def test_check_params_ignores_a_reference_in_a_nested_value():
    """A reference inside a nested mapping is not reported either."""
    assert check_params(Params, {"headers": {"auth": "${env:AUTH}"}}) == []
    assert check_params(Params, {"inner": {"retries": "${env:RETRIES}"}}) == []


def test_check_params_reports_an_escaped_literal():
    """``$${env:X}`` is a literal, not a reference, so a bad type is reported."""
    problems = check_params(Params, {"count": "$${env:COUNT}"})
    assert [path for path, _ in problems] == ["params.count"]


def test_check_params_does_not_change_the_params():
    """check_params leaves the mapping it checks unchanged."""
    params = {"count": "${env:COUNT}", "headers": {"a": 1}}
    check_params(Params, params)
    assert params == {"count": "${env:COUNT}", "headers": {"a": 1}}


def test_check_params_reports_an_unknown_param_holding_a_reference():
    """A misspelt param name is reported even when its value is an env reference."""
    assert check_params(Params, {"tokn": "${env:TOKEN}"}) == [
        ("params.tokn", "is not a parameter of this task")
    ]


# --- RunContext ----------------------------------------------------------------------


def test_local_time_is_the_scheduled_instant_in_the_jobs_timezone():
    """local_time shows the scheduled instant in the job's time zone (summer time in Paris)."""
    run = ctx("Europe/Paris", datetime(2026, 7, 1, 22, 30, tzinfo=UTC))
    assert run.local_time.replace(tzinfo=None) == datetime(2026, 7, 2, 0, 30)
    assert run.local_time == run.scheduled_for


def test_local_date_can_differ_from_the_utc_date():
    """local_date is the job's calendar date, which can be the UTC day before or after."""
    when = datetime(2026, 1, 1, 5, 0, tzinfo=UTC)
    assert ctx("UTC", when).local_date == date(2026, 1, 1)
    assert ctx("America/Los_Angeles", when).local_date == date(2025, 12, 31)
    assert ctx("Asia/Tokyo", datetime(2026, 1, 1, 16, 0, tzinfo=UTC)).local_date == date(2026, 1, 2)
