//! A headless Chromium (Debian's `chromium`, installed by `.ci/run`;
//! `CHATKIT_TEST_CHROMIUM` names another binary) driven over the DevTools protocol:
//! start it, open a page, evaluate JavaScript, wait for a condition, take screenshots.
//! The browser is killed by its PID when dropped.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// A headless Chromium, killed when dropped.
pub struct Chromium {
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
    pub fn start() -> (Chromium, String) {
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
pub struct Cdp {
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next: AtomicU64,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Cdp {
    pub async fn connect(url: &str) -> Cdp {
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

    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
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
pub struct Page {
    cdp: Cdp,
    session: String,
}

impl Page {
    pub async fn open(cdp: Cdp, url: &str) -> Page {
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

    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.cdp.call(Some(&self.session), method, params).await
    }

    /// Evaluates `expression` in the page (promises awaited): its value.
    pub async fn eval(&self, expression: &str) -> Value {
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
    pub async fn wait_for(&self, what: &str, expression: &str) -> Value {
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

    pub async fn screenshot(&self, name: &str) {
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

    pub async fn type_and_send(&self, text: &str) {
        self.eval(&format!(
            "document.getElementById('message').value = {}; document.getElementById('send').click(); true",
            json!(text)
        ))
        .await;
    }

    /// Clicks the button whose label is `label` (the last one, the newest widget's; a
    /// widget button's label is its `data-label`, beside its icons).
    pub async fn click_button(&self, label: &str) {
        let clicked = self
            .eval(&format!(
                "(() => {{ const b = [...document.querySelectorAll('#items button')].filter(b => (b.dataset.label ?? b.innerText.trim()) === {}); if (!b.length) return false; b[b.length - 1].click(); return true; }})()",
                json!(label)
            ))
            .await;
        assert_eq!(clicked, json!(true), "no button {label}");
    }

    pub async fn idle(&self) {
        self.wait_for(
            "the stream to end",
            "!document.getElementById('send').disabled",
        )
        .await;
    }

    pub async fn new_thread(&self) {
        self.eval("document.getElementById('new-thread').click(); true")
            .await;
    }
}
