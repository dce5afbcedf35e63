"""The host_overhead loop in agent frameworks users would pick instead. Runs in .venv-bench
(the peers' own dependencies, e.g. mcp 1.x), one framework per process; prints one JSON line.

Each peer gets the same scripted model (``calls`` tool calls of ``add`` with new arguments,
then an answer) and the same real stdio MCP server, through the peer's own MCP client.

    .venv-bench/bin/python benchmarks/peers/host_loop_peers.py pydantic_ai --calls 20 \\
        --server-python .venv/bin/python --server tests/host/mcp_test_server.py
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any


async def pydantic_ai_loop(calls: int, python: str, server: str) -> tuple[float, int, str]:
    from fastmcp.client import Client
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai import Agent
    from pydantic_ai.mcp import MCPToolset
    from pydantic_ai.messages import (
        ModelMessage,
        ModelResponse,
        TextPart,
        ToolCallPart,
        ToolReturnPart,
    )
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        done = sum(
            1 for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart)
        )
        if done >= calls:
            return ModelResponse(parts=[TextPart("The total is done.")])
        return ModelResponse(parts=[TextPart("Adding."), ToolCallPart("add", {"a": done, "b": 1})])

    toolset = MCPToolset(Client(StdioTransport(python, [server])))
    agent = Agent(FunctionModel(model), toolsets=[toolset])
    async with agent:
        start = time.perf_counter()
        result = await agent.run("add")
        elapsed = time.perf_counter() - start
    returns = [
        p
        for m in result.all_messages()
        for p in getattr(m, "parts", [])
        if isinstance(p, ToolReturnPart)
    ]
    return elapsed, calls + 1, str(returns[-1].content)


async def openai_agents_loop(calls: int, python: str, server: str) -> tuple[float, int, str]:
    from agents.items import ModelResponse
    from agents.mcp import MCPServerStdio
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    from agents import Agent, ModelSettings, Runner, set_tracing_disabled

    set_tracing_disabled(True)

    def text(value: str) -> ResponseOutputMessage:
        return ResponseOutputMessage(
            id="msg",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text=value, annotations=[])],
        )

    class Scripted(Model):
        async def get_response(
            self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
        ) -> ModelResponse:
            items = input if isinstance(input, list) else []
            done = sum(
                1 for i in items if isinstance(i, dict) and i.get("type") == "function_call_output"
            )
            if done >= calls:
                output: list[Any] = [text("The total is done.")]
            else:
                output = [
                    text("Adding."),
                    ResponseFunctionToolCall(
                        type="function_call",
                        id=f"fc{done}",
                        call_id=f"call{done}",
                        name="add",
                        arguments=json.dumps({"a": done, "b": 1}),
                        status="completed",
                    ),
                ]
            return ModelResponse(output=output, usage=Usage(), response_id=None)

        def stream_response(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError

    async with MCPServerStdio(
        params={"command": python, "args": [server]}, cache_tools_list=True
    ) as mcp:
        agent = Agent(
            name="bench", model=Scripted(), mcp_servers=[mcp], model_settings=ModelSettings()
        )
        start = time.perf_counter()
        result = await Runner.run(agent, "add", max_turns=calls + 5)
        elapsed = time.perf_counter() - start
    outputs = [i.output for i in result.new_items if i.type == "tool_call_output_item"]
    return elapsed, calls + 1, _text(outputs[-1])


async def langgraph_loop(calls: int, python: str, server: str) -> tuple[float, int, str]:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_mcp_adapters.client import MultiServerMCPClient
    from langchain_mcp_adapters.tools import load_mcp_tools
    from langgraph.prebuilt import create_react_agent

    class Scripted(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "scripted"

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

        def _generate(
            self,
            messages: list[BaseMessage],
            stop: Any = None,
            run_manager: Any = None,
            **kwargs: Any,
        ) -> ChatResult:
            done = sum(1 for m in messages if isinstance(m, ToolMessage))
            if done >= calls:
                message = AIMessage(content="The total is done.")
            else:
                message = AIMessage(
                    content="Adding.",
                    tool_calls=[{"name": "add", "args": {"a": done, "b": 1}, "id": f"call{done}"}],
                )
            return ChatResult(generations=[ChatGeneration(message=message)])

    client = MultiServerMCPClient(
        {"test": {"command": python, "args": [server], "transport": "stdio"}}
    )
    async with client.session("test") as session:  # one session, like the other peers
        tools = await load_mcp_tools(session)
        agent = create_react_agent(Scripted(), tools)
        start = time.perf_counter()
        state = await agent.ainvoke(
            {"messages": [("user", "add")]}, {"recursion_limit": 4 * calls + 10}
        )
        elapsed = time.perf_counter() - start
    last = [m for m in state["messages"] if isinstance(m, ToolMessage)][-1]
    return elapsed, calls + 1, _text(last.content)


def _text(output: Any) -> str:
    """A tool output as text, whichever wrapping the framework gave it."""
    if isinstance(output, str):
        try:
            return _text(json.loads(output))
        except json.JSONDecodeError:
            return output
    if isinstance(output, list) and output:
        return _text(output[-1])
    if isinstance(output, dict):
        return str(output.get("text", output))
    return str(output)


LOOPS = {
    "pydantic_ai": pydantic_ai_loop,
    "openai_agents": openai_agents_loop,
    "langgraph": langgraph_loop,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("peer", choices=sorted(LOOPS))
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--server-python", required=True)
    parser.add_argument("--server", required=True)
    args = parser.parse_args()
    loop = LOOPS[args.peer]
    elapsed, steps, last = asyncio.run(loop(args.calls, args.server_python, args.server))
    print(
        json.dumps(
            {
                "name": args.peer,
                "ms_per_step": elapsed * 1000 / steps,
                "steps": steps,
                "last_result": last,
            }
        )
    )


if __name__ == "__main__":
    main()
