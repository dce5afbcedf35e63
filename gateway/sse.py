"""``EventStream``: a server-sent-events response that ends, and frees what its body holds
(a queue slot, the model call), as soon as its client goes away.

Starlette's ``StreamingResponse`` notices a client leaving the same way on a server of ASGI
spec < 2.4 (uvicorn's HTTP/1.1 is 2.3: its ``send`` to a closed connection returns without
a word): a task waits on ``receive()`` for ``http.disconnect`` beside the stream. It then
cancels that task when the stream ends, and with anyio's cancellation that alone costs more
than the rest of a short completion's response (measured: ~250 µs of ~270 µs for a
three-chunk stream). Here the watcher is not cancelled: the server answers a ``receive()``
that is pending when the response ends with ``http.disconnect`` (ASGI: a receive after the
response is sent), so it returns by itself; only where a server does not is it cancelled,
after one more turn of the loop. The watcher is a plain asyncio task, not an anyio task
group's (which cost ~170 µs more a stream).
"""

from __future__ import annotations

import asyncio

import anyio
import anyio.lowlevel
from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class EventStream(StreamingResponse):
    """``text/event-stream`` of ``content``'s chunks, no caching; ``background`` runs after."""

    media_type = "text/event-stream"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        spec = str(scope.get("asgi", {}).get("spec_version", "2.0"))
        if tuple(int(n) for n in spec.split(".")) >= (2, 4):
            try:  # the server raises OSError from send once the client is gone
                await self.stream_response(send)
            except OSError:
                raise ClientDisconnect() from None
        else:
            await self._watched(receive, send)
        if self.background is not None:
            await self.background()

    async def _watched(self, receive: Receive, send: Send) -> None:
        # The watcher is a bare asyncio task (uvicorn's loop is asyncio), not one of an anyio
        # task group: the group's scopes and its task's start cost ~170 µs a stream, more
        # than all the rest of a short stream's own work. It cancels the stream's scope (from
        # its task, on the same loop) when the client leaves mid-stream.
        stream = anyio.CancelScope()
        streaming = True

        async def watch() -> None:
            try:
                while (await receive())["type"] != "http.disconnect":
                    pass
            except Exception:  # the server reports its own errors; the stream just ends
                pass
            if streaming:  # the client left mid-stream: stop making what it won't read
                stream.cancel()

        watcher = asyncio.get_running_loop().create_task(watch())
        try:
            with stream:
                await self.stream_response(send)
            streaming = False
            await anyio.lowlevel.checkpoint()  # the watcher's turn to see the response end
            if not watcher.done():  # a server that leaves a receive pending: end it here
                watcher.cancel()
                await asyncio.wait([watcher])
        finally:
            streaming = False
            if not watcher.done():  # we were cancelled, or failed: the watcher goes too
                watcher.cancel()
