//! The devtools page in a real browser: Debian's `chromium` in headless mode (installed
//! by `.ci/run`; `CHATKIT_TEST_CHROMIUM` names another binary), driven over the
//! DevTools protocol from this test, against the demo app on a loopback port. The page
//! loads with no request leaving the server's origin; a message streams its answer;
//! a widget's server action replaces the widget; an approval card is approved; a file
//! is uploaded and described; a stream is stopped; a form adds a task; a client tool
//! call is answered by the page; a detached run is rejoined after a
//! reload of the page; a long thread's items are paged, and a thread renamed and
//! deleted; a failed answer is retried; finishing every task sends a client effect;
//! the server's composer tools and entities are offered and sent. Screenshots of each step go to
//! `target/devtools-screenshots/`; the browser is stopped by its PID.

#![cfg(unix)]

use std::time::Duration;

use chatkit_agents::store::AttachmentLimits;
use serde_json::json;

mod support;
use chatkit_agents::runs::DisconnectPolicy;
use support::browser::{Cdp, Chromium, Page};
use support::uploads::{start, start_local};

/// A script that is true once the inspector has an entry whose label passes `test`
/// (a JavaScript expression over `label`).
fn logged(test: &str) -> String {
    format!("[...document.querySelectorAll('#log li .type')].some(e => {{ const label = e.innerText; return {test}; }})")
}

/// Chromium on the devtools page of the demo at `base`, once the page has loaded its
/// thread list.
async fn open_devtools(base: &str) -> (Chromium, Page) {
    let (browser, url) = Chromium::start();
    let page = Page::open(
        Cdp::connect(&url).await,
        &format!("{base}/chatkit/devtools"),
    )
    .await;
    page.wait_for(
        "the thread list",
        "document.querySelectorAll('#log li').length >= 2",
    )
    .await;
    (browser, page)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_devtools_page_drives_the_demo_in_a_real_browser() {
    let demo = start(AttachmentLimits::default()).await;
    let (_browser, url) = Chromium::start();
    let cdp = Cdp::connect(&url).await;
    let requests = cdp.requests.clone();
    let page = Page::open(cdp, &format!("{}/chatkit/devtools", demo.base)).await;
    page.wait_for(
        "the thread list",
        "document.querySelectorAll('#log li').length >= 2",
    )
    .await;
    page.screenshot("01-loaded").await;

    // A message, streamed: the weather card from a tool, then the answer.
    page.type_and_send("What's the weather in Paris?").await;
    page.wait_for(
        "the weather card",
        "document.querySelector('#items .w-Card')",
    )
    .await;
    page.idle().await;
    let text = page
        .eval("document.getElementById('items').innerText")
        .await;
    assert!(text.as_str().unwrap().contains("Paris"), "{text}");
    page.wait_for("the answer", "[...document.querySelectorAll('.item.assistant_message')].some(e => e.innerText.includes('Done'))").await;
    page.screenshot("02-weather").await;

    // A client action (`handler: "client"`) stays in the page: logged, not sent.
    page.click_button("Open map").await;
    page.wait_for(
        "the client action",
        &logged("label.startsWith('client action weather.open_map')"),
    )
    .await;
    // The card's server action replaces the widget.
    page.click_button("Refresh").await;
    page.wait_for(
        "the replaced widget",
        &logged("label.includes('thread.item.replaced')"),
    )
    .await;
    page.idle().await;
    page.screenshot("03-refreshed").await;

    // An approval card, approved.
    page.new_thread().await;
    page.type_and_send("Delete the task Stream a widget").await;
    page.wait_for(
        "the approval card",
        "[...document.querySelectorAll('#items button')].some(b => b.innerText === 'Approve')",
    )
    .await;
    page.idle().await;
    page.screenshot("04-approval").await;
    page.click_button("Approve").await;
    page.wait_for(
        "the approved card",
        "[...document.querySelectorAll('#items .w-Badge')].some(b => b.innerText === 'Approved')",
    )
    .await;
    page.idle().await;
    page.screenshot("05-approved").await;

    // A file, uploaded through the direct route and described by the offline model.
    page.new_thread().await;
    let file = demo.dir.join("notes.txt");
    std::fs::write(&file, "hello from the browser\nsecond line\n").unwrap();
    let document = page.call("DOM.getDocument", json!({})).await;
    let input = page
        .call(
            "DOM.querySelector",
            json!({"nodeId": document["root"]["nodeId"], "selector": "#attach"}),
        )
        .await;
    page.call(
        "DOM.setFileInputFiles",
        json!({"nodeId": input["nodeId"], "files": [file.display().to_string()]}),
    )
    .await;
    page.wait_for(
        "the upload",
        "document.getElementById('attached').innerText.includes('notes.txt')",
    )
    .await;
    page.type_and_send("what is in it?").await;
    page.wait_for(
        "the description",
        "document.getElementById('items').innerText.includes('hello from the browser')",
    )
    .await;
    // The thread's token totals (the demo shares them in the thread's metadata).
    page.wait_for(
        "the thread's usage",
        "/^\\d+ tokens \\(10 in, 0 cached, \\d+ out\\) in 1 model calls$/.test(document.getElementById('thread-usage').innerText)",
    )
    .await;
    page.idle().await;
    page.screenshot("06-attachment").await;

    // A slow answer, stopped.
    page.new_thread().await;
    page.type_and_send("Research about Rust").await;
    page.wait_for(
        "the research workflow",
        "document.querySelector('#items .workflow')",
    )
    .await;
    page.eval("document.getElementById('stop').click(); true")
        .await;
    page.wait_for("the stop", &logged("label.includes('stopped by the user')"))
        .await;
    page.idle().await;
    page.screenshot("07-stopped").await;

    // A form: its field goes to the server with the action.
    page.new_thread().await;
    page.type_and_send("Show my tasks").await;
    page.wait_for(
        "the task list",
        "document.querySelector('#items .w-ListView input[name=title]')",
    )
    .await;
    page.idle().await;
    page.eval("document.querySelector('#items input[name=title]').value = 'Write the docs'; true")
        .await;
    page.click_button("Add").await;
    page.wait_for("the added task", "[...document.querySelectorAll('#items .w-ListViewItem')].some(e => e.innerText.includes('Write the docs'))").await;
    page.idle().await;
    page.screenshot("08-form").await;

    // The star answers synchronously (`streaming: false`): the widget comes back in the
    // JSON answer of threads.sync_custom_action.
    let icon = "document.querySelector('#items .w-ListViewItem button').dataset.icon";
    let before = page.eval(icon).await;
    page.eval("document.querySelector('#items .w-ListViewItem button').click(); true")
        .await;
    page.wait_for(
        "the sync action",
        &logged("label === '→ threads.sync_custom_action'"),
    )
    .await;
    page.wait_for("the starred task", &format!("{icon} !== {before}"))
        .await;
    // The star is the button's own: the item around it (which toggles the task) is not
    // clicked with it.
    page.idle().await;
    assert_eq!(
        page.eval("document.querySelector('#items .w-ListViewItem .w-Icon').title")
            .await,
        json!("empty-circle"),
        "the task was not toggled"
    );
    // Feedback on an answer.
    page.eval("[...document.querySelectorAll('.item.assistant_message button')].find(b => b.innerText === 'Good').click(); true").await;
    page.wait_for("the feedback", &logged("label === '→ items.feedback'"))
        .await;

    // A client tool call, answered by the page.
    page.new_thread().await;
    page.type_and_send("What time is it?").await;
    page.wait_for(
        "the client tool call",
        "document.querySelector('#items .client_tool_call textarea')",
    )
    .await;
    page.idle().await;
    page.eval("document.querySelector('#items .client_tool_call textarea').value = '{\"time\": \"12:34\"}'; true").await;
    page.click_button("Send result").await;
    page.wait_for("the answer using the result", "[...document.querySelectorAll('.item.assistant_message')].some(e => e.innerText.includes('12:34'))").await;
    page.idle().await;
    page.screenshot("09-client-tool").await;

    // Every frame parsed as the protocol; nothing left the server's origin.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let flagged = page
        .eval("[...document.querySelectorAll('#log li.bad')].map(e => e.innerText).join('\\n')")
        .await;
    assert_eq!(flagged, json!(""), "flagged frames");
    let requests = requests.lock().unwrap().clone();
    assert!(requests.len() > 10, "{requests:?}");
    for url in &requests {
        assert!(
            url.starts_with(&demo.base) || url.starts_with("data:"),
            "a request left the origin: {url}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_run_is_rejoined_after_a_reload() {
    let demo = start_local(AttachmentLimits::default(), DisconnectPolicy::detach()).await;
    let (_browser, page) = open_devtools(&demo.base).await;
    page.type_and_send("Research about Rust").await;
    page.wait_for(
        "the research workflow",
        "document.querySelector('#items .workflow')",
    )
    .await;
    // Reload mid-answer: the run goes on without its client.
    page.call("Page.reload", json!({"ignoreCache": true})).await;
    page.wait_for(
        "the reloaded thread list",
        "document.querySelector('#thread-list li')",
    )
    .await;
    page.eval("document.querySelector('#thread-list li').click(); true")
        .await;
    page.wait_for("the resume", &logged("label.startsWith('→ resume from')"))
        .await;
    page.wait_for(
        "the answer after the resume",
        "document.querySelector('#items .item.assistant_message')",
    )
    .await;
    page.idle().await;
    let tasks = page
        .eval("document.querySelectorAll('#items .workflow .task-line').length")
        .await;
    assert_eq!(tasks, json!(4), "the whole workflow");
    page.wait_for(
        "the thread unlocked",
        "document.getElementById('thread-status').innerText === ''",
    )
    .await;
    page.screenshot("10-resumed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_are_paged_renamed_and_deleted() {
    let demo = start(AttachmentLimits::default()).await;
    // A thread of 24 items (12 exchanges), made over HTTP as the page's user (the
    // demo's default user: the page sends no user header).
    let client = reqwest::Client::new();
    let endpoint = format!("{}/chatkit", demo.base);
    let input = |text: String| json!({"content": [{"type": "input_text", "text": text}], "attachments": [], "inference_options": {}});
    let created = client
        .post(&endpoint)
        .json(&json!({"type": "threads.create", "params": {"input": input("message 1".into())}}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let thread_id = created.split("\"thr_").nth(1).unwrap()[..8].to_owned();
    let thread_id = format!("thr_{thread_id}");
    for n in 2..=12 {
        let body = json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": input(format!("message {n}"))}});
        let answer = client.post(&endpoint).json(&body).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        answer.text().await.unwrap();
    }

    let (_browser, page) = open_devtools(&demo.base).await;
    page.wait_for(
        "the thread in the list",
        "document.querySelector('#thread-list li')",
    )
    .await;
    page.eval("document.querySelector('#thread-list li').click(); true")
        .await;
    // The first page (20 items, oldest first), then the rest on request.
    let count = "document.querySelectorAll('#items .item').length";
    page.wait_for(
        "the first page",
        &format!("{count} === 20 && !document.getElementById('more-items').hidden"),
    )
    .await;
    page.eval("document.getElementById('more-items').click(); true")
        .await;
    page.wait_for(
        "every item",
        &format!("{count} === 24 && document.getElementById('more-items').hidden"),
    )
    .await;
    let last = page
        .eval("[...document.querySelectorAll('#items .item.user_message')].pop().innerText")
        .await;
    assert!(last.as_str().unwrap().contains("message 12"), "{last}");
    page.idle().await;
    page.screenshot("11-paged").await;

    // Rename (the page asks with prompt(), answered here) and delete (confirm()).
    page.eval("window.prompt = () => 'Renamed by the test'; true")
        .await;
    page.eval("document.getElementById('rename').click(); true")
        .await;
    page.wait_for(
        "the new title in the list",
        "[...document.querySelectorAll('#thread-list li')].some(li => li.innerText === 'Renamed by the test')",
    )
    .await;
    assert_eq!(
        page.eval("document.getElementById('thread-title').innerText")
            .await,
        json!("Renamed by the test")
    );
    page.eval("window.confirm = () => true; true").await;
    page.eval("document.getElementById('delete').click(); true")
        .await;
    page.wait_for(
        "the thread gone",
        "document.querySelectorAll('#thread-list li').length === 0 && document.querySelectorAll('#items .item').length === 0",
    )
    .await;
    let gone = client
        .post(&endpoint)
        .json(&json!({"type": "threads.get_by_id", "params": {"thread_id": thread_id}}))
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 404, "deleted on the server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_answer_is_retried_and_finished_tasks_celebrate() {
    let demo = start(AttachmentLimits::default()).await;
    let (_browser, page) = open_devtools(&demo.base).await;

    // The offline model fails this once, as a busy model would: the error says to try
    // again and the retry button sends threads.retry_after_item, which recovers.
    page.type_and_send("Please simulate an outage").await;
    page.wait_for(
        "the error banner",
        "!document.getElementById('banner').hidden && document.getElementById('banner').innerText.includes('try again')",
    )
    .await;
    page.idle().await;
    page.screenshot("12-outage").await;
    page.eval("document.getElementById('retry').click(); true")
        .await;
    page.wait_for(
        "the retry",
        &logged("label === '→ threads.retry_after_item'"),
    )
    .await;
    page.wait_for(
        "the recovered answer",
        "[...document.querySelectorAll('.item.assistant_message')].some(e => e.innerText.includes('Recovered'))",
    )
    .await;
    page.idle().await;
    assert_eq!(
        page.eval("document.getElementById('banner').hidden").await,
        json!(true),
        "the banner goes with the retry"
    );

    // Every task done: the server sends a client effect, which the page logs.
    page.new_thread().await;
    page.type_and_send("Show my tasks").await;
    page.wait_for(
        "the task list",
        "document.querySelector('#items .w-ListViewItem')",
    )
    .await;
    page.idle().await;
    let open_tasks = "[...document.querySelectorAll('#items .w-ListViewItem')].filter(e => e.querySelector('.w-Icon[title=empty-circle]'))";
    for left in (0..3).rev() {
        page.eval(&format!("{open_tasks}[0].click(); true")).await;
        // One click at a time: the next only once this toggle has come back.
        page.wait_for(
            "the toggled task",
            &format!("{open_tasks}.length === {left}"),
        )
        .await;
        page.idle().await;
    }
    page.wait_for(
        "the client effect",
        &logged("label.includes('client effect celebrate')"),
    )
    .await;
    page.screenshot("13-celebrate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn composer_tools_and_entity_tags_come_from_the_servers_options() {
    let demo = start(AttachmentLimits::default()).await;
    let (_browser, page) = open_devtools(&demo.base).await;
    // The demo's options: its composer tools as suggestions of the tool field.
    page.wait_for(
        "the composer tools",
        "[...document.querySelectorAll('#tool-options option')].map(o => o.value).join() === 'research,note,weather'",
    )
    .await;

    // "@pa" suggests the entity Paris; picking it writes its id.
    page.eval("const m = document.getElementById('message'); m.focus(); m.value = 'weather for @pa'; m.dispatchEvent(new Event('input')); true").await;
    page.wait_for(
        "the suggestion",
        "!document.getElementById('tag-suggestions').hidden && document.getElementById('tag-suggestions').innerText.includes('Cities: Paris')",
    )
    .await;
    page.eval("document.querySelector('#tag-suggestions button').click(); true")
        .await;
    assert_eq!(
        page.eval("document.getElementById('message').value").await,
        json!("weather for @paris ")
    );
    // The composer's Weather tool: the server forces its tool, the offline model calls it.
    page.eval("document.getElementById('tool').value = 'weather'; document.getElementById('send').click(); true").await;
    page.wait_for(
        "the weather card",
        "document.querySelector('#items .w-Card')",
    )
    .await;
    page.idle().await;
    let sent = page
        .eval("[...document.querySelectorAll('#log li')].find(li => li.innerText.includes('→ threads.create')).querySelector('pre').innerText")
        .await;
    let sent: serde_json::Value = serde_json::from_str(sent.as_str().unwrap()).unwrap();
    let input = &sent["params"]["input"];
    assert_eq!(input["inference_options"]["tool_choice"]["id"], "weather");
    let tag = input["content"]
        .as_array()
        .unwrap()
        .iter()
        .find(|part| part["type"] == "input_tag")
        .expect("the tag");
    assert_eq!(
        (&tag["id"], &tag["text"], &tag["group"]),
        (&json!("paris"), &json!("Paris"), &json!("Cities"))
    );
    let shown = page
        .eval("document.querySelector('#items .item.user_message .tag').innerText")
        .await;
    assert_eq!(shown, json!("@Paris"));
    let card = page
        .eval("document.querySelector('#items .w-Card').innerText")
        .await;
    assert!(
        card.as_str().unwrap().contains("Paris\n"),
        "the tagged city: {card}"
    );
    assert_eq!(
        page.eval("document.getElementById('tag-suggestions').hidden")
            .await,
        json!(true)
    );
    page.screenshot("14-composer-options").await;
}
