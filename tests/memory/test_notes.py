"""Notes: remember, recall by keyword and by meaning, forget; isolation; session summaries."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from agents import RunState
from core.principal import Principal
from inference import ChatRequest, Message
from inference.backends.scripted import ScriptedBackend, Turn
from memory.compaction import summarize_session
from memory.notes import NotesStore, Scope
from memory.sessions import SessionStore, make_engine

ALICE = Scope("acme", "alice")
BOB = Scope("acme", "bob")
OTHER_TENANT = Scope("globex", "alice")


class BagOfWords:
    """A deterministic embedder for logic tests: same words, same direction."""

    model_id = "bow-64"

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.lower().split():
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % 64] += 1
        norms = np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)
        return np.asarray(out / norms, dtype=np.float32)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> NotesStore:
    url = (
        f"sqlite:///{tmp_path / 'm.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    store = NotesStore(make_engine(url), BagOfWords())
    for scope in (ALICE, BOB, OTHER_TENANT):  # a clean slate on the shared PostgreSQL
        for note in store.list_notes(scope, limit=10_000):
            store.forget(scope, note.id)
    return store


def test_remember_recall_replace_forget(store: NotesStore) -> None:
    store.remember(ALICE, "The staging database is on port 5433.", key="staging-db", tags=["infra"])
    store.remember(ALICE, "Alice prefers answers in French.", tags=["prefs"])
    hits = store.recall(ALICE, "which port does staging use", mode="keyword")
    assert hits[0].key == "staging-db"
    assert hits[0].score is not None
    store.remember(ALICE, "The staging database moved to port 6543.", key="staging-db")
    assert "6543" in store.recall(ALICE, "staging database port")[0].text
    assert len(store.list_notes(ALICE)) == 2
    assert [n.key for n in store.list_notes(ALICE, tags=["infra"])] == ["staging-db"]
    assert store.forget(ALICE, "staging-db")
    assert not store.forget(ALICE, "staging-db")
    assert store.recall(ALICE, "staging database port", mode="keyword") == []


def test_semantic_and_hybrid_recall(store: NotesStore) -> None:
    store.remember(ALICE, "deploys happen on friday afternoons", key="deploys")
    store.remember(ALICE, "the cat is called Miso", key="cat")
    semantic = store.recall(ALICE, "when are deploys", mode="semantic", k=1)
    assert [n.key for n in semantic] == ["deploys"]
    hybrid = store.recall(ALICE, "cat name", k=2)
    assert hybrid[0].key == "cat"
    assert set(hybrid[0].why) <= {"keyword", "semantic"}


def test_scopes_are_isolated_in_the_store(store: NotesStore) -> None:
    store.remember(ALICE, "alice's secret is tulip", key="secret")
    store.remember(OTHER_TENANT, "globex alice's secret is orchid", key="secret")
    assert store.recall(BOB, "secret", mode="keyword") == []
    assert store.get(BOB, "secret") is None
    assert not store.forget(BOB, "secret")
    assert store.get(ALICE, "secret").text == "alice's secret is tulip"  # type: ignore[union-attr]
    assert "orchid" in store.get(OTHER_TENANT, "secret").text  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="tenant"):
        Scope("", "x")
    with pytest.raises(ValueError, match="text"):
        store.remember(ALICE, "   ")


@pytest.mark.anyio
async def test_summarize_a_session_into_a_note(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    sessions, notes = SessionStore(url), NotesStore(make_engine(url))
    state = RunState.new("find the staging port", principal=Principal("acme", "alice"))
    state.messages = [
        Message.system("sys"),
        Message.user("find the staging port"),
        Message.tool("call_1", "port 5433", "infra__lookup"),
        Message.assistant("It is 5433."),
        Message.user("thanks"),
    ]
    sessions.save(state)
    summary = {
        "summary": "Looked up staging.",
        "facts": ["staging port is 5433"],
        "open_questions": [],
    }
    model = ScriptedBackend([Turn(json.dumps(summary))])
    note = await summarize_session(sessions, notes, model, state.session_id, ALICE, keep_recent=1)
    assert note.key == f"session:{state.session_id}:summary"
    assert "- staging port is 5433" in note.text
    assert "compacted: msg1, call_1, msg3" in note.text
    request: ChatRequest = model.requests[0]
    assert request.constraint is not None
    with pytest.raises(PermissionError):
        await summarize_session(sessions, notes, model, state.session_id, BOB)
