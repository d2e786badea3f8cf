"""``${env:NAME}`` references in params: syntax checks, resolution, and redaction."""

from __future__ import annotations

import copy

import pytest

from scheduler.core.envrefs import (
    REDACTED,
    SecretError,
    has_reference,
    redact,
    reference_problems,
    resolve,
    strings,
)

ENV = {"TOKEN": "s3cr3t-token", "USER": "robot", "EMPTY": ""}


# --- reference_problems --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "costs $5 or {braces}",
        "${env:TOKEN}",
        "Bearer ${env:TOKEN}",
        "${env:USER}:${env:TOKEN}",
        "${env:_private_1}",
        "$${env:TOKEN}",
        "literal $${ alone",
        "",
    ],
)
def test_well_formed_text_has_no_problems(text):
    """Plain text, valid references and escapes give no problems."""
    assert reference_problems(text) == []


def test_unclosed_reference_is_reported():
    """A ``${`` without its closing brace is reported as not closed, with the escape hint."""
    (problem,) = reference_problems("Bearer ${env:TOKEN")
    assert "not closed" in problem
    assert "$${" in problem


def test_reference_to_something_other_than_env_is_reported():
    """``${TOKEN}`` or ``${file:x}`` is reported: only ${env:NAME} is supported."""
    (problem,) = reference_problems("${TOKEN}")
    assert "'${TOKEN}'" in problem
    assert "only ${env:NAME} is supported" in problem
    assert reference_problems("${file:/etc/passwd}") != []


@pytest.mark.parametrize("name", ["1TOKEN", "MY-TOKEN", "my token", "", "A.B"])
def test_bad_variable_name_is_reported(name):
    """A name that is not an environment variable name is reported, quoting the name."""
    (problem,) = reference_problems(f"${{env:{name}}}")
    assert repr(name) in problem
    assert "not an environment variable name" in problem


def test_each_bad_reference_in_a_text_is_reported():
    """Every malformed reference in one text gets its own problem."""
    problems = reference_problems("${env:OK} ${nope} ${env:9x} ${env:")
    assert len(problems) == 3


# --- strings and has_reference -------------------------------------------------------


def test_strings_yields_every_string_with_its_dotted_path():
    """strings walks mappings and lists, naming list items by index, skipping non-strings."""
    value = {"a": "x", "n": 3, "headers": {"auth": "y"}, "list": ["p", 4, {"k": "q"}]}
    assert sorted(strings(value, "params")) == [
        ("params.a", "x"),
        ("params.headers.auth", "y"),
        ("params.list.0", "p"),
        ("params.list.2.k", "q"),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${env:TOKEN}", True),
        ({"headers": {"auth": "Bearer ${env:TOKEN}"}}, True),
        (["a", ["b", "${env:X}"]], True),
        ("$${env:TOKEN}", False),
        ("no reference", False),
        ("${env:TOKEN", False),
        (42, False),
        (None, False),
        ({"n": 1, "l": [True]}, False),
    ],
)
def test_has_reference_finds_a_reference_anywhere(value, expected):
    """has_reference is true when any string inside the value holds a closed reference."""
    assert has_reference(value) is expected


# --- resolve -------------------------------------------------------------------------


def test_resolve_replaces_references_and_returns_the_values_used():
    """References are replaced by the variables' values, which are returned as secrets."""
    resolved, used = resolve({"token": "${env:TOKEN}", "login": "${env:USER}"}, ENV)
    assert resolved == {"token": "s3cr3t-token", "login": "robot"}
    assert sorted(used) == ["robot", "s3cr3t-token"]


def test_resolve_substitutes_inside_text():
    """A reference inside longer text is replaced in place; several in one text all are."""
    resolved, _ = resolve({"auth": "Bearer ${env:TOKEN}", "dsn": "${env:USER}@${env:USER}"}, ENV)
    assert resolved == {"auth": "Bearer s3cr3t-token", "dsn": "robot@robot"}


def test_resolve_turns_the_escape_into_a_literal():
    """``$${env:TOKEN}`` becomes the literal text ``${env:TOKEN}`` and is not looked up."""
    resolved, used = resolve({"template": "$${env:TOKEN} and $${x}"}, {})
    assert resolved == {"template": "${env:TOKEN} and ${x}"}
    assert used == []


def test_resolve_leaves_values_without_references_alone():
    """Numbers, booleans, None and plain strings come back unchanged, with no secrets."""
    params = {"n": 3, "flag": True, "none": None, "ratio": 0.5, "text": "hello"}
    resolved, used = resolve(params, ENV)
    assert resolved == params
    assert used == []


def test_resolve_walks_nested_mappings_and_lists():
    """References inside nested mappings and lists are resolved."""
    params = {
        "headers": {"auth": "${env:TOKEN}", "n": 1},
        "targets": ["${env:USER}", {"login": "${env:USER}"}],
    }
    resolved, _ = resolve(params, ENV)
    assert resolved == {
        "headers": {"auth": "s3cr3t-token", "n": 1},
        "targets": ["robot", {"login": "robot"}],
    }


def test_resolve_does_not_change_its_input():
    """The params given to resolve still hold the references afterwards."""
    params = {"headers": {"auth": "${env:TOKEN}"}, "targets": ["${env:USER}"]}
    before = copy.deepcopy(params)
    resolve(params, ENV)
    assert params == before


def test_empty_variable_is_set():
    """A variable set to the empty string resolves to it (it is not "unset")."""
    resolved, _ = resolve({"x": "a${env:EMPTY}b"}, ENV)
    assert resolved == {"x": "ab"}


def test_unset_variable_raises_naming_field_and_variable():
    """An unset variable raises SecretError with the field path and the variable name."""
    with pytest.raises(SecretError) as info:
        resolve({"token": "${env:MISSING_TOKEN}"}, ENV)
    assert info.value.path == "params.token"
    assert "MISSING_TOKEN" in str(info.value)
    assert "not set" in str(info.value)
    assert str(info.value).startswith("params.token: ")


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"headers": {"auth": "Bearer ${env:NOPE}"}}, "params.headers.auth"),
        ({"targets": ["ok", "${env:NOPE}"]}, "params.targets.1"),
        ({"a": {"b": [{"c": "${env:NOPE}"}]}}, "params.a.b.0.c"),
    ],
)
def test_unset_variable_in_nested_params_names_the_nested_field(params, path):
    """A missing variable deep in params is reported at its dotted path."""
    with pytest.raises(SecretError) as info:
        resolve(params, ENV)
    assert info.value.path == path


@pytest.mark.parametrize("text", ["${env:TOKEN", "${TOKEN}", "${env:1X}"])
def test_malformed_reference_raises_naming_the_field(text):
    """A malformed reference raises SecretError at its field, even if the variable exists."""
    with pytest.raises(SecretError) as info:
        resolve({"headers": {"auth": text}}, {**ENV, "1X": "v"})
    assert info.value.path == "params.headers.auth"


def test_secret_error_is_a_value_error():
    """SecretError can be caught as a ValueError."""
    with pytest.raises(ValueError, match=r"params\.x"):
        resolve({"x": "${env:NOPE}"}, {})


# --- redact --------------------------------------------------------------------------


def test_redact_replaces_every_occurrence_of_a_secret():
    """Each occurrence of a resolved value in a text is replaced by the redaction mark."""
    text = "token=s3cr3t-token; again s3cr3t-token"
    assert redact(text, ["s3cr3t-token"]) == f"token={REDACTED}; again {REDACTED}"


def test_redact_leaves_short_values_alone():
    """Values shorter than 4 characters are not scrubbed; 4 characters are."""
    assert redact("id 123 and abcd", ["123"]) == "id 123 and abcd"
    assert redact("id 123 and abcd", ["abcd"]) == f"id 123 and {REDACTED}"


def test_redact_scrubs_the_longest_secret_first():
    """A secret containing another is scrubbed whole, leaving no tail of it visible."""
    out = redact("key=abcd1234", ["abcd", "abcd1234"])
    assert out == f"key={REDACTED}"
    assert "1234" not in out


def test_redact_without_secrets_changes_nothing():
    """With no secrets, or an empty one, the text is unchanged."""
    assert redact("nothing to hide", []) == "nothing to hide"
    assert redact("nothing to hide", [""]) == "nothing to hide"


def test_resolved_values_are_scrubbed_from_a_report():
    """The values resolve returns are exactly what redact removes from a failure text."""
    _, used = resolve({"auth": "Bearer ${env:TOKEN}", "u": "${env:USER}"}, ENV)
    report = "HTTP 401 for robot with header 'Bearer s3cr3t-token'"
    scrubbed = redact(report, used)
    assert "s3cr3t-token" not in scrubbed
    assert "robot" not in scrubbed
