"""Checks run by host/tests/openai_sdk.rs against a live gateway with the official `openai`
SDK in strict response validation mode (every answer must match the SDK's types exactly).

Usage: python openai_sdk_checks.py <base_url> <check>...; exits non-zero on the first failure.
The gateway's models (see openai_sdk.rs): m/text (OpenAI text), m/tools (a tool call, then text
after the tool result), m/json (DeepSeek JSON with reasoning), m/groq (Groq with
`service_tier: "on_demand"`), m/groq-stream (Groq streamed tool call), m/embed (embeddings),
m/cite (Anthropic text blocks citing documents), m/claude-json and m/bedrock-json (Anthropic and
Bedrock calling the tool that carries the `response_format` schema), m/code (a Responses upstream
opted into the code interpreter, which it runs).
"""

import sys

import openai
import pydantic

BASE_URL = sys.argv[1]
client = openai.OpenAI(base_url=BASE_URL, api_key="sk-test", _strict_response_validation=True)

WEATHER_TOOL = {
    "type": "function",
    "name": "weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
}


def responses_plain():
    response = client.responses.create(model="m/text", instructions="Be brief.", input="Hello!")
    assert response.status == "completed", response.status
    assert response.output_text.startswith("**Holiday Name:**"), response.output_text[:80]
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0, response.usage
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    assert response.id.startswith("gen-"), response.id


def responses_streamed():
    events = list(client.responses.create(model="m/text", input="Hello!", stream=True))
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"], kinds[:3]
    assert kinds[-1] == "response.completed", kinds[-3:]
    numbers = [event.sequence_number for event in events]
    assert numbers == list(range(len(events))), numbers
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    final = events[-1].response
    assert final.output_text == deltas and deltas.startswith("**Holiday Name:**"), deltas[:80]
    assert final.usage.output_tokens > 0, final.usage
    done = [e for e in events if e.type == "response.output_text.done"]
    assert len(done) == 1 and done[0].text == deltas


def responses_function_tool():
    question = {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]}
    first = client.responses.create(model="m/tools", input=[question], tools=[WEATHER_TOOL])
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "weather", first.output
    history = [question] + [item.model_dump(exclude_none=True) for item in first.output]
    history.append({"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"})
    second = client.responses.create(model="m/tools", input=history, tools=[WEATHER_TOOL])
    assert second.output_text.startswith("**Holiday Name:**"), second.output_text[:80]

    # The same call streamed.
    events = list(client.responses.create(model="m/tools", input=[question], tools=[WEATHER_TOOL], stream=True))
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert len(done) == 1 and done[0].arguments == "{}", [e.type for e in events]
    added = [e for e in events if e.type == "response.output_item.added" and e.item.type == "function_call"]
    assert added and added[0].item.name == "weather"
    assert events[-1].type == "response.completed"


class Weather(pydantic.BaseModel):
    location: str
    condition: str
    temperature: int


def responses_json_schema():
    response = client.responses.parse(model="m/json", input="Weather in SF as JSON", text_format=Weather)
    assert response.output_parsed == Weather(location="San Francisco", condition="cloudy", temperature=7)
    reasoning = [item for item in response.output if item.type == "reasoning"]
    assert reasoning and reasoning[0].content and reasoning[0].content[0].text, response.output
    assert response.usage.input_tokens_details.cached_tokens == 320, response.usage
    assert response.usage.output_tokens_details.reasoning_tokens == 118, response.usage


def responses_stateful_refused():
    try:
        client.responses.create(model="m/text", input="Hi", previous_response_id="resp_123")
    except openai.BadRequestError as error:
        assert "send the whole conversation in `input`" in str(error), error
    else:
        raise AssertionError("previous_response_id was accepted")
    try:
        client.responses.create(
            model="m/text", input="Hi", tools=[{"type": "file_search", "vector_store_ids": ["vs_1"]}]
        )
    except openai.BadRequestError as error:
        assert "file_search" in str(error), error
    else:
        raise AssertionError("a built-in tool was accepted")


def embeddings():
    result = client.embeddings.create(model="m/embed", input=["first text", "second"], encoding_format="float")
    assert result.object == "list" and len(result.data) == 2, result
    assert [d.index for d in result.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in result.data), result.data
    assert result.usage.prompt_tokens == 3 and result.usage.total_tokens == 3, result.usage
    short = client.embeddings.create(model="m/embed", input="one", dimensions=4, encoding_format="float")
    assert len(short.data) == 1 and len(short.data[0].embedding) == 4, short
    # Left to itself the SDK asks for base64 and decodes it after validating; its strict mode
    # types the undecoded vector as floats, so this one call goes through a default client.
    lenient = openai.OpenAI(base_url=BASE_URL, api_key="sk-test")
    decoded = lenient.embeddings.create(model="m/embed", input=["first text", "second"])
    for a, b in zip(result.data, decoded.data):
        assert len(b.embedding) == 8 and all(abs(x - y) < 1e-6 for x, y in zip(a.embedding, b.embedding)), b


def chat_non_standard_enums():
    completion = client.chat.completions.create(model="m/groq", messages=[{"role": "user", "content": "Hi"}])
    assert completion.choices[0].finish_reason == "stop"
    assert completion.service_tier is None, completion.service_tier
    chunks = list(client.chat.completions.create(model="m/groq-stream", messages=[{"role": "user", "content": "Hi"}], stream=True))
    reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert reasons[-1] == "tool_calls", reasons


def chat_citations():
    """Switchyard's `text_citations` are extra fields the strict SDK keeps, whole and streamed."""
    asked = dict(model="m/cite", messages=[{"role": "user", "content": "Colours?"}])
    message = client.chat.completions.create(**asked).choices[0].message
    spans = [(entry["start"], entry["end"]) for entry in message.model_extra["text_citations"]]
    assert spans == [(29, 47), (52, 67)], spans
    assert message.content[29:47] == "the grass is green", message.content
    pieces = []
    for chunk in client.chat.completions.create(**asked, stream=True):
        if chunk.choices and chunk.choices[0].delta.model_extra.get("text_citations"):
            pieces.extend(chunk.choices[0].delta.model_extra["text_citations"])
    assert len(pieces) == 7 and pieces[-1]["end"] == 67, pieces


class Place(pydantic.BaseModel):
    city: str
    temperature_c: int


def json_schema_through_forced_tool(model):
    """A JSON schema answered through the forced tool parses as the schema's type."""
    asked = dict(model=model, messages=[{"role": "user", "content": "Weather in SF?"}])
    completion = client.chat.completions.parse(**asked, response_format=Place)
    choice = completion.choices[0]
    assert choice.finish_reason == "stop", choice.finish_reason
    assert not choice.message.tool_calls, choice.message.tool_calls
    assert choice.message.parsed == Place(city="San Francisco", temperature_c=18), choice.message
    plain = client.chat.completions.create(**asked, response_format={"type": "json_object"})
    assert plain.choices[0].message.content == '{"city":"San Francisco","temperature_c":18}', plain


def chat_json_schema_on_claude():
    json_schema_through_forced_tool("m/claude-json")


def chat_json_schema_on_bedrock():
    json_schema_through_forced_tool("m/bedrock-json")


CODE_TOOL = {"type": "code_interpreter", "container": {"type": "auto"}}


def responses_code_interpreter():
    """m/code: a provider opted into the code interpreter; m/text: one that is not."""
    response = client.responses.create(model="m/code", input="What is 20!?", tools=[CODE_TOOL])
    call = response.output[0]
    assert call.type == "code_interpreter_call" and call.outputs[0].logs.startswith("2432902008176640000"), call
    assert response.output_text == "20! is 2432902008176640000.", response.output_text
    events = list(client.responses.create(model="m/code", input="What is 20!?", tools=[CODE_TOOL], stream=True))
    done = [e.item for e in events if e.type == "response.output_item.done"]
    assert [item.type for item in done] == ["code_interpreter_call", "message"], done
    assert done[0] == call, done[0]
    assert events[-1].type == "response.completed" and events[-1].response.output[0] == call
    try:
        client.responses.create(model="m/text", input="What is 20!?", tools=[CODE_TOOL])
        raise AssertionError("a provider not opted into the code interpreter was used")
    except openai.BadRequestError as error:
        assert error.code == "unsupported_tool" and "`code_interpreter`" in error.message, error


for name in sys.argv[2:]:
    globals()[name]()
    print(f"ok {name}")
