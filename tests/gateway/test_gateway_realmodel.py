"""docs/gateway.md's `openai` example, as written, against `agenthost gateway` on the
embedded model (the default config: SmolLM2 on llama.cpp)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.gateway.test_gateway import start_gateway
from tests.host.test_resume import REPO

DOC = REPO / "docs" / "gateway.md"


@pytest.mark.realmodel
def test_the_docs_openai_example_streams_from_the_embedded_model(tmp_path: Path) -> None:
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)[0]
    for gateway in start_gateway(tmp_path / "gw", "[servers.time]\nenabled = false\n"):
        port = gateway.url.rsplit(":", 1)[1]
        script = tmp_path / "example.py"
        script.write_text(code.replace("127.0.0.1:8780", f"127.0.0.1:{port}"))
        done = subprocess.run(
            [sys.executable, str(script)],
            env=os.environ | {"AGENTHOST_KEY": gateway.key(), "PYTHONPATH": str(REPO)},
            capture_output=True, text=True, timeout=240, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip()  # the model said something, streamed
        deadline = time.monotonic() + 30  # the gateway writes completions in batches
        while not (rows := gateway.store().recent(limit=5)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rows[0].agent == "chat"
        assert 0 < rows[0].output_tokens <= 16  # max_tokens held, tokens counted
