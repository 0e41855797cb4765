"""Schemathesis over the app's own OpenAPI, in process: no generated request may get a 5xx.

Every operation of ``/openapi.json`` is called with cases that fit its schema (positive) and
cases that break it (negative: wrong types, out-of-range numbers, missing parameters), once
with generated path parameters and once with the path of real published data (city TST, a
published run, a published collection), so that query parameters reach the code behind
the 404s. A server error on any of them is a fault, whatever the input. The number of
examples is bounded so the whole run stays well under two minutes on one core.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from inclusive_cities.i18n import use_language
from inclusive_cities.web import create_app
from tests.web.conftest import City, specs

EXAMPLES = 20
"""Cases per operation, mode and path: 2 × 2 × 20 × 20 operations ≈ 1,600 requests."""


@pytest.fixture(scope="module")
def app(city: City) -> Iterator[tuple[FastAPI, TestClient]]:
    web = create_app(city.url, specs=specs)
    # an unexpected exception comes back as the 500 a user would see, not raised in the test
    with TestClient(web, raise_server_exceptions=False) as client:
        yield web, client
    use_language("en")


def real_path(city: City) -> dict[str, Any]:
    """Path parameters that name published data, so the handlers get past their lookups."""
    return {
        "city": "TST",
        "run_id": city.run_2024,
        "collection_id": "tst-uim-test-2024",
        "fid": city.blocks[0],
        "job_id": 1,
    }


def server_errors(
    web: FastAPI, client: TestClient, mode: GenerationMode, fixed: dict[str, Any]
) -> tuple[dict[str, str], int]:
    """Each operation and status that answered 5xx with one request that shows it, and the
    number of requests made."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", web)
    found: dict[str, str] = {}
    calls = [0]
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {p.name for p in operation.path_parameters}
        path = {name: value for name, value in fixed.items() if name in names}
        if fixed and not path:
            continue  # no path parameter: the generated run already covered it

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path or None))
        def call(case: schemathesis.Case) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            if not kwargs.get("cookies"):
                kwargs.pop("cookies", None)  # an empty per-request jar only raises a warning
            response = client.request(**kwargs)
            calls[0] += 1
            if response.status_code >= 500:
                key = f"{case.operation.label} → {response.status_code}"
                found.setdefault(key, f"{case.formatted_path} query={case.query}")

        # an operation with nothing to break (no parameters) has no negative case
        with suppress(Unsatisfiable):
            call()
    return found, calls[0]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path", ["generated", "real"])
def test_no_generated_request_gets_a_server_error(
    app: tuple[FastAPI, TestClient], city: City, mode: GenerationMode, path: str
) -> None:
    web, client = app
    found, calls = server_errors(web, client, mode, real_path(city) if path == "real" else {})
    assert found == {}
    assert calls >= 100  # the run really exercised the API
