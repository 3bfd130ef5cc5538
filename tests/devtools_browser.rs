//! The devtools page in a real browser: Debian's `chromium` in headless mode (installed
//! by `.ci/run`; `CHATKIT_TEST_CHROMIUM` names another binary), driven over the
//! DevTools protocol from this test, against the demo app on a loopback port. The page
//! loads with no request leaving the server's origin; a message streams its answer;
//! a widget's server action replaces the widget; an approval card is approved; a file
//! is uploaded and described; a stream is stopped; a form adds a task; a client tool
//! call is answered by the page; a detached run is rejoined after a
//! reload of the page. Screenshots of each step go to
//! `target/devtools-screenshots/`; the browser is stopped by its PID.

#![cfg(unix)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use chatkit_agents::store::AttachmentLimits;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

mod support;
use chatkit_agents::runs::DisconnectPolicy;
use support::uploads::{start, start_local};

/// A headless Chromium, killed when dropped.
struct Chromium {
    child: Child,
    profile: std::path::PathBuf,
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Chromium {
    /// Starts the browser: its DevTools WebSocket URL.
    fn start() -> (Chromium, String) {
        let binary = std::env::var("CHATKIT_TEST_CHROMIUM").unwrap_or_else(|_| "chromium".into());
        static STARTED: AtomicU64 = AtomicU64::new(0);
        let profile = std::env::temp_dir().join(format!(
            "chatkit-chromium-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let mut child = Command::new(&binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-default-apps",
                "--window-size=1400,900",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary} (apt-get install chromium): {e}"));
        let stderr = child.stderr.take().unwrap();
        let (found, url) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let (false, Some(at)) = (sent, line.find("ws://")) {
                    let _ = found.send(line[at..].trim().to_owned());
                    sent = true;
                }
            }
        });
        let url = url
            .recv_timeout(Duration::from_secs(30))
            .expect("chromium prints its DevTools URL");
        (Chromium { child, profile }, url)
    }
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A DevTools protocol connection: calls by id, events to a channel.
struct Cdp {
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next: AtomicU64,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Cdp {
    async fn connect(url: &str) -> Cdp {
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("the DevTools socket");
        let (mut write, mut read) = socket.split();
        let (outgoing, mut queue) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = queue.recv().await {
                if write.send(message).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let (answers, urls) = (pending.clone(), requests.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = read.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if let Some(id) = value["id"].as_u64() {
                    if let Some(answer) = answers.lock().unwrap().remove(&id) {
                        let _ = answer.send(value);
                    }
                } else if value["method"] == "Network.requestWillBeSent" {
                    let url = value["params"]["request"]["url"]
                        .as_str()
                        .unwrap_or_default();
                    urls.lock().unwrap().push(url.to_owned());
                }
            }
        });
        Cdp {
            outgoing,
            pending,
            next: AtomicU64::new(1),
            requests,
        }
    }

    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (answer, result) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, answer);
        self.outgoing
            .send(Message::Text(message.to_string().into()))
            .unwrap();
        let value = tokio::time::timeout(Duration::from_secs(30), result)
            .await
            .unwrap_or_else(|_| panic!("{method}: no answer"))
            .unwrap();
        assert!(value.get("error").is_none(), "{method}: {value}");
        value["result"].clone()
    }
}

/// One page (a tab) of the browser.
struct Page {
    cdp: Cdp,
    session: String,
}

impl Page {
    async fn open(cdp: Cdp, url: &str) -> Page {
        let target = cdp
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = cdp
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        let session = attached["sessionId"].as_str().unwrap().to_owned();
        for domain in [
            "Page.enable",
            "Network.enable",
            "Runtime.enable",
            "DOM.enable",
        ] {
            cdp.call(Some(&session), domain, json!({})).await;
        }
        let page = Page { cdp, session };
        page.call("Page.navigate", json!({"url": url})).await;
        page
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        self.cdp.call(Some(&self.session), method, params).await
    }

    /// Evaluates `expression` in the page (promises awaited): its value.
    async fn eval(&self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("{expression}: {exception}");
        }
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is truthy (10 s at most): its value.
    async fn wait_for(&self, what: &str, expression: &str) -> Value {
        for _ in 0..200 {
            let value = self.eval(expression).await;
            if !(value.is_null()
                || value == json!(false)
                || value == json!("")
                || value == json!(0))
            {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let items = self
            .eval("document.getElementById('items').innerText")
            .await;
        let log = self
            .eval(
                "[...document.querySelectorAll('#log li .type')].map(e => e.innerText).join('\\n')",
            )
            .await;
        panic!("timed out waiting for {what}\nitems: {items}\nlog: {log}");
    }

    async fn screenshot(&self, name: &str) {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/devtools-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn type_and_send(&self, text: &str) {
        self.eval(&format!(
            "document.getElementById('message').value = {}; document.getElementById('send').click(); true",
            json!(text)
        ))
        .await;
    }

    /// Clicks the button whose text is `label` (the last one, the newest widget's).
    async fn click_button(&self, label: &str) {
        let clicked = self
            .eval(&format!(
                "(() => {{ const b = [...document.querySelectorAll('#items button')].filter(b => b.innerText.trim() === {}); if (!b.length) return false; b[b.length - 1].click(); return true; }})()",
                json!(label)
            ))
            .await;
        assert_eq!(clicked, json!(true), "no button {label}");
    }

    async fn idle(&self) {
        self.wait_for(
            "the stream to end",
            "!document.getElementById('send').disabled",
        )
        .await;
    }

    async fn new_thread(&self) {
        self.eval("document.getElementById('new-thread').click(); true")
            .await;
    }
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

    // The card's server action replaces the widget.
    page.click_button("Refresh").await;
    page.wait_for("the replaced widget", "[...document.querySelectorAll('#log li .type')].some(e => e.innerText.includes('thread.item.replaced'))").await;
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
    page.wait_for("the stop", "[...document.querySelectorAll('#log li .type')].some(e => e.innerText.includes('stopped by the user'))").await;
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
    let (_browser, url) = Chromium::start();
    let page = Page::open(
        Cdp::connect(&url).await,
        &format!("{}/chatkit/devtools", demo.base),
    )
    .await;
    page.wait_for(
        "the thread list",
        "document.querySelectorAll('#log li').length >= 2",
    )
    .await;
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
    page.wait_for("the resume", "[...document.querySelectorAll('#log li .type')].some(e => e.innerText.startsWith('→ resume from'))").await;
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
