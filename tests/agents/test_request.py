"""What a ``RunRequest`` accepts: here, its request id (the X-Request-ID it serves)."""

from __future__ import annotations

import pytest

from agents.request import RunRequest
from core.errors import InvalidRequest


def test_a_request_id_is_optional_and_kept_as_given() -> None:
    assert RunRequest("task").request_id is None
    assert RunRequest("task", request_id="req-1.a:b_c").request_id == "req-1.a:b_c"
    assert RunRequest("task").with_(request_id="x" * 128).request_id == "x" * 128


@pytest.mark.parametrize("rid", ["", "x" * 129, "two words", "line\nbreak", "ü", "a/b"])
def test_a_request_id_that_cannot_be_one_is_refused(rid: str) -> None:
    with pytest.raises(InvalidRequest, match="request id"):
        RunRequest("task", request_id=rid)
    with pytest.raises(InvalidRequest, match="request id"):
        RunRequest("task").with_(request_id=rid)
