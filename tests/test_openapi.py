"""The OpenAPI description: generated from the route table, served at
/openapi.json, and schemathesis run against a real uvicorn with it, bounded in
examples: no 5xx, and every answer (status, content type, required headers) as described."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from starlette.routing import Route

from feedserver.routes import OPENAPI, ROUTES
from tests.conftest import FakeClock, make_settings, serve
from tests.test_hostile_requests import hostile_site
from tests.uvicorn_process import RunningServer, running_server


@pytest.mark.anyio
async def test_every_public_route_is_described(db_path: Path, now: datetime, clock: FakeClock) -> None:
    hostile_site(db_path, now)
    async with serve(make_settings(db_path), clock) as (client, _app):
        response = await client.get("/openapi.json")
        assert response.status_code == 200
        document = response.json()
    assert document == OPENAPI.get_schema(list(ROUTES))
    assert document["openapi"].startswith("3.")
    public = {
        route.path.replace(":path}", "}") for route in ROUTES if isinstance(route, Route) and route.include_in_schema
    }
    assert set(document["paths"]) == public
    assert "/openapi.json" not in document["paths"]
    for path, operations in document["paths"].items():
        assert set(operations) == {"get"}, path  # HEAD is implied (and said in info.description)
        responses = operations["get"]["responses"]
        assert {"200", "503"} <= set(responses), path
        if path != "/healthz":
            assert {"304", "404"} <= set(responses), path
            assert "Retry-After" in responses["503"]["headers"], path
        for parameter in operations["get"]["parameters"]:
            if parameter["in"] == "path":
                assert f"{{{parameter['name']}}}" in path
    # The description is loadable as OpenAPI by schemathesis, operation by operation.
    loaded = schemathesis.openapi.from_dict(document)
    assert sum(1 for _ in loaded.get_all_operations()) == len(public)


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp("openapi")
    db_path = hostile_site(workdir / "site.sqlite", datetime.now().astimezone().replace(microsecond=0))
    with running_server(db_path, workdir) as server:
        yield server


# Loaded at collection from the route table itself (what /openapi.json serves, as the
# test above checks); the cases are sent to a real uvicorn.
schema = schemathesis.openapi.from_dict(OPENAPI.get_schema(list(ROUTES)))


@pytest.mark.e2e
@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_description(case: Any, api_server: RunningServer) -> None:
    case.call_and_validate(base_url=api_server.url, timeout=10)
