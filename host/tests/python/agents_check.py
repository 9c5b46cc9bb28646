"""A one-tool `openai-agents` agent on Switchyard's Responses endpoint (run by
host/tests/openai_sdk.rs). Model m/tools answers the first turn with a call to `weather` and the
turn after the tool result with text; the run must call the tool and finish with that text.

Usage: python agents_check.py <base_url>
"""

import asyncio
import sys

from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled
from openai import AsyncOpenAI

set_tracing_disabled(True)
calls = []


@function_tool
def weather() -> str:
    """Current weather."""
    calls.append("weather")
    return "sunny"


async def main():
    client = AsyncOpenAI(base_url=sys.argv[1], api_key="sk-test", _strict_response_validation=True)
    agent = Agent(
        name="forecaster",
        instructions="Answer with the weather tool.",
        tools=[weather],
        model=OpenAIResponsesModel(model="m/tools", openai_client=client),
    )
    result = await Runner.run(agent, "What is the weather?")
    assert calls == ["weather"], calls
    assert result.final_output.startswith("**Holiday Name:**"), result.final_output[:80]

    calls.clear()
    streamed = Runner.run_streamed(agent, "What is the weather?")
    async for _ in streamed.stream_events():
        pass
    assert calls == ["weather"], calls
    assert streamed.final_output.startswith("**Holiday Name:**"), streamed.final_output[:80]
    print("ok agent")


asyncio.run(main())
