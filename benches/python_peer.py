#!/usr/bin/env python3
"""The side-by-side benchmark scenarios on the Python reference (openai-chatkit 1.6.5).

This is this repository's implementation of the scenario definitions the Rust
`examples/bench.rs` follows (see BENCHMARKS.md), so that both can be measured on the
same machine in one sitting:

    python3 -m venv /tmp/chatkit-py
    /tmp/chatkit-py/bin/pip install openai-chatkit==1.6.5 openai-agents==0.24.0
    /tmp/chatkit-py/bin/python benches/python_peer.py [--runs 3] [--scenarios a,b]

It prints one JSON object `{scenario: {"n", "seconds", "per_sec", "peak_rss_mb", "unit",
"runs_seconds", "rss_before_runs_mb", "check"}}`, each scenario measured in a fresh child
interpreter, with the same sizes, inputs, counting rules and `check` counters as the
Rust program. It is not part of the test suite (it needs the Python packages).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

TEXT_DELTA = "lorem ip"
WIDGET_CHUNK = "The quick brown fox "
SCENARIOS = ["pipeline_text", "agent_text", "widget_stream", "template_build", "diff_large"]
# Run only when named: one child per answer size (`--growth-sizes`), each within `--growth-timeout`.
EXTRA_SCENARIOS = ["template_stream_growth"]
# template_stream_growth's answer text (`--growth-text`), as in examples/template_stream_growth.rs.
GROWTH_TEXTS = {
    "plain": "Streaming answers grow one delta at a time; ",
    "mixed": "Don't stream \"quoted\" café answers <b>&</b>; ",
}
HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent / "examples" / "bench" / "bench_list.widget"
ANSWER_CARD = HERE.parent / "examples" / "bench" / "answer_card.widget"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(n, unit, runs, setup, run):
    rss_before = peak_rss_mb()
    seconds, check = [], None
    for _ in range(runs):
        state = setup()
        start = time.perf_counter()
        this = run(state)
        seconds.append(time.perf_counter() - start)
        assert check is None or check == this, f"check counters differ: {check} vs {this}"
        check = this
    median = statistics.median(seconds)
    return {
        "n": n, "seconds": median, "per_sec": n / median, "peak_rss_mb": peak_rss_mb(),
        "unit": unit, "runs_seconds": seconds, "rss_before_runs_mb": rss_before, "check": check,
    }


# ---- pipeline_text ---------------------------------------------------------------------


def memory_store():
    """A fresh in-memory store (plain maps; add_thread_item/save_item upsert by id)."""
    from chatkit.store import NotFoundError, Store
    from chatkit.types import Page

    class MemoryStore(Store[dict]):
        """Plain maps; add_thread_item/save_item upsert by id."""

        def __init__(self):
            self.threads, self.items, self.attachments = {}, {}, {}

        async def load_thread(self, thread_id, context):
            if thread_id not in self.threads:
                raise NotFoundError(f"thread {thread_id} not found")
            return self.threads[thread_id].model_copy()

        async def save_thread(self, thread, context):
            self.threads[thread.id] = thread.model_copy()

        async def load_thread_items(self, thread_id, after, limit, order, context):
            items = list(self.items.get(thread_id, {}).values())
            if order == "desc":
                items.reverse()
            start = 0
            if after is not None:
                start = next(i for i, it in enumerate(items) if it.id == after) + 1
            page = items[start:start + limit]
            has_more = start + limit < len(items)
            return Page(data=page, has_more=has_more, after=page[-1].id if has_more and page else None)

        async def save_attachment(self, attachment, context):
            self.attachments[attachment.id] = attachment

        async def load_attachment(self, attachment_id, context):
            return self.attachments[attachment_id]

        async def delete_attachment(self, attachment_id, context):
            self.attachments.pop(attachment_id, None)

        async def load_threads(self, limit, after, order, context):
            threads = list(self.threads.values())
            return Page(data=threads[:limit], has_more=len(threads) > limit, after=None)

        async def add_thread_item(self, thread_id, item, context):
            self.items.setdefault(thread_id, {})[item.id] = item.model_copy()

        async def save_item(self, thread_id, item, context):
            self.items.setdefault(thread_id, {})[item.id] = item.model_copy()

        async def load_item(self, thread_id, item_id, context):
            return self.items[thread_id][item_id]

        async def delete_thread(self, thread_id, context):
            self.threads.pop(thread_id, None)
            self.items.pop(thread_id, None)

        async def delete_thread_item(self, thread_id, item_id, context):
            self.items.get(thread_id, {}).pop(item_id, None)


    return MemoryStore()


def pipeline_text(args):
    from datetime import datetime

    from chatkit.server import ChatKitServer
    from chatkit.types import (
        AssistantMessageContent,
        AssistantMessageContentPartAdded,
        AssistantMessageContentPartDone,
        AssistantMessageContentPartTextDelta,
        AssistantMessageItem,
        ThreadItemAddedEvent,
        ThreadItemDoneEvent,
        ThreadItemUpdatedEvent,
    )

    n = args.pipeline_n

    class BenchServer(ChatKitServer[dict]):
        async def respond(self, thread, input_user_message, context):
            item = AssistantMessageItem(
                id="msg_bench_assistant", thread_id=thread.id, created_at=datetime.now(), content=[]
            )
            yield ThreadItemAddedEvent(item=item)
            yield ThreadItemUpdatedEvent(
                item_id=item.id,
                update=AssistantMessageContentPartAdded(
                    content_index=0, content=AssistantMessageContent(text="", annotations=[])
                ),
            )
            for _ in range(n):
                yield ThreadItemUpdatedEvent(
                    item_id=item.id,
                    update=AssistantMessageContentPartTextDelta(content_index=0, delta=TEXT_DELTA),
                )
            full = AssistantMessageContent(text=TEXT_DELTA * n, annotations=[])
            yield ThreadItemUpdatedEvent(
                item_id=item.id, update=AssistantMessageContentPartDone(content_index=0, content=full)
            )
            yield ThreadItemDoneEvent(item=item.model_copy(update={"content": [full]}))

    body = json.dumps({
        "type": "threads.create",
        "params": {"input": {"content": [{"type": "input_text", "text": "Benchmark, please."}],
                             "attachments": [], "inference_options": {}}},
    }).encode()

    def run(_):
        async def go():
            server = BenchServer(memory_store())
            result = await server.process(body, {})
            events = total = 0
            async for chunk in result:
                events += 1
                total += len(chunk)
            return {"events": events, "approx_bytes": total // 1000}

        return asyncio.run(go())

    return measure(n + 7, "SSE events", args.runs, lambda: None, run)


# ---- agent_text -------------------------------------------------------------------------


def empty_run(agent):
    """A streamed run of `agent` with nothing in it yet: the test feeds its event queue."""
    from agents import RunContextWrapper
    from agents.result import RunResultStreaming

    return RunResultStreaming(
        input="", new_items=[], raw_responses=[], final_output=None,
        input_guardrail_results=[], output_guardrail_results=[],
        tool_input_guardrail_results=[], tool_output_guardrail_results=[],
        context_wrapper=RunContextWrapper(context=None), current_agent=agent,
        current_turn=0, max_turns=1, _current_agent_output_schema=None, trace=None,
    )


def agent_text(args):
    from agents import Agent
    from agents.run_internal.run_steps import QueueCompleteSentinel
    from agents.stream_events import RawResponsesStreamEvent
    from openai.types.responses import (
        ResponseContentPartAddedEvent,
        ResponseContentPartDoneEvent,
        ResponseOutputItemAddedEvent,
        ResponseOutputItemDoneEvent,
        ResponseOutputMessage,
        ResponseOutputText,
        ResponseTextDeltaEvent,
        ResponseTextDoneEvent,
    )

    from chatkit.agents import AgentContext, stream_agent_response
    from chatkit.types import ThreadMetadata

    n = args.agent_n
    item_id = "msg_agent_1"
    full = TEXT_DELTA * n
    part = ResponseOutputText(type="output_text", text="", annotations=[])
    done_part = ResponseOutputText(type="output_text", text=full, annotations=[])
    seq = iter(range(10**9))
    raw = [
        ResponseOutputItemAddedEvent(
            type="response.output_item.added", output_index=0, sequence_number=next(seq),
            item=ResponseOutputMessage(id=item_id, role="assistant", status="in_progress",
                                       type="message", content=[]),
        ),
        ResponseContentPartAddedEvent(
            type="response.content_part.added", item_id=item_id, output_index=0,
            content_index=0, part=part, sequence_number=next(seq),
        ),
    ]
    raw += [
        ResponseTextDeltaEvent(
            type="response.output_text.delta", item_id=item_id, output_index=0,
            content_index=0, delta=TEXT_DELTA, logprobs=[], sequence_number=next(seq),
        )
        for _ in range(n)
    ]
    raw += [
        ResponseTextDoneEvent(
            type="response.output_text.done", item_id=item_id, output_index=0,
            content_index=0, text=full, logprobs=[], sequence_number=next(seq),
        ),
        ResponseContentPartDoneEvent(
            type="response.content_part.done", item_id=item_id, output_index=0,
            content_index=0, part=done_part, sequence_number=next(seq),
        ),
        ResponseOutputItemDoneEvent(
            type="response.output_item.done", output_index=0, sequence_number=next(seq),
            item=ResponseOutputMessage(id=item_id, role="assistant", status="completed",
                                       type="message", content=[done_part]),
        ),
    ]
    events = [RawResponsesStreamEvent(data=e) for e in raw]
    agent = Agent(name="bench")

    def setup():
        result = empty_run(agent)
        return result

    def run(result):
        from chatkit.store import Store  # noqa: F401  (the context wants a store object)

        async def go():
            store = _NullStore()
            ctx = AgentContext(
                thread=ThreadMetadata(id="thr_bench", created_at=__import__("datetime").datetime.now()),
                store=store, request_context={},
            )
            for e in events:
                result._event_queue.put_nowait(e)
            result._event_queue.put_nowait(QueueCompleteSentinel())
            counts = {}
            async for event in stream_agent_response(ctx, result):
                kind = event.type
                if kind == "thread.item.updated":
                    kind = event.update.type
                counts[kind] = counts.get(kind, 0) + 1
            return counts

        return asyncio.run(go())

    return measure(n + 4, "ChatKit events", args.runs, setup, run)


class _NullStore:
    """The agent_text store: empty, so no workflow is resumed."""

    def generate_item_id(self, item_type, thread, context):
        from chatkit.store import default_generate_id

        return default_generate_id(item_type)

    async def load_thread_items(self, thread_id, after, limit, order, context):
        from chatkit.types import Page

        return Page(data=[], has_more=False, after=None)


# ---- widget_stream ----------------------------------------------------------------------


def widget_stream(args):
    from datetime import datetime

    from chatkit.server import stream_widget
    from chatkit.types import ThreadMetadata
    from chatkit.widgets import DynamicWidgetRoot

    s, chunk = args.widget_states, args.widget_chunk
    states = [
        DynamicWidgetRoot.model_validate({"type": "Card", "children": [
            {"type": "Markdown", "id": "m", "value": chunk * i, "streaming": True}]})
        for i in range(s)
    ]
    thread = ThreadMetadata(id="thr_bench", created_at=datetime.now())

    def run(_):
        async def gen():
            for state in states:
                yield state

        async def go():
            events = deltas = 0
            async for event in stream_widget(thread, gen(), copy_text=None,
                                             generate_id=lambda _: "msg_widget"):
                events += 1
                if event.type == "thread.item.updated" and \
                        event.update.type == "widget.streaming_text.value_delta":
                    deltas += 1
            return {"events": events, "deltas": deltas}

        return asyncio.run(go())

    return measure(s, "widget states", args.runs, lambda: None, run)


# ---- template_build ---------------------------------------------------------------------


def template_data(k):
    statuses = ["open", "in progress", "blocked", "done"]
    return {"title": "Benchmark list", "items": [
        {"id": f"item-{i}", "title": f"Item number {i} <&> \"quoted\"", "status": statuses[i % 4],
         "qty": i % 7, "price": i * 1.25, "done": i % 4 == 3}
        for i in range(k)
    ]}


def template_build(args):
    from chatkit.widgets import WidgetTemplate

    template = WidgetTemplate.from_file(str(TEMPLATE))
    data = template_data(args.template_items)

    def run(_):
        last = None
        for _ in range(args.template_reps):
            last = template.build(data)
        return {
            "children": len(last.children),
            "last_output_chars": len(last.model_dump_json(by_alias=True, exclude_none=True)),
        }

    return measure(args.template_reps, "builds", args.runs, lambda: None, run)


# ---- diff_large -------------------------------------------------------------------------


def diff_large(args):
    from chatkit.server import diff_widget
    from chatkit.widgets import DynamicWidgetRoot

    def tree(appended):
        children = []
        for i in range(args.diff_children):
            if i % 10:
                children.append({"type": "Text", "value": f"Line {i}: initial text"})
            else:
                value = f"Line {i}: initial text" + (" + appended words" if appended else "")
                children.append({"type": "Text", "id": f"t{i}", "value": value, "streaming": True})
        return DynamicWidgetRoot.model_validate({"type": "Card", "children": children})

    before, after = tree(False), tree(True)

    def run(_):
        updates = None
        for _ in range(args.diff_reps):
            updates = diff_widget(before, after)
        kinds = {u.type for u in updates}
        return {"updates": len(updates), "kind": kinds.pop() if len(kinds) == 1 else sorted(kinds)}

    return measure(args.diff_reps, "diffs", args.runs, lambda: None, run)


# ---- template_stream_growth -------------------------------------------------------------


def template_stream_growth(args):
    """The seeds' pattern, as `examples/template_stream_growth.rs` runs it in its `rebuild`
    form: a nested run's text deltas (a RunResultStreaming fed the model's delta events)
    rebuild the answer card per delta; `stream_widget` diffs the builds; the server
    frames them as SSE. One request, `--answer-chars` characters in `--delta-chars` pieces."""
    from agents import Agent
    from agents.run_internal.run_steps import QueueCompleteSentinel
    from agents.stream_events import RawResponsesStreamEvent
    from openai.types.responses import ResponseTextDeltaEvent

    from chatkit.server import ChatKitServer, stream_widget
    from chatkit.widgets import WidgetTemplate

    template = WidgetTemplate.from_file(str(ANSWER_CARD))
    chars, step = args.answer_chars, args.delta_chars
    growth_text = GROWTH_TEXTS[args.growth_text]
    text = (growth_text * (chars // len(growth_text) + 1))[:chars]
    deltas = [text[i:i + step] for i in range(0, len(text), step)]
    events = [
        RawResponsesStreamEvent(data=ResponseTextDeltaEvent(
            type="response.output_text.delta", item_id="msg_writer", output_index=0,
            content_index=0, delta=d, logprobs=[], sequence_number=i,
        ))
        for i, d in enumerate(deltas)
    ]
    sources = [{"title": f"Source number {i}: a document the answer cites"} for i in range(1, 6)]
    writer = Agent(name="Writer")

    def data(answer, streaming):
        return {"title": "Answer", "streaming": streaming, "sources": sources, "id": "ans_1",
                "answer": answer}

    class GrowthServer(ChatKitServer[dict]):
        async def respond(self, thread, input_user_message, context):
            run = empty_run(writer)
            for event in events:
                run._event_queue.put_nowait(event)
            run._event_queue.put_nowait(QueueCompleteSentinel())

            async def states():
                answer = ""
                yield template.build(data(answer, True))
                async for event in run.stream_events():
                    if event.type == "raw_response_event" and \
                            event.data.type == "response.output_text.delta":
                        answer += event.data.delta
                        yield template.build(data(answer, True))
                yield template.build(data(answer, False))

            async for event in stream_widget(thread, states()):
                yield event

    body = json.dumps({
        "type": "threads.create",
        "params": {"input": {"content": [{"type": "input_text", "text": "Answer, please."}],
                             "attachments": [], "inference_options": {}}},
    }).encode()

    async def go():
        server = GrowthServer(memory_store())
        start = time.perf_counter()
        result = await server.process(body, {})
        frames = total = text_deltas = 0
        first = last = None
        async for chunk in result:
            frames += 1
            total += len(chunk)
            if b"widget.streaming_text.value_delta" in chunk:
                text_deltas += 1
                last = time.perf_counter()
                first = first or last
        return time.perf_counter() - start, frames, total, text_deltas, (last - first) if first else 0

    rss_before = peak_rss_mb()
    seconds, frames, total, text_deltas, span = asyncio.run(go())
    return {
        "form": "rebuild", "text": args.growth_text, "answer_chars": chars, "deltas": len(deltas),
        "seconds": seconds,
        "us_per_delta": seconds * 1e6 / max(len(deltas), 1),
        "us_per_delta_streaming": span * 1e6 / max(len(deltas) - 1, 1),
        "frames": frames, "text_delta_frames": text_deltas, "sse_mb": total / 1e6,
        "peak_rss_mb": peak_rss_mb(), "rss_before_mb": rss_before,
    }


# ---- driver -----------------------------------------------------------------------------


def growth(args):
    """template_stream_growth at each size, each in a fresh child within the timeout."""
    rows = []
    for chars in args.growth_sizes.split(","):
        argv = [sys.executable, os.path.abspath(__file__), "--child", "template_stream_growth",
                "--answer-chars", chars, "--delta-chars", str(args.delta_chars),
                "--growth-text", args.growth_text]
        try:
            out = subprocess.run(argv, check=True, capture_output=True, text=True,
                                 timeout=args.growth_timeout).stdout
            rows.append(json.loads(out))
        except subprocess.TimeoutExpired:
            rows.append({"form": "rebuild", "answer_chars": int(chars),
                         "timed_out_after_seconds": args.growth_timeout})
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pipeline-n", type=int, default=20000)
    p.add_argument("--agent-n", type=int, default=20000)
    p.add_argument("--widget-states", type=int, default=2000)
    p.add_argument("--widget-chunk", type=int, default=len(WIDGET_CHUNK),
                   help="length of the chunk each state appends (cycles WIDGET_CHUNK)")
    p.add_argument("--template-items", type=int, default=50)
    p.add_argument("--template-reps", type=int, default=5000)
    p.add_argument("--diff-children", type=int, default=500)
    p.add_argument("--diff-reps", type=int, default=2000)
    p.add_argument("--answer-chars", type=int, default=1000)
    p.add_argument("--delta-chars", type=int, default=8)
    p.add_argument("--growth-sizes", default="1000,10000,100000")
    p.add_argument("--growth-text", choices=sorted(GROWTH_TEXTS), default="plain",
                   help="template_stream_growth's answer: plain text, or mixed (quotes, accents, HTML)")
    p.add_argument("--growth-timeout", type=float, default=900,
                   help="seconds a template_stream_growth size may take before it is reported as timed out")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--scenarios", default=",".join(SCENARIOS))
    p.add_argument("--in-process", action="store_true")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.widget_chunk = (WIDGET_CHUNK * (args.widget_chunk // len(WIDGET_CHUNK) + 1))[:args.widget_chunk]

    if args.child:
        print(json.dumps(globals()[args.child](args)))
        return
    results = {}
    for name in args.scenarios.split(","):
        if name == "template_stream_growth":
            results[name] = growth(args)
            continue
        if name not in SCENARIOS:
            sys.exit(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS + EXTRA_SCENARIOS)}")
        if args.in_process:
            results[name] = globals()[name](args)
            continue
        argv = [a for a in sys.argv[1:] if a != "--in-process"]
        out = subprocess.run([sys.executable, os.path.abspath(__file__), *argv, "--child", name],
                             check=True, capture_output=True, text=True).stdout
        results[name] = json.loads(out)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
