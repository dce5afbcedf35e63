"""The gateway on a real PostgreSQL (issue 17.8): keys, sessions, run events and idempotency
keys all in the database named by `database_url`, nothing in SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from sqlalchemy import text

from memory.sessions import make_engine
from tests.gateway.test_gateway import CONFIG, Gateway, read_events, start_gateway
from tests.memory.conftest import postgres_url  # noqa: F401  (the fixture)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def pg_gateway(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: str,  # noqa: F811
) -> Iterator[Gateway]:
    yield from start_gateway(tmp_path_factory.mktemp("pg-gateway"), CONFIG, postgres_url)


async def test_the_gateway_keeps_everything_in_postgres(pg_gateway: Gateway) -> None:
    key = pg_gateway.key("acme", "alice")
    async with openai.AsyncOpenAI(
        base_url=f"{pg_gateway.url}/v1", api_key=key, max_retries=0
    ) as ai:
        reply = await ai.chat.completions.create(
            model="agenthost", messages=[{"role": "user", "content": "hi from postgres"}]
        )
    assert reply.choices[0].message.content == "You said: hi from postgres"
    headers = pg_gateway.auth(key) | {"Idempotency-Key": "pg-1", "X-Request-ID": "pg-req-1"}
    async with httpx.AsyncClient(base_url=pg_gateway.url, timeout=30) as http:
        run = (await http.post("/v1/runs", json={"task": "count to five"}, headers=headers)).json()
        events = await read_events(http, run["events"], headers)
    assert events[-1][1] == "run_finished"
    engine = make_engine(pg_gateway.db_url)
    with engine.connect() as db:
        stored = db.execute(
            text("select count(*) from run_events where session_id = :s"), {"s": run["id"]}
        ).scalar_one()
        keyed = db.execute(text("select session_id from run_keys where key = 'pg-1'")).scalar_one()
        agents = {
            row[0] for row in db.execute(text("select agent from sessions where tenant = 'acme'"))
        }
        request_id = db.execute(
            text("select options from sessions where id = :s"), {"s": run["id"]}
        ).scalar_one()["request_id"]
    assert stored == len(events)
    assert keyed == run["id"]
    assert {"chat", "react"} <= agents  # the completion counts against allowances too
    assert request_id == "pg-req-1"
    assert not (Path(pg_gateway.home) / "agenthost.db").exists()
