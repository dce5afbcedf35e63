"""The knowledge verbs: ``ingest``, ``search`` and ``ask``, over ``rag.RagService`` (the same
code the RAG MCP server runs)."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, get_args

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.boundary import App, BadArgument, err, run_async, settings
from rag.types import Answer, Expand, Expansion, Hit, Mode, SearchResult

if TYPE_CHECKING:
    from rag.service import RagService

T = TypeVar("T")

app = App()

Collection = Annotated[str, typer.Option("--collection", "-C", help="Collection name.")]
Collections = Annotated[
    list[str] | None,
    typer.Option("--collection", "-C", help="Collection (repeat); default: all."),
]
Tenant = Annotated[
    str | None, typer.Option(help="Tenant (default: rag.tenant from the configuration).")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Groups = Annotated[
    list[str] | None, typer.Option("--group", help="ACL group of the reader (repeat).")
]
Rerank = Annotated[bool, typer.Option(help="Rerank (rag.retrieval.reranker).")]
ExpandOpt = Annotated[
    str,
    typer.Option(
        "--expand",
        help="Query expansion by the model: none, multi (rephrasings) or hyde (a drafted answer).",
    ),
]


def _service(tenant: str | None, groups: list[str] | None = None) -> RagService:
    from rag.service import RagService  # the retrieval stack loads for these commands only

    s = settings()
    update: dict[str, Any] = {}
    if tenant:
        update["tenant"] = tenant
    if groups:
        update["groups"] = groups
    return RagService(s.rag_dir, s.rag.model_copy(update=update), s.inference, s.logs_dir)


def _call(
    tenant: str | None, groups: list[str] | None, fn: Callable[[RagService], Awaitable[T]]
) -> T:
    """Run ``fn`` on a service (configuration included, so a bad one is one line too)."""

    async def go() -> T:
        svc = _service(tenant, groups)
        try:
            return await fn(svc)
        finally:
            await svc.aclose()

    return run_async(go)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    collection: Collection,
    tenant: Tenant = None,
    acl: Annotated[
        list[str] | None,
        typer.Option("--acl", help="Group that may read these (repeat); default: everyone."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Add or update documents (Markdown, text, HTML, PDF, source code) in a collection.

    Unchanged files are skipped, changed ones get a new version, and files deleted from an
    ingested folder are removed from the index.

    Example: agenthost ingest docs/ --collection handbook
    """
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise BadArgument(f"{missing[0]} does not exist")

    async def go(svc: RagService) -> Any:
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=err, transient=True,
            disable=not sys.stderr.isatty(),
        ) as bar:  # fmt: skip
            task = bar.add_task("ingesting", total=None)

            def progress(done: int, total: int, path: str) -> None:
                bar.update(task, completed=done, total=total, description=Path(path).name)

            return await svc.ingest(paths, collection, acl=acl or (), progress=progress)

    report = _call(tenant, None, go)
    if as_json:
        print(report.model_dump_json(indent=2))
        return
    print(
        f"{collection}: {report.added} added, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.removed} removed; "
        f"{report.chunks} chunks in {report.seconds:.1f}s"
    )
    for skipped in report.skipped:
        err.print(f"[yellow]skipped:[/] {escape(skipped)}")


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    collection: Collections = None,
    k: Annotated[
        int | None, typer.Option("-k", min=1, help="How many hits (default: rag.retrieval.k).")
    ] = None,
    mode: Annotated[str, typer.Option(help="hybrid, bm25 or dense.")] = "hybrid",
    rerank: Rerank = False,
    expand: ExpandOpt = "none",
    tenant: Tenant = None,
    group: Groups = None,
    as_json: AsJson = False,
) -> None:
    """Search a collection: hybrid BM25 + embeddings, fused by reciprocal rank.

    Example: agenthost search "how do I rotate keys" --collection handbook
    """
    if mode not in ("hybrid", "bm25", "dense"):
        raise BadArgument(f"--mode must be hybrid, bm25 or dense, not {mode!r}")
    chosen: Mode = mode  # type: ignore[assignment]
    how = _expand(expand)

    async def go(svc: RagService) -> SearchResult:
        return await svc.search(query, collection, k=k, mode=chosen, rerank=rerank, expand=how)

    found = _call(tenant, group, go)
    _report(found.expansion)
    hits = found.hits
    if as_json:
        print(json.dumps([h.model_dump(mode="json") for h in hits], indent=2))
        return
    if not hits:
        err.print("no results")
    for i, h in enumerate(hits, start=1):
        where = _where(h)
        label = " > ".join(h.headings) or h.title
        print(f"{i}. {where}  [{label}]  score={h.score:.4f} id={h.chunk_id}")
        snippet = " ".join(h.text.split())
        print(f"   {snippet[:240]}{'…' if len(snippet) > 240 else ''}")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question.")],
    collection: Collections = None,
    k: Annotated[
        int | None, typer.Option("-k", min=1, help="Passages (default: rag.retrieval.k).")
    ] = None,
    rerank: Rerank = False,
    expand: ExpandOpt = "none",
    tenant: Tenant = None,
    group: Groups = None,
    as_json: AsJson = False,
) -> None:
    """Answer a question from a collection, with numbered citations; says "Not found in the
    sources." when nothing relevant was retrieved.

    Example: agenthost ask "What port does the server use?" --collection handbook
    """

    how = _expand(expand)

    async def go(svc: RagService) -> Answer:
        return await svc.answer(question, collection, k=k, rerank=rerank, expand=how)

    answer = _call(tenant, group, go)
    _report(answer.expansion)
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    print(answer.text)
    if answer.citations:
        attributed = all(c.how == "attributed" for c in answer.citations)
        print(
            "\nSources (the model cited none; matched to its sentences):"
            if attributed
            else "\nSources:"
        )
        for c in answer.citations:
            hit = next(h for h in answer.hits if h.chunk_id == c.chunk_id)
            match = f"  similarity {c.similarity:.2f}" if c.similarity is not None else ""
            print(f"[{c.number}] {_where(hit)}  (chunk {c.chunk_id}){match}")
    elif not answer.refused and answer.hits:
        print("\nRetrieved (not cited by the model):")
        for i, h in enumerate(answer.hits, start=1):
            print(f"[{i}] {_where(h)}  (chunk {h.chunk_id})")
    if answer.cached:
        err.print("[dim]answer from the cache[/]")


def _expand(value: str) -> Expand:
    if value not in get_args(Expand):
        raise BadArgument(f"--expand must be none, multi or hyde, not {value!r}")
    return value  # type: ignore[return-value]


def _report(expansion: Expansion | None) -> None:
    """What expansion searched, or why it fell back to the query alone (stderr: --json stays
    clean)."""
    if expansion is None:
        return
    if expansion.note:
        err.print(f"[yellow]note:[/] {escape(expansion.note)}")
    for q in expansion.queries:
        err.print(f"[dim]also searched: {escape(q)}[/]")
    if expansion.passage:
        err.print(f"[dim]hypothetical passage: {escape(expansion.passage[:200])}[/]")


def _where(hit: Hit) -> str:
    s = hit.span
    if s.page is not None:
        return f"{hit.source} p.{s.page}"
    if s.line_start is not None:
        return f"{hit.source}:{s.line_start}-{s.line_end}"
    return hit.source
