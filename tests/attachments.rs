//! Attachments end to end over real HTTP: the demo app (offline model, SQLite) with an
//! `ObjectAttachmentStore` on a temporary folder, driven as the ChatKit web component
//! drives it in both upload strategies, and every hostile case of issue #29: each a
//! clear error, nothing stored, nothing lost.

use std::time::Duration;

use base64::Engine as _;
use chatkit_agents::store::{AttachmentLimits, Store};
use chatkit_agents_workspace::demo::RequestContext;
use serde_json::{json, Value};

mod support;
use support::uploads::{assistant_text, multipart, png, start, Demo};

#[tokio::test]
async fn two_phase_upload_reaches_the_model_previews_and_is_deleted_with_its_thread() {
    let demo = start(AttachmentLimits::default()).await;
    let image = png();
    let (status, created) = demo
        .create("ann", "dot.png", "image/png", image.len())
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["type"], "image");
    assert!(created.get("metadata").is_none());
    let descriptor = &created["upload_descriptor"];
    assert_eq!(descriptor["method"], "POST");
    assert!(descriptor["url"].as_str().unwrap().starts_with(&demo.base));
    assert_eq!(
        demo.upload(descriptor, "dot.png", "image/png", &image)
            .await,
        204
    );
    assert_eq!(demo.stored_files().len(), 1);

    let id = created["id"].as_str().unwrap();
    let events = demo
        .events("ann", Demo::message("what is this?", &[id]))
        .await;
    let thread_id = events[0]["thread"]["id"].as_str().unwrap().to_owned();
    let message = &events[1]["item"];
    assert_eq!(message["attachments"][0]["id"], id);
    assert_eq!(message["attachments"][0]["thread_id"], thread_id.as_str());
    let answer = assistant_text(&events);
    assert!(
        answer.contains("\"dot.png\" (image/png, 93 bytes, 2×1 pixels)"),
        "{answer}"
    );
    // The model got the bytes as a data URL, named by the line before it.
    let content = demo.last_user_content();
    assert_eq!(
        content[1]["text"],
        "Image attached: \"dot.png\" (image/png)"
    );
    let data = base64::engine::general_purpose::STANDARD.encode(&image);
    assert_eq!(
        content[2]["image_url"],
        format!("data:image/png;base64,{data}")
    );

    // The preview loads without the endpoint's credentials, as an <img> would.
    let preview = reqwest::get(created["preview_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    assert_eq!(preview.headers()["content-type"], "image/png");
    assert_eq!(preview.headers()["x-content-type-options"], "nosniff");
    assert!(preview.headers()["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("private"));
    assert_eq!(preview.bytes().await.unwrap(), image);

    // Deleting the thread deletes its files.
    let status = demo.delete_thread("ann", &thread_id).await;
    assert_eq!(status, 200);
    assert!(demo.stored_files().is_empty(), "{:?}", demo.stored_files());
    let gone = reqwest::get(created["preview_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn a_raw_put_to_the_upload_url_works_too() {
    let demo = start(AttachmentLimits::default()).await;
    let text = b"first line\nsecond line\n";
    let (_, created) = demo
        .create("ann", "notes.txt", "text/plain", text.len())
        .await;
    assert_eq!(created["type"], "file");
    let url = created["upload_descriptor"]["url"].as_str().unwrap();
    let put = demo
        .client
        .put(url)
        .body(text.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    // The same URL again: the bytes of an uploaded attachment never change.
    let again = demo
        .client
        .put(url)
        .body(b"other".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let id = created["id"].as_str().unwrap();
    let events = demo.events("ann", Demo::message("read it", &[id])).await;
    let answer = assistant_text(&events);
    assert!(answer.contains("first line: \"first line\""), "{answer}");
}

#[tokio::test]
async fn direct_upload_reaches_the_model_and_can_be_deleted() {
    let demo = start(AttachmentLimits::default()).await;
    let (status, attachment) = demo
        .direct("bob", "report.pdf", "application/pdf", b"%PDF-1.7\n%%EOF\n")
        .await;
    assert_eq!(status, 200, "{attachment}");
    assert_eq!(attachment["type"], "file");
    assert_eq!(attachment["name"], "report.pdf");
    assert!(attachment.get("upload_descriptor").is_none());
    let id = attachment["id"].as_str().unwrap().to_owned();
    let events = demo.events("bob", Demo::message("summarise", &[&id])).await;
    assert!(assistant_text(&events).contains("\"report.pdf\" (application/pdf, 15 bytes)"));
    let content = demo.last_user_content();
    assert_eq!(content[1]["type"], "input_file");
    assert_eq!(content[1]["filename"], "report.pdf");

    // attachments.delete removes bytes and metadata.
    let (status, second) = demo.direct("bob", "b.txt", "text/plain", b"bye").await;
    assert_eq!(status, 200);
    assert_eq!(demo.stored_files().len(), 2);
    let status = demo
        .delete_attachment("bob", second["id"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    assert_eq!(demo.stored_files().len(), 1);
    let events = demo
        .request(
            "bob",
            Demo::message("again", &[second["id"].as_str().unwrap()]),
        )
        .await;
    assert_eq!(events.status(), 404);
}

#[tokio::test]
async fn hostile_uploads_are_refused_and_leave_nothing() {
    let limits = AttachmentLimits::default()
        .allow("text/plain", 1024)
        .max_per_message(3);
    let demo = start(limits).await;
    let code = |(status, body): (u16, Value)| {
        (
            status,
            body["error"]["code"].as_str().unwrap_or("").to_owned(),
        )
    };

    // Direct uploads: oversize, a type not accepted, bytes that are not their type,
    // file names with a path or a NUL.
    let big = [b'a'; 2048];
    let direct: [(&str, &str, &[u8], u16, &str); 7] = [
        ("big.txt", "text/plain", &big, 413, "too_large"),
        (
            "x.exe",
            "application/x-msdownload",
            b"MZ",
            415,
            "type_not_allowed",
        ),
        (
            "cat.png",
            "image/png",
            b"<html><script>alert(1)</script>",
            415,
            "content_mismatch",
        ),
        ("t.txt", "text/plain", b"a\0b", 415, "content_mismatch"),
        (
            "../../etc/passwd",
            "text/plain",
            b"x",
            400,
            "invalid_upload",
        ),
        ("a\\b.txt", "text/plain", b"x", 400, "invalid_upload"),
        ("x\u{0}.txt", "text/plain", b"x", 400, "invalid_upload"),
    ];
    for (name, mime, bytes, status, error) in direct {
        let got = code(demo.direct("eve", name, mime, bytes).await);
        assert_eq!(got, (status, error.to_owned()), "{name} {mime}");
    }
    // attachments.create: oversize, names with a NUL or a path.
    for (name, size, status, error) in [
        ("big.txt", 2048, 413, "too_large"),
        ("a\u{0}b.txt", 1, 400, "invalid_upload"),
        ("..\\x.txt", 1, 400, "invalid_upload"),
    ] {
        let got = code(demo.create("eve", name, "text/plain", size).await);
        assert_eq!(got, (status, error.to_owned()), "{name}");
    }
    // A multipart body cut off mid-file, one without a file field, one not multipart.
    let (content_type, body) = multipart("cut.txt", "text/plain", b"some text");
    let cut = body[..body.len() - 12].to_vec();
    let no_file = b"------chatkit-test-boundary--\r\n".to_vec();
    // A field before the file far larger than a form field is (a small one is fine).
    let padded = |size: usize| {
        let mut body = format!(
            "------chatkit-test-boundary\r\nContent-Disposition: form-data; name=\"pad\"\r\n\r\n{}\r\n",
            "x".repeat(size)
        )
        .into_bytes();
        body.extend_from_slice(&multipart("a.txt", "text/plain", b"hi").1);
        body
    };
    let (status, small) = demo.direct_raw("eve", &content_type, padded(1024)).await;
    assert_eq!(status, 200, "{small}");
    let delete = demo
        .delete_attachment("eve", small["id"].as_str().unwrap())
        .await;
    assert_eq!(delete, 200);
    let padded = padded(100 * 1024);
    for (content_type, body) in [
        (content_type.as_str(), cut),
        (content_type.as_str(), no_file),
        (content_type.as_str(), padded),
        ("application/json", b"{}".to_vec()),
    ] {
        let got = code(demo.direct_raw("eve", content_type, body).await);
        assert_eq!(got, (400, "invalid_upload".to_owned()), "{content_type}");
    }
    assert!(demo.stored_files().is_empty(), "{:?}", demo.stored_files());
    assert_eq!(demo.threads("eve").await, 0);

    // A two-phase upload of the wrong bytes, a tampered token, a token for another id.
    let (_, created) = demo.create("eve", "a.png", "image/png", 10).await;
    let descriptor = created["upload_descriptor"].clone();
    assert_eq!(
        demo.upload(&descriptor, "a.png", "image/png", b"GIF89a....")
            .await,
        415
    );
    let url = descriptor["url"].as_str().unwrap();
    let tampered = format!("{}A", url);
    assert_eq!(
        demo.client
            .put(&tampered)
            .body(png())
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let (_, other) = demo.create("eve", "b.png", "image/png", 10).await;
    let foreign = url.replace(
        created["id"].as_str().unwrap(),
        other["id"].as_str().unwrap(),
    );
    assert_eq!(
        demo.client
            .put(&foreign)
            .body(png())
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let no_token = url.split('?').next().unwrap();
    assert_eq!(
        demo.client
            .put(no_token)
            .body(png())
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert!(demo.stored_files().is_empty(), "{:?}", demo.stored_files());

    // Not uploaded yet: the message is refused and no thread is made.
    let id = created["id"].as_str().unwrap();
    let (status, error) = demo.json("eve", Demo::message("look", &[id])).await;
    assert_eq!(
        (status, error["error"]["code"].as_str().unwrap()),
        (400, "not_uploaded")
    );
    assert_eq!(demo.threads("eve").await, 0);

    // Another user's attachment: not found to them, in a message and in a delete.
    let (_, mine) = demo
        .direct("ann", "mine.txt", "text/plain", b"private")
        .await;
    let mine = mine["id"].as_str().unwrap();
    let (status, _) = demo.json("eve", Demo::message("steal", &[mine])).await;
    assert_eq!(status, 404);
    let status = demo.delete_attachment("eve", mine).await;
    assert_eq!(status, 404);
    assert_eq!(demo.threads("eve").await, 0);
    assert_eq!(demo.stored_files().len(), 1, "ann's file is still there");
    let events = demo.events("ann", Demo::message("read", &[mine])).await;
    assert!(assistant_text(&events).contains("first line: \"private\""));

    // Used once, it cannot be used again (attach the file again instead).
    let (status, error) = demo.json("ann", Demo::message("again", &[mine])).await;
    assert_eq!(
        (status, error["error"]["code"].as_str().unwrap()),
        (409, "conflict")
    );

    // 1,000 attachments on one message.
    let many: Vec<String> = (0..1000).map(|i| format!("atc_{i:032x}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let (status, error) = demo.json("eve", Demo::message("many", &many)).await;
    assert_eq!(
        (status, error["error"]["code"].as_str().unwrap()),
        (400, "too_many_attachments")
    );
    assert_eq!(demo.threads("eve").await, 0);
}

#[tokio::test]
async fn an_expired_upload_url_is_refused() {
    let demo = start(AttachmentLimits::default().upload_ttl(Duration::from_secs(1))).await;
    let (_, created) = demo.create("ann", "late.png", "image/png", 100).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let status = demo
        .upload(
            &created["upload_descriptor"],
            "late.png",
            "image/png",
            &png(),
        )
        .await;
    assert_eq!(status, 403);
    assert!(demo.stored_files().is_empty());
}

#[tokio::test]
async fn attachments_never_sent_are_swept_and_sent_ones_stay() {
    let demo = start(AttachmentLimits::default()).await;
    let (_, sent) = demo
        .direct("ann", "sent.txt", "text/plain", b"keep me")
        .await;
    let (_, unsent) = demo
        .direct("ann", "unsent.txt", "text/plain", b"drop me")
        .await;
    let (_, never_uploaded) = demo.create("bob", "x.png", "image/png", 10).await;
    demo.events(
        "ann",
        Demo::message("read", &[sent["id"].as_str().unwrap()]),
    )
    .await;
    assert_eq!(demo.stored_files().len(), 2);

    // Not old enough yet.
    let day = Duration::from_secs(24 * 3600);
    let store: &dyn Store<RequestContext> = &*demo.store;
    assert_eq!(demo.files.sweep_unused(store, day).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let swept = demo
        .files
        .sweep_unused(store, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(swept, 2, "the unsent upload and the one never uploaded");
    assert_eq!(demo.stored_files().len(), 1);
    for (user, attachment) in [("ann", &unsent), ("bob", &never_uploaded)] {
        let (status, _) = demo
            .json(
                user,
                Demo::message("late", &[attachment["id"].as_str().unwrap()]),
            )
            .await;
        assert_eq!(status, 404);
    }
    let (status, _) = demo
        .json("ann", json!({"type": "threads.list", "params": {}}))
        .await;
    assert_eq!(status, 200);
    let preview_of_sent = demo.stored_files();
    assert!(preview_of_sent[0].ends_with(sent["id"].as_str().unwrap()));
}

/// The demo binary with `CHATKIT_UPLOAD_STRATEGY=direct`: its page turns attachments on
/// with the direct strategy, and a file posted there reaches the offline model.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_binary_takes_files_with_the_strategy_its_environment_names() {
    use support::demo_process::{Demo as Process, TempDir};
    let dir = TempDir::new("attachments");
    let demo = Process::start_with(
        &dir.file("demo.sqlite"),
        &[("CHATKIT_UPLOAD_STRATEGY", "direct")],
    );
    let page = reqwest::get(format!("{}/", demo.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"uploadStrategy: { type: "direct", uploadUrl: location.origin + "/chatkit/attachments" }"#), "{page}");
    assert!(
        page.contains("attachments: {\n            enabled: true"),
        "{page}"
    );
    let (content_type, body) = multipart("hello.md", "text/markdown", b"# Hello\nworld");
    let client = reqwest::Client::new();
    let attachment: Value = client
        .post(format!("{}/chatkit/attachments", demo.url))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let sent = client
        .post(format!("{}/chatkit", demo.url))
        .body(Demo::message("what is it?", &[attachment["id"].as_str().unwrap()]).to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let expected = r##"\"hello.md\" (text/markdown, 13 bytes), first line: \"# Hello\""##;
    assert!(sent.contains(expected), "{sent}");
}

/// A file the model cannot take (a type the store accepts but no model reads), and one
/// deleted after it was sent, reach the model as notes that name them.
#[tokio::test]
async fn files_the_model_cannot_take_become_notes() {
    let demo = start(AttachmentLimits::default().allow("application/zip", 1024)).await;
    let (_, zip) = demo
        .direct("ann", "a.zip", "application/zip", b"PK\x03\x04")
        .await;
    let (_, gone) = demo.direct("ann", "gone.txt", "text/plain", b"bye").await;
    let events = demo
        .events(
            "ann",
            Demo::message(
                "two files",
                &[zip["id"].as_str().unwrap(), gone["id"].as_str().unwrap()],
            ),
        )
        .await;
    assert!(!events.iter().any(|e| e["type"] == "error"), "{events:?}");
    let thread_id = events[0]["thread"]["id"].as_str().unwrap().to_owned();
    let content = demo.last_user_content();
    assert_eq!(
        content[1]["text"],
        "[The user attached \"a.zip\" (application/zip), but it could not be given to you: the model takes images, PDF and text files, not application/zip.]"
    );
    // The sent file is deleted by its owner; the next turn's history says so.
    let status = demo
        .delete_attachment("ann", gone["id"].as_str().unwrap())
        .await;
    assert_eq!(status, 200);
    let next = json!({"type": "threads.add_user_message", "params": {"thread_id": thread_id, "input": {
        "content": [{"type": "input_text", "text": "and now?"}], "attachments": [], "inference_options": {}}}});
    demo.events("ann", next).await;
    let requests = demo.model.0.lock().unwrap();
    let history = &requests.last().unwrap().input;
    let first = history.iter().find(|i| i["role"] == "user").unwrap();
    let note = first["content"][2]["text"].as_str().unwrap();
    assert!(note.starts_with("[The user attached \"gone.txt\" (text/plain), but it could not be given to you: attachment"), "{note}");
}

/// A client that goes away halfway through a direct upload leaves nothing behind.
#[tokio::test]
async fn a_client_that_disconnects_mid_upload_leaves_nothing() {
    use tokio::io::AsyncWriteExt;
    let demo = start(AttachmentLimits::default()).await;
    let (content_type, body) = multipart("big.txt", "text/plain", &vec![b'a'; 3 << 20]);
    let address = demo.base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /chatkit/attachments HTTP/1.1\r\nhost: {address}\r\nx-user-id: ann\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&body[..body.len() / 2]).await.unwrap();
    socket.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(socket);
    // The upload task notices the broken body and aborts its write.
    let mut left = demo.stored_files();
    for _ in 0..50 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = demo.stored_files();
    }
    assert!(left.is_empty(), "{left:?}");
    let (_, page) = demo
        .json("ann", json!({"type": "threads.list", "params": {}}))
        .await;
    assert_eq!(page["data"], json!([]));
}
