// ChatKit devtools: a thread list, a thread as a user sees it (messages, workflows,
// widgets, client tool calls) with a composer, and an inspector of every request and
// SSE frame. Plain JavaScript, no dependencies: everything it needs is served by the
// server it inspects, so it works without a network. Frames are checked against the
// server's own protocol types (POST <endpoint>/devtools/validate).
"use strict";

const $ = (id) => document.getElementById(id);
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
};

const state = {
  threads: [],
  threadsAfter: null,
  itemsAfter: null,
  entities: [],
  thread: null, // the current thread's metadata, or null for a new one
  items: new Map(), // id -> item, in order
  streaming: null, // AbortController of the response in flight
  detached: false, // whether its frames carry ids (a detached run)
  allowCancel: true,
  lastUserItem: null,
  attachments: [], // attachments uploaded for the next message
  attachmentsEnabled: false,
};

// ---------------------------------------------------------------- settings

const settings = {
  endpoint() { return $("endpoint").value.trim() || defaultEndpoint(); },
  headers() {
    const text = $("headers").value.trim();
    if (!text) return {};
    try { return JSON.parse(text); } catch { return {}; }
  },
};

function defaultEndpoint() {
  return location.pathname.replace(/\/devtools\/?$/, "") || "/chatkit";
}

for (const id of ["endpoint", "headers", "model", "tool"]) {
  const saved = localStorage.getItem("chatkit-devtools." + id);
  if (saved !== null) $(id).value = saved;
  $(id).addEventListener("change", () => localStorage.setItem("chatkit-devtools." + id, $(id).value));
}
if (!$("endpoint").value) $("endpoint").value = defaultEndpoint();

// ---------------------------------------------------------------- inspector

let logCount = 0;

function logEntry(kind, label, detail, elapsed, gap) {
  const entry = el("li", { class: kind, "data-n": String(++logCount) },
    el("span", { class: "t" }, elapsed === undefined ? "" : `+${elapsed.toFixed(1)}ms` + (gap === undefined ? "" : ` Δ${gap.toFixed(1)}`)),
    el("span", { class: "type", onclick: () => entry.classList.toggle("open") }, label),
    el("pre", {}, typeof detail === "string" ? detail : JSON.stringify(detail, null, 2)));
  $("log").append(entry);
  entry.scrollIntoView({ block: "nearest" });
  return entry;
}

function flag(entry, message) {
  entry.classList.add("bad");
  entry.querySelector(".type").append(" ", el("span", { class: "flag", title: message }, "✗ " + message));
}

$("clear-log").addEventListener("click", () => { $("log").textContent = ""; });

// The built-in icons as glyphs (the web component draws its own; a page with no network
// has only the system's fonts). Every name of the crate's `BuiltinIcon` is here (a unit
// test checks); others (`vendor:`, `lucide:` names) show as their first letter.
const ICONS = {
  "agent": "🤖",
  "analytics": "📊",
  "atom": "⚛",
  "batch": "▤",
  "bolt": "⚡",
  "book-open": "📖",
  "book-closed": "📕",
  "book-clock": "📚",
  "bug": "🐞",
  "calendar": "📅",
  "chart": "📈",
  "check": "✓",
  "check-circle": "✅",
  "check-circle-filled": "✔",
  "chevron-left": "‹",
  "chevron-right": "›",
  "circle-question": "❓",
  "clock": "🕒",
  "compass": "🧭",
  "confetti": "🎉",
  "cube": "🧊",
  "desktop": "🖥",
  "document": "📄",
  "dot": "•",
  "dots-horizontal": "⋯",
  "dots-vertical": "⋮",
  "empty-circle": "○",
  "external-link": "↗",
  "globe": "🌐",
  "keys": "🔑",
  "lab": "🧪",
  "images": "🖼",
  "info": "ℹ",
  "lifesaver": "🛟",
  "lightbulb": "💡",
  "mail": "✉",
  "map-pin": "📍",
  "maps": "🗺",
  "mobile": "📱",
  "name": "🏷",
  "notebook": "📓",
  "notebook-pencil": "📝",
  "page-blank": "📃",
  "phone": "📞",
  "play": "▶",
  "plus": "+",
  "profile": "👤",
  "profile-card": "🪪",
  "reload": "↻",
  "star": "☆",
  "star-filled": "★",
  "search": "🔍",
  "sparkle": "✦",
  "sparkle-double": "✨",
  "square-code": "⌨",
  "square-image": "🖼",
  "square-text": "🗒",
  "suitcase": "💼",
  "settings-slider": "🎚",
  "user": "👤",
  "wreath": "🏵",
  "write": "✎",
  "write-alt": "✏",
  "write-alt2": "🖊",
};

function iconGlyph(name) {
  return ICONS[name] || (name ? String(name).replace(/^[a-z]+:/, "").charAt(0).toUpperCase() : "");
}

// ---------------------------------------------------------------- protocol

function request(body, signal) {
  return fetch(settings.endpoint(), {
    method: "POST",
    headers: { "content-type": "application/json", ...settings.headers() },
    body: JSON.stringify(body),
    signal,
  });
}

/// Sends a non-streaming request: its JSON answer, logged.
async function call(body) {
  const start = performance.now();
  logEntry("request", `→ ${body.type}`, body);
  const response = await request(body);
  const text = await response.text();
  const elapsed = performance.now() - start;
  let json = null;
  try { json = JSON.parse(text); } catch { /* shown raw */ }
  const entry = logEntry("json", `← ${response.status} JSON`, json ?? text, elapsed);
  if (!response.ok) {
    flag(entry, `HTTP ${response.status}`);
    throw new Error(json?.error?.message || `HTTP ${response.status}`);
  }
  return json;
}

/// Sends a streaming request and applies each event as it arrives.
function stream(body) {
  logEntry("request", `→ ${body.type}`, body);
  return follow((signal) => request(body, signal));
}

/// Joins the detached run answering in the current thread from `lastEventId` (the last
/// frame this page saw before a reload): `GET <endpoint>/runs/events`.
function resume(lastEventId) {
  logEntry("request", `→ resume from ${lastEventId}`, { "last-event-id": lastEventId });
  return follow((signal) => fetch(settings.endpoint() + "/runs/events", {
    headers: { ...settings.headers(), "last-event-id": lastEventId },
    signal,
  }));
}

/// Reads the SSE response `open` starts, applying and logging each frame.
async function follow(open) {
  const controller = new AbortController();
  state.streaming = controller;
  state.detached = false;
  state.allowCancel = true;
  updateComposer();
  const start = performance.now();
  let last = start;
  const frames = [];
  let ended = false;
  try {
    const response = await open(controller.signal);
    if (!response.ok || !(response.headers.get("content-type") || "").startsWith("text/event-stream")) {
      const text = await response.text();
      const entry = logEntry("json", `← ${response.status}`, text, performance.now() - start);
      if (!response.ok) flag(entry, `HTTP ${response.status}`);
      let message = text;
      try { message = JSON.parse(text).error?.message || text; } catch { /* raw */ }
      showBanner(message);
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const raw = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const now = performance.now();
        const frame = parseFrame(raw);
        const label = frame.event?.type ? `${frame.event.type}${frame.event.update ? " " + frame.event.update.type : ""}` : "(frame)";
        const entry = logEntry("frame", (frame.id ? `[${frame.id}] ` : "") + label, frame.event ?? raw, now - start, now - last);
        last = now;
        if (frame.error) { flag(entry, frame.error); continue; }
        frames.push({ entry, event: frame.event });
        try { apply(frame.event); } catch (error) { flag(entry, "could not apply: " + error.message); }
        // A detached run's frames carry ids: remember the last, to rejoin after a reload.
        if (frame.id && state.thread) {
          state.detached = true;
          localStorage.setItem("chatkit-devtools.last-event." + state.thread.id, frame.id);
        }
      }
    }
    ended = true;
  } catch (error) {
    if (error.name === "AbortError") logEntry("frame", "■ stopped by the user", "", performance.now() - start);
    else { logEntry("frame", "✗ " + error.message, String(error.stack || error)); showBanner(error.message); }
  } finally {
    if (ended && state.thread) {
      localStorage.removeItem("chatkit-devtools.last-event." + state.thread.id);
      // A run shown as `locked` while it answered: the thread's status now.
      if (state.thread.status?.type === "locked") {
        call({ type: "threads.get_by_id", params: { thread_id: state.thread.id } }).then(setThread, () => {});
      }
    }
    state.streaming = null;
    updateComposer();
    $("progress").hidden = true;
    validate(frames);
    refreshThreads();
  }
}

function parseFrame(raw) {
  let id = null;
  const data = [];
  for (const line of raw.split("\n")) {
    if (line.startsWith("id:")) id = line.slice(3).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return { id, error: "no data line" };
  try { return { id, event: JSON.parse(data.join("\n")) }; } catch (error) { return { id, error: "not JSON: " + error.message }; }
}

/// Asks the server whether each frame parses as its protocol's ThreadStreamEvent.
async function validate(frames) {
  if (!frames.length) return;
  try {
    const response = await fetch(settings.endpoint() + "/devtools/validate", {
      method: "POST",
      headers: { "content-type": "application/json", ...settings.headers() },
      body: JSON.stringify({ events: frames.map((f) => f.event) }),
    });
    const result = await response.json();
    for (const problem of result.problems || []) {
      const frame = frames[problem.index];
      if (frame) flag(frame.entry, problem.error);
    }
  } catch (error) {
    logEntry("json", "✗ frames not validated", String(error));
  }
}

// ---------------------------------------------------------------- events

function apply(event) {
  switch (event.type) {
    case "thread.created":
    case "thread.updated":
      setThread(event.thread);
      for (const item of event.thread.items?.data || []) upsert(item);
      break;
    case "thread.item.added":
    case "thread.item.done":
    case "thread.item.replaced":
      upsert(event.item);
      break;
    case "thread.item.removed":
      state.items.delete(event.item_id);
      document.querySelector(`[data-item="${CSS.escape(event.item_id)}"]`)?.remove();
      break;
    case "thread.item.updated":
      update(event.item_id, event.update);
      break;
    case "stream_options":
      state.allowCancel = event.stream_options?.allow_cancel !== false;
      updateComposer();
      break;
    case "progress_update":
      $("progress").hidden = false;
      $("progress").textContent = event.text;
      break;
    case "client_effect":
      logEntry("frame", `client effect ${event.name}`, event.data || {});
      break;
    case "error":
      showBanner(event.message || event.code || "error", false, event.allow_retry);
      break;
    case "notice":
      showBanner((event.title ? event.title + ": " : "") + event.message, true);
      break;
    default:
      throw new Error(`unknown event type ${event.type}`);
  }
}

function update(itemId, change) {
  const item = state.items.get(itemId);
  if (!item) throw new Error(`update of unknown item ${itemId}`);
  switch (change.type) {
    case "assistant_message.content_part.added":
      item.content[change.content_index] = change.content;
      break;
    case "assistant_message.content_part.text_delta": {
      const part = (item.content[change.content_index] ||= { type: "output_text", text: "", annotations: [] });
      part.text += change.delta;
      item._streaming = true;
      break;
    }
    case "assistant_message.content_part.annotation_added": {
      const part = item.content[change.content_index];
      (part.annotations ||= [])[change.annotation_index] = change.annotation;
      break;
    }
    case "assistant_message.content_part.done":
      item.content[change.content_index] = change.content;
      item._streaming = false;
      break;
    case "widget.streaming_text.value_delta": {
      const node = findNode(item.widget, change.component_id);
      if (!node) throw new Error(`no widget node ${change.component_id}`);
      node.value = (node.value || "") + change.delta;
      node.streaming = !change.done;
      break;
    }
    case "widget.component.updated":
      replaceNode(item.widget, change.component_id, change.component);
      break;
    case "widget.root.updated":
      item.widget = change.widget;
      break;
    case "workflow.task.added":
    case "workflow.task.updated":
      item.workflow.tasks[change.task_index] = change.task;
      break;
    case "generated_image.updated":
      item.image = change.image;
      item._progress = change.progress;
      break;
    default:
      throw new Error(`unknown update type ${change.type}`);
  }
  render(item);
}

function findNode(node, id) {
  if (!node || typeof node !== "object") return null;
  if (node.id === id) return node;
  const children = Array.isArray(node.children) ? node.children : node.children ? [node.children] : [];
  for (const child of children) {
    const found = findNode(child, id);
    if (found) return found;
  }
  return null;
}

function replaceNode(node, id, replacement) {
  const children = Array.isArray(node.children) ? node.children : [];
  for (let i = 0; i < children.length; i++) {
    if (children[i]?.id === id) { children[i] = replacement; return true; }
    if (replaceNode(children[i], id, replacement)) return true;
  }
  return false;
}

// ---------------------------------------------------------------- threads

async function refreshThreads(more = false) {
  try {
    const page = await call({ type: "threads.list", params: { limit: 20, order: "desc", ...(more && state.threadsAfter ? { after: state.threadsAfter } : {}) } });
    state.threads = more ? state.threads.concat(page.data) : page.data;
    state.threadsAfter = page.has_more ? page.after : null;
    renderThreads(page.has_more);
  } catch { /* logged */ }
}

function renderThreads(hasMore) {
  const list = $("thread-list");
  list.textContent = "";
  for (const thread of state.threads) {
    list.append(el("li", {
      class: state.thread?.id === thread.id ? "current" : "",
      "data-thread": thread.id,
      title: thread.id,
      onclick: () => openThread(thread.id),
    }, thread.title || thread.id));
  }
  $("more-threads").hidden = !hasMore;
}

async function openThread(id) {
  const thread = await call({ type: "threads.get_by_id", params: { thread_id: id } });
  state.items.clear();
  $("items").textContent = "";
  setThread(thread);
  for (const item of thread.items?.data || []) upsert(item);
  setItemsAfter(thread.items);
  renderThreads(!!state.threadsAfter);
  const lastEventId = localStorage.getItem("chatkit-devtools.last-event." + id);
  if (thread.status?.type === "locked" && lastEventId && !state.streaming) await resume(lastEventId);
}

// A thread opens on its first page of items (oldest first, as the reference loads
// it); "More items" reads the next pages with items.list.
function setItemsAfter(page) {
  state.itemsAfter = page?.has_more ? page.after : null;
  $("more-items").hidden = !state.itemsAfter;
}

async function moreItems() {
  if (!state.thread || !state.itemsAfter) return;
  try {
    const page = await call({ type: "items.list", params: { thread_id: state.thread.id, after: state.itemsAfter, order: "asc", limit: 20 } });
    for (const item of page.data) upsert(item);
    setItemsAfter(page);
  } catch { /* logged */ }
}

function setThread(thread) {
  state.thread = thread;
  $("thread-title").textContent = thread.title || thread.id;
  const status = thread.status || { type: "active" };
  $("thread-status").textContent = status.type === "active" ? "" : status.type + (status.reason ? `: ${status.reason}` : "");
  // Token totals, when the server shares them (ChatKitServer::usage_in_thread_metadata).
  const usage = thread.metadata?.usage;
  $("thread-usage").textContent = usage ? `${usage.total_tokens} tokens (${usage.input_tokens} in, ${usage.cached_input_tokens} cached, ${usage.output_tokens} out) in ${usage.requests} model calls` : "";
  $("rename").hidden = $("delete").hidden = false;
  updateComposer();
}

function newThread() {
  state.thread = null;
  state.items.clear();
  $("items").textContent = "";
  $("thread-title").textContent = "New thread";
  $("thread-status").textContent = "";
  $("thread-usage").textContent = "";
  setItemsAfter(null);
  $("rename").hidden = $("delete").hidden = true;
  hideBanner();
  renderThreads(!!state.threadsAfter);
}

$("new-thread").addEventListener("click", newThread);
$("refresh").addEventListener("click", () => refreshThreads());
$("more-threads").addEventListener("click", () => refreshThreads(true));
$("more-items").addEventListener("click", moreItems);
$("rename").addEventListener("click", async () => {
  const title = prompt("Title", state.thread?.title || "");
  if (title === null || !state.thread) return;
  const thread = await call({ type: "threads.update", params: { thread_id: state.thread.id, title } });
  setThread({ ...state.thread, ...thread });
  refreshThreads();
});
$("delete").addEventListener("click", async () => {
  if (!state.thread || !confirm("Delete this thread?")) return;
  await call({ type: "threads.delete", params: { thread_id: state.thread.id } });
  newThread();
  refreshThreads();
});

// ---------------------------------------------------------------- items

function upsert(item) {
  state.items.set(item.id, item);
  if (item.type === "user_message") state.lastUserItem = item.id;
  render(item);
}

function render(item) {
  const node = renderItem(item);
  node.dataset.item = item.id;
  const existing = document.querySelector(`[data-item="${CSS.escape(item.id)}"]`);
  if (existing) existing.replaceWith(node);
  else $("items").append(node);
  node.scrollIntoView({ block: "nearest" });
}

function renderItem(item) {
  const hidden = item.type === "hidden_context_item" || item.type === "sdk_hidden_context";
  const box = el("div", { class: `item ${item.type}${hidden ? " hidden" : ""}` });
  switch (item.type) {
    case "user_message":
      box.append(...item.content.map((part) => part.type === "input_tag" ? el("span", { class: "tag", title: part.id }, "@" + part.text) : part.text));
      if (item.quoted_text) box.prepend(el("blockquote", {}, item.quoted_text));
      for (const attachment of item.attachments || []) box.append(renderAttachment(attachment));
      break;
    case "assistant_message": {
      for (const part of item.content) box.append(markdown(part.text || "", item._streaming));
      const sources = item.content.flatMap((part) => part.annotations || []).map((a) => a.source).filter(Boolean);
      if (sources.length) box.append(el("div", { class: "sources" }, "Sources: ", sources.map((s, i) => [i ? ", " : "", s.url ? el("a", { href: safeUrl(s.url), target: "_blank" }, s.title || s.url) : s.title || s.type])));
      if (!item._streaming) {
        box.append(el("div", { class: "actions" },
          el("button", { onclick: () => feedback(item.id, "positive"), title: "items.feedback positive" }, "Good"),
          el("button", { onclick: () => feedback(item.id, "negative"), title: "items.feedback negative" }, "Bad")));
      }
      break;
    }
    case "widget":
      box.append(renderWidget(item.widget, { itemId: item.id, form: null }));
      break;
    case "workflow":
      box.append(renderWorkflow(item.workflow));
      break;
    case "task":
      box.append(el("div", { class: "task" }, renderTask(item.task)));
      break;
    case "client_tool_call":
      box.append(renderClientToolCall(item));
      break;
    case "generated_image":
      box.append(el("div", { class: "generated_image" },
        item.image?.url ? el("img", { class: "w-Image", src: safeUrl(item.image.url), alt: "generated image" }) : "Generating an image…",
        item._progress !== undefined ? el("div", { class: "meta" }, `${Math.round(item._progress * 100)}%`) : null));
      break;
    case "structured_input":
      box.append(el("div", { class: "structured" }, el("div", { class: "meta" }, "structured input"), el("pre", {}, JSON.stringify(item, null, 2))));
      break;
    case "hidden_context_item":
    case "sdk_hidden_context":
      box.append(el("div", { class: "meta" }, `hidden (${item.type}), not shown to users`), el("pre", {}, typeof item.content === "string" ? item.content : JSON.stringify(item.content, null, 2)));
      break;
    case "end_of_turn":
      box.append(el("div", { class: "meta" }, "end of turn"));
      break;
    default:
      box.append(el("div", { class: "meta" }, `unknown item type ${item.type}`), el("pre", {}, JSON.stringify(item, null, 2)));
  }
  return box;
}

function renderAttachment(attachment) {
  return el("span", { class: "attachment", title: attachment.mime_type },
    attachment.type === "image" && attachment.preview_url ? el("img", { src: safeUrl(attachment.preview_url), alt: attachment.name }) : null,
    attachment.name);
}

const STATUS = { none: "", loading: "◌", complete: "✓" };

function renderTask(task) {
  const title = task.title || task.title_query || task.type;
  const line = el("div", { class: "task-line" }, el("span", { class: "status" }, STATUS[task.status_indicator] ?? ""), " ", el("strong", {}, title));
  if (task.content) line.append(el("div", {}, markdown(task.content)));
  if (task.queries?.length) line.append(el("div", { class: "meta" }, task.queries.join(" · ")));
  for (const source of task.sources || []) line.append(el("div", { class: "sources" }, source.url ? el("a", { href: safeUrl(source.url), target: "_blank" }, source.title || source.url) : source.title || source.filename));
  for (const image of task.images || []) line.append(el("img", { class: "w-Image", src: safeUrl(image.url || ""), alt: "" }));
  return line;
}

function renderWorkflow(workflow) {
  const summary = workflow.summary?.title || (workflow.summary?.duration !== undefined ? `Thought for ${workflow.summary.duration} s` : `${workflow.type} workflow (${workflow.tasks.length} tasks)`);
  return el("details", { class: "workflow", open: workflow.expanded || !workflow.summary },
    el("summary", {}, summary), workflow.tasks.map(renderTask));
}

function renderClientToolCall(item) {
  const box = el("div", { class: "client_tool_call" },
    el("div", { class: "meta" }, `client tool call ${item.name} (${item.status || "pending"})`),
    el("pre", {}, JSON.stringify(item.arguments, null, 2)));
  if ((item.status || "pending") === "pending" && state.thread) {
    const input = el("textarea", { rows: 3, cols: 40, placeholder: '{"result": "..."}' });
    box.append(input, el("button", {
      onclick: async () => {
        let result;
        try { result = JSON.parse(input.value || "{}"); } catch (error) { showBanner("The result must be JSON: " + error.message); return; }
        // The server saves the completed call without sending it again: show it so.
        item.status = "completed";
        item.output = result;
        render(item);
        await stream({ type: "threads.add_client_tool_output", params: { thread_id: state.thread.id, result } });
      },
    }, "Send result"));
  } else if (item.output !== undefined) {
    box.append(el("pre", {}, JSON.stringify(item.output, null, 2)));
  }
  return box;
}

async function feedback(itemId, kind) {
  if (!state.thread) return;
  await call({ type: "items.feedback", params: { thread_id: state.thread.id, item_ids: [itemId], kind } });
}

// ---------------------------------------------------------------- markdown (a safe subset)

function safeUrl(url) {
  return /^(https?:|data:image\/|\/)/i.test(url) ? url : "#";
}

function inline(text) {
  const out = [];
  const pattern = /(\*\*[^*]+\*\*|`[^`]+`|\[[^\]]+\]\([^)]+\)|\*[^*]+\*)/g;
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    out.push(text.slice(at, match.index));
    const token = match[0];
    if (token.startsWith("**")) out.push(el("strong", {}, token.slice(2, -2)));
    else if (token.startsWith("`")) out.push(el("code", {}, token.slice(1, -1)));
    else if (token.startsWith("[")) {
      const [, label, url] = token.match(/\[([^\]]+)\]\(([^)]+)\)/);
      out.push(el("a", { href: safeUrl(url), target: "_blank" }, label));
    } else out.push(el("em", {}, token.slice(1, -1)));
    at = match.index + token.length;
  }
  out.push(text.slice(at));
  return out;
}

function markdown(text, streaming) {
  const root = el("div", { class: "md" + (streaming ? " streaming" : "") });
  const blocks = text.split(/\n{2,}/);
  for (const block of blocks) {
    if (block.startsWith("```")) {
      root.append(el("pre", {}, block.replace(/^```[^\n]*\n?/, "").replace(/```$/, "")));
    } else if (/^#{1,6} /.test(block)) {
      const level = block.match(/^#+/)[0].length;
      root.append(el("h" + Math.min(level + 2, 6), {}, inline(block.replace(/^#+ /, ""))));
    } else if (/^[-*] /m.test(block) && block.split("\n").every((l) => /^[-*] /.test(l))) {
      root.append(el("ul", {}, block.split("\n").map((l) => el("li", {}, inline(l.slice(2))))));
    } else {
      const lines = block.split("\n");
      root.append(el("p", {}, lines.map((line, i) => [i ? el("br") : null, inline(line)])));
    }
  }
  return root;
}

// ---------------------------------------------------------------- widgets

function style(node, props) {
  const px = (v) => (typeof v === "number" ? `${v * 4}px` : v);
  const css = [];
  if (props.gap !== undefined) css.push(`gap:${px(props.gap)}`);
  if (typeof props.padding === "number" || typeof props.padding === "string") css.push(`padding:${px(props.padding)}`);
  if (props.align) css.push(`align-items:${props.align === "start" ? "flex-start" : props.align === "end" ? "flex-end" : props.align}`);
  if (props.justify) css.push(`justify-content:${{ start: "flex-start", end: "flex-end", between: "space-between", around: "space-around", evenly: "space-evenly" }[props.justify] || props.justify}`);
  if (props.flex !== undefined) css.push(`flex:${props.flex}`);
  if (props.width !== undefined) css.push(`width:${typeof props.width === "number" ? props.width + "px" : props.width}`);
  if (props.height !== undefined) css.push(`height:${typeof props.height === "number" ? props.height + "px" : props.height}`);
  if (typeof props.background === "string") css.push(`background:${props.background}`);
  if (typeof props.color === "string" && !["primary", "secondary", "success", "danger", "warning", "info", "discovery", "caution"].includes(props.color)) css.push(`color:${props.color}`);
  if (typeof props.border === "number") css.push(`border:${props.border}px solid #ddd`);
  if (props.border?.size !== undefined) css.push(`border:${props.border.size}px ${props.border.style || "solid"} ${typeof props.border.color === "string" ? props.border.color : "#ddd"}`);
  if (props.textAlign) css.push(`text-align:${props.textAlign}`);
  if (props.weight) css.push(`font-weight:${{ normal: 400, medium: 500, semibold: 600, bold: 700 }[props.weight] || 400}`);
  if (props.italic) css.push("font-style:italic");
  if (props.lineThrough) css.push("text-decoration:line-through");
  if (css.length) node.setAttribute("style", css.join(";"));
  return node;
}

function children(node) {
  return Array.isArray(node.children) ? node.children : node.children ? [node.children] : [];
}

/// An action from a widget: client-handled ones are logged, the rest go to the server.
async function runAction(action, ctx, extraPayload) {
  if (!action) return;
  const payload = extraPayload ? { ...(action.payload || {}), ...extraPayload } : action.payload;
  const sent = payload === undefined ? { ...action } : { ...action, payload };
  if (action.handler === "client") {
    logEntry("frame", `client action ${action.type} (handled by the page)`, sent);
    return;
  }
  if (!state.thread) { showBanner("Widget actions need a thread."); return; }
  if (action.streaming === false) {
    const result = await call({ type: "threads.sync_custom_action", params: { thread_id: state.thread.id, item_id: ctx.itemId, action: sent } });
    if (result?.updated_item) upsert(result.updated_item);
    return;
  }
  await stream({ type: "threads.custom_action", params: { thread_id: state.thread.id, item_id: ctx.itemId, action: sent } });
}

function formValues(form) {
  const values = {};
  for (const control of form.querySelectorAll("[name]")) {
    if (control.type === "checkbox") values[control.name] = control.checked;
    else if (control.type === "radio") { if (control.checked) values[control.name] = control.value; }
    else values[control.name] = control.value;
  }
  return values;
}

function renderWidget(node, ctx) {
  if (!node || typeof node !== "object") return el("span", { class: "w-unknown" }, JSON.stringify(node));
  const kids = (c = ctx) => children(node).map((child) => renderWidget(child, c));
  const type = node.type;
  let out;
  switch (type) {
    case "Card": {
      const asForm = !!node.asForm;
      out = el(asForm ? "form" : "div", { class: `w-Card size-${node.size || "md"}${node.theme === "dark" ? " dark" : ""}` });
      const inner = { ...ctx, form: asForm ? out : ctx.form };
      if (node.status) out.append(el("div", { class: "w-Caption" }, node.status.text));
      out.append(...children(node).map((child) => renderWidget(child, inner)));
      if (node.confirm || node.cancel) {
        const buttons = el("div", { class: "w-card-actions" });
        if (node.cancel) buttons.append(el("button", { type: "button", onclick: () => runAction(node.cancel.action, ctx) }, node.cancel.label));
        if (node.confirm) buttons.append(el("button", { type: "button", class: "w-Button solid", onclick: () => runAction(node.confirm.action, ctx, asForm ? formValues(out) : undefined) }, node.confirm.label));
        out.append(buttons);
      }
      if (asForm) out.addEventListener("submit", (e) => e.preventDefault());
      break;
    }
    case "ListView":
      out = el("div", { class: "w-ListView" }, (node.limit && node.limit !== "auto" ? children(node).slice(0, node.limit) : children(node)).map((child) => renderWidget(child, ctx)));
      break;
    case "ListViewItem":
      // A click on a control inside the item (its star button, a field) is that
      // control's, not the item's, as in the web component.
      out = el("div", {
        class: "w-ListViewItem" + (node.onClickAction ? " clickable" : ""),
        onclick: node.onClickAction ? (event) => {
          const control = event.target.closest?.("button, a, input, select, textarea, label, form");
          if (control && event.currentTarget.contains(control)) return;
          runAction(node.onClickAction, ctx);
        } : undefined,
      }, kids());
      break;
    case "Basic": case "Box": case "Row": case "Col":
      out = el("div", { class: `w-${type}` }, kids());
      if (type === "Box" && node.direction === "row") out.style.flexDirection = "row";
      break;
    case "Form": {
      out = el("form", { class: "w-Form" });
      out.append(...kids({ ...ctx, form: out }));
      out.addEventListener("submit", (e) => { e.preventDefault(); runAction(node.onSubmitAction, ctx, formValues(out)); });
      break;
    }
    case "Text": {
      const tag = node.editable ? "input" : "div";
      out = node.editable
        ? el(tag, { class: "w-Text", name: node.editable.name, value: node.value, placeholder: node.editable.placeholder })
        : el("div", { class: "w-Text" + (node.streaming ? " streaming" : "") }, node.value);
      break;
    }
    case "Title": out = el("div", { class: "w-Title" }, node.value); break;
    case "Caption": out = el("div", { class: "w-Caption" }, node.value); break;
    case "Markdown": out = el("div", { class: "w-Markdown" }, markdown(node.value || "", node.streaming)); break;
    case "Badge": out = el("span", { class: `w-Badge ${node.color || ""}` }, node.label); break;
    case "Divider": out = el("hr", { class: "w-Divider" }); break;
    case "Spacer": out = el("div", { class: "w-Spacer" }); break;
    case "Icon": out = el("span", { class: "w-Icon", title: node.name }, iconGlyph(node.name)); break;
    case "Image": out = el("img", { class: "w-Image", src: safeUrl(node.src || ""), alt: node.alt || "" }); break;
    case "Button": {
      const submit = !!node.submit;
      out = el("button", {
        type: "button",
        class: `w-Button ${node.style === "primary" || node.variant === "solid" ? "solid" : ""} ${node.color || ""} ${node.block ? "block" : ""}`,
        disabled: node.disabled,
        "data-icon": node.iconStart,
        "data-label": node.label,
        title: node.iconStart,
        onclick: () => {
          if (submit && ctx.form) {
            const values = formValues(ctx.form);
            const formAction = node.onClickAction;
            if (formAction) runAction(formAction, ctx, values);
            else ctx.form.requestSubmit();
          } else runAction(node.onClickAction, ctx);
        },
      }, ...[node.iconStart ? el("span", { class: "w-icon-start" }, iconGlyph(node.iconStart)) : null, node.label || null, node.iconEnd ? el("span", { class: "w-icon-end" }, iconGlyph(node.iconEnd)) : null].filter(Boolean));
      break;
    }
    case "Input":
      out = el("input", { class: "w-Input", name: node.name, type: node.inputType || "text", value: node.defaultValue, placeholder: node.placeholder, required: node.required, disabled: node.disabled });
      break;
    case "Textarea":
      out = el("textarea", { class: "w-Textarea", name: node.name, rows: node.rows || 3, placeholder: node.placeholder, required: node.required, disabled: node.disabled }, node.defaultValue || "");
      break;
    case "Label": out = el("label", { class: "w-Label", for: node.fieldName }, node.value); break;
    case "Select": {
      out = el("select", { class: "w-Select", name: node.name, disabled: node.disabled },
        node.placeholder ? el("option", { value: "" }, node.placeholder) : null,
        (node.options || []).map((o) => el("option", { value: o.value, selected: o.value === node.defaultValue, disabled: o.disabled }, o.label)));
      if (node.onChangeAction) out.addEventListener("change", () => runAction(node.onChangeAction, ctx, { [node.name]: out.value }));
      break;
    }
    case "DatePicker": {
      out = el("input", { class: "w-DatePicker", type: "date", name: node.name, value: node.defaultValue, disabled: node.disabled });
      if (node.onChangeAction) out.addEventListener("change", () => runAction(node.onChangeAction, ctx, { [node.name]: out.value }));
      break;
    }
    case "Checkbox": {
      const box = el("input", { type: "checkbox", name: node.name, checked: node.defaultChecked, disabled: node.disabled });
      if (node.onChangeAction) box.addEventListener("change", () => runAction(node.onChangeAction, ctx, { [node.name]: box.checked }));
      out = el("label", { class: "w-Checkbox" }, box, " ", node.label || "");
      break;
    }
    case "RadioGroup": {
      out = el("div", { class: "w-RadioGroup" }, (node.options || []).map((o) => {
        const radio = el("input", { type: "radio", name: node.name, value: o.value, checked: o.value === node.defaultValue, disabled: node.disabled || o.disabled });
        if (node.onChangeAction) radio.addEventListener("change", () => runAction(node.onChangeAction, ctx, { [node.name]: o.value }));
        return el("label", {}, radio, " ", o.label);
      }));
      break;
    }
    case "Transition": out = el("div", { class: "w-Transition" }, kids()); break;
    case "Table": out = el("table", { class: "w-Table" }, el("tbody", {}, kids())); break;
    case "Table.Row": {
      const row = el("tr", { class: "w-TableRow" });
      for (const cell of children(node)) {
        const td = renderWidget(cell, ctx);
        if (node.header && td.tagName === "TD") { const th = el("th", {}); th.append(...td.childNodes); for (const a of td.attributes) th.setAttribute(a.name, a.value); row.append(th); } else row.append(td);
      }
      out = row;
      break;
    }
    case "Table.Cell":
      out = el("td", { class: "w-TableCell", colspan: node.colSpan, rowspan: node.rowSpan }, kids());
      if (node.align) out.style.textAlign = node.align;
      if (node.vAlign) out.style.verticalAlign = { start: "top", center: "middle", end: "bottom" }[node.vAlign];
      return out;
    case "Chart":
      out = el("div", { class: "w-Chart" }, el("div", { class: "meta" }, "Chart (as data)"), el("pre", {}, JSON.stringify({ series: node.series, data: node.data }, null, 2)));
      break;
    default:
      out = el("div", { class: "w-unknown", title: `unknown component ${type}` }, el("div", { class: "meta" }, `unknown component ${type}`), el("pre", {}, JSON.stringify(node, null, 2)));
  }
  if (node.id) out.dataset.node = node.id;
  return style(out, node);
}

// ---------------------------------------------------------------- composer

function updateComposer() {
  const busy = !!state.streaming;
  $("send").disabled = busy;
  $("stop").disabled = !busy || !state.allowCancel;
  $("retry").hidden = busy || !state.thread || !state.lastUserItem;
}

function content(text) {
  const parts = [];
  let plain = "";
  for (const word of text.split(/(\s+)/)) {
    if (/^@\S+$/.test(word)) {
      if (plain) { parts.push({ type: "input_text", text: plain }); plain = ""; }
      const name = word.slice(1);
      // A tag picked from the server's entities carries the entity; any other @word
      // is a tag of its own name.
      const entity = state.entities.find((e) => e.id === name);
      parts.push(entity
        ? { type: "input_tag", id: entity.id, text: entity.title, data: entity.data || {}, group: entity.group, interactive: !!entity.interactive }
        : { type: "input_tag", id: name, text: name, data: {}, interactive: false });
    } else plain += word;
  }
  if (plain || !parts.length) parts.push({ type: "input_text", text: plain });
  return parts;
}

function inferenceOptions() {
  const options = {};
  if ($("model").value.trim()) options.model = $("model").value.trim();
  if ($("tool").value.trim()) options.tool_choice = { id: $("tool").value.trim() };
  return options;
}

$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("message").value;
  if (!text.trim() && !state.attachments.length) return;
  $("message").value = "";
  hideBanner();
  const input = { content: content(text), attachments: state.attachments.map((a) => a.id), inference_options: inferenceOptions() };
  state.attachments = [];
  $("attached").textContent = "";
  if (state.thread) await stream({ type: "threads.add_user_message", params: { thread_id: state.thread.id, input } });
  else await stream({ type: "threads.create", params: { input } });
});

$("stop").addEventListener("click", async () => {
  const detached = state.detached;
  state.streaming?.abort();
  // A detached run goes on without its client: stop it on the server too.
  if (detached && state.thread) {
    const start = performance.now();
    logEntry("request", "→ runs/cancel", { thread_id: state.thread.id });
    const response = await fetch(settings.endpoint() + "/runs/cancel", {
      method: "POST",
      headers: { "content-type": "application/json", ...settings.headers() },
      body: JSON.stringify({ thread_id: state.thread.id }),
    });
    logEntry("json", `← ${response.status}`, await response.text(), performance.now() - start);
  }
});
$("retry").addEventListener("click", () => {
  if (!state.thread || !state.lastUserItem) return;
  hideBanner();
  stream({ type: "threads.retry_after_item", params: { thread_id: state.thread.id, item_id: state.lastUserItem } });
});

$("attach-button").addEventListener("click", () => $("attach").click());
$("attach").addEventListener("change", async () => {
  const file = $("attach").files[0];
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name);
  const start = performance.now();
  logEntry("request", `→ upload ${file.name} (${file.type || "?"}, ${file.size} bytes)`, { name: file.name, type: file.type, size: file.size });
  const response = await fetch(settings.endpoint() + "/attachments", { method: "POST", headers: settings.headers(), body: form });
  const json = await response.json().catch(() => null);
  const entry = logEntry("json", `← ${response.status} attachment`, json, performance.now() - start);
  if (!response.ok) { flag(entry, `HTTP ${response.status}`); showBanner(json?.error?.message || "upload failed"); return; }
  state.attachments.push(json);
  $("attached").textContent = state.attachments.map((a) => a.name).join(", ");
  $("attach").value = "";
});

function showBanner(text, notice = false, retry = false) {
  $("banner").hidden = false;
  $("banner").className = notice ? "notice" : "";
  $("banner").textContent = text;
  if (retry) $("retry").hidden = false;
}

function hideBanner() { $("banner").hidden = true; }

// ---------------------------------------------------------------- composer options

// What the server offers (ChatKitEndpoint::devtools_options, in the web component's
// option shapes): composer tools and models as suggestions of the tool and model
// fields, entities as suggestions after "@".
async function loadOptions() {
  try {
    const response = await fetch(settings.endpoint() + "/devtools/options.json", { headers: settings.headers() });
    if (!response.ok) return;
    const options = await response.json();
    const fill = (list, items) => {
      $(list).textContent = "";
      for (const item of items || []) $(list).append(el("option", { value: item.id }, item.label || item.id));
    };
    fill("tool-options", options.composer?.tools);
    fill("model-options", options.composer?.models);
    const preferred = (options.composer?.models || []).find((m) => m.default);
    if (preferred && !$("model").value) $("model").value = preferred.id;
    state.entities = Array.isArray(options.entities) ? options.entities : [];
  } catch { /* no options: free text */ }
}

/// The "@word" being typed at the cursor, if any.
function tagQuery() {
  const input = $("message");
  const before = input.value.slice(0, input.selectionStart ?? input.value.length);
  const match = /(^|\s)@(\S*)$/.exec(before);
  return match ? { query: match[2], start: before.length - match[2].length - 1 } : null;
}

function suggestTags() {
  const box = $("tag-suggestions");
  box.textContent = "";
  const typed = tagQuery();
  const query = typed?.query.toLowerCase();
  const found = typed ? state.entities.filter((e) => (e.title || "").toLowerCase().includes(query) || e.id.toLowerCase().startsWith(query)).slice(0, 8) : [];
  box.hidden = !found.length;
  for (const entity of found) {
    box.append(el("button", {
      type: "button",
      title: entity.id,
      onclick: () => {
        const input = $("message");
        const end = input.selectionStart ?? input.value.length;
        input.value = input.value.slice(0, typed.start) + "@" + entity.id + " " + input.value.slice(end);
        box.hidden = true;
        input.focus();
      },
    }, (entity.group ? entity.group + ": " : "") + entity.title));
  }
}

$("message").addEventListener("input", suggestTags);

// ---------------------------------------------------------------- start

updateComposer();
loadOptions();
refreshThreads();
