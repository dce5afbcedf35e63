"""``EventStream`` against fake ASGI servers: a stream that ends by itself, one whose client
goes away mid-way (the body is stopped, and what it holds let go), servers that do and do
not answer a pending ``receive()`` when the response ends, and ASGI 2.4's ``OSError``."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import anyio
import pytest
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect

from gateway.sse import EventStream

pytestmark = pytest.mark.anyio


class Server:
    """What a server gives an app: ``receive`` waits until the client has gone, or (where
    ``wakes``, as uvicorn does) until the response has ended, then says ``http.disconnect``."""

    def __init__(self, *, wakes: bool = True, spec: str = "2.3") -> None:
        self.wakes = wakes
        self.scope: dict[str, Any] = {"type": "http", "asgi": {"spec_version": spec}}
        self.sent: list[MutableMapping[str, Any]] = []
        self.ended = anyio.Event()
        self.receive_cancelled = False

    async def receive(self) -> dict[str, Any]:
        try:
            await self.ended.wait()
        except anyio.get_cancelled_exc_class():
            self.receive_cancelled = True
            raise
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)
        if self.wakes and message["type"] == "http.response.body" and not message["more_body"]:
            self.ended.set()

    def leave(self) -> None:
        self.ended.set()

    @property
    def chunks(self) -> list[bytes]:
        return [m["body"] for m in self.sent if m["type"] == "http.response.body" and m["body"]]


class Body:
    """Chunks, with a record of whether the generator was let go of (its ``finally``)."""

    def __init__(self) -> None:
        self.closed = False
        self.recorded = False

    async def chunks(self, n: int, *, then: Any = None) -> AsyncIterator[bytes]:
        try:
            for i in range(n):
                yield f"data: {i}\n\n".encode()
                await anyio.lowlevel.checkpoint()
            if then is not None:
                await then()
        finally:
            self.closed = True

    async def record(self) -> None:
        self.recorded = True


@pytest.mark.parametrize("wakes", [True, False])
async def test_a_stream_that_ends_by_itself(wakes: bool) -> None:
    server, body = Server(wakes=wakes), Body()
    stream = EventStream(body.chunks(3), background=BackgroundTask(body.record))
    await stream(server.scope, server.receive, server.send)
    assert server.sent[0]["type"] == "http.response.start"
    assert (b"content-type", b"text/event-stream; charset=utf-8") in server.sent[0]["headers"]
    assert server.chunks == [b"data: 0\n\n", b"data: 1\n\n", b"data: 2\n\n"]
    assert server.sent[-1] == {"type": "http.response.body", "body": b"", "more_body": False}
    assert body.closed
    assert body.recorded
    # a server that answers the pending receive lets the watcher end without a cancel
    assert server.receive_cancelled is not wakes


async def test_a_client_that_leaves_stops_the_stream() -> None:
    server, body = Server(), Body()

    async def leave_then_wait() -> None:
        server.leave()  # the client goes while the model is still at work
        await anyio.sleep_forever()

    stream = EventStream(
        body.chunks(2, then=leave_then_wait), background=BackgroundTask(body.record)
    )
    with anyio.fail_after(10):  # a hang would be the bug, not a slow machine
        await stream(server.scope, server.receive, server.send)
    assert server.chunks == [b"data: 0\n\n", b"data: 1\n\n"]
    assert body.closed  # what the body held (a queue slot) was let go
    assert body.recorded
    assert not any(m.get("more_body") is False for m in server.sent)


async def test_on_asgi_2_4_a_closed_connection_is_a_client_disconnect() -> None:
    server, body = Server(spec="2.4"), Body()

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.body" and message["body"] == b"data: 1\n\n":
            raise OSError("the client went away")
        server.sent.append(message)

    with pytest.raises(ClientDisconnect):
        await EventStream(body.chunks(3))(server.scope, server.receive, send)
    assert server.chunks == [b"data: 0\n\n"]
