"""validate's JSON report written directly is the text ``dumps`` gives, byte for byte."""

from __future__ import annotations

import pytest

from scheduler.cli.report import dumps, validation_dumps, validation_json
from scheduler.core.catalog import Catalog, FileResult
from scheduler.core.errors import JobFileError, JobFileWarning

ODD = 'quote " back \\ tab \t newline \n nul \x00 bell \x07 é ü 日本 \u2028 \ud7ff 😀'


def catalog_of(errors: int, warnings: int) -> Catalog:
    """A catalog whose files hold that many errors and warnings, with awkward text."""
    files = []
    for i in range(max(errors, warnings, 1)):
        result = FileResult(file=f"jobs/{ODD}-{i}.yaml")
        if i < errors:
            result.errors.append(JobFileError(result.file, i + 1, 2, "schedule.cron", ODD))
        if i < warnings:
            warning = JobFileWarning(result.file, 10**9 + i, 0, "", f"w{i} {ODD}")
            if i % 2:
                warning = JobFileWarning(result.file, 3, 4, "a.b[2]", "x", code="pile-up")
            result.warnings.append(warning)
        files.append(result)
    return Catalog(files=files)


@pytest.mark.parametrize(("errors", "warnings"), [(0, 0), (1, 0), (0, 1), (3, 5), (7, 2)])
def test_validation_dumps_is_dumps_of_validation_json(errors: int, warnings: int) -> None:
    """Same bytes, empty lists, unicode, escapes and codes included."""
    catalog = catalog_of(errors, warnings)
    assert validation_dumps(catalog) == dumps(validation_json(catalog))
