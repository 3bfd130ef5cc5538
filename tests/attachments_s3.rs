//! `ObjectAttachmentStore` on a real S3-compatible server that checks SigV4 signatures
//! (`s3s-fs`, built from crates.io by `.ci/run`; `CHATKIT_TEST_S3S` names another
//! binary), started on a free loopback port per test: two-phase uploads straight to the
//! bucket through presigned `PUT`s, direct uploads as multipart uploads, previews and
//! deletes through the server; tampered, expired and mis-typed presigned uploads are
//! refused by the server, and an oversize one is caught when a message uses it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chatkit_agents::runs::DisconnectPolicy;
use chatkit_agents::store::{AttachmentLimits, ObjectAttachmentStore};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::ObjectStoreExt;

mod support;
use support::uploads::{assistant_text, png, start_with, Demo};

const ACCESS_KEY: &str = "chatkit-test-access";
const SECRET_KEY: &str = "chatkit-test-secret-key-0123456789";
const BUCKET: &str = "uploads";

/// An `s3s-fs` process on a free port, killed (by PID) when dropped.
struct S3 {
    child: Child,
    endpoint: String,
    root: PathBuf,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_s3() -> S3 {
    let binary = std::env::var("CHATKIT_TEST_S3S").unwrap_or_else(|_| "s3s-fs".into());
    let root = std::env::temp_dir().join(format!(
        "chatkit-s3s-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let port = free_port();
    let child = Command::new(&binary)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
        .arg(&root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {binary} (cargo install s3s-fs@0.14.1 --locked --features binary): {e}")
        });
    let endpoint = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    S3 {
        child,
        endpoint,
        root,
    }
}

impl S3 {
    fn client(&self, secret: &str) -> AmazonS3 {
        AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_bucket_name(BUCKET)
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(secret)
            .with_virtual_hosted_style_request(false)
            .build()
            .unwrap()
    }

    async fn demo(&self, limits: AttachmentLimits) -> Demo {
        let s3 = Arc::new(self.client(SECRET_KEY));
        let files_dir = self.root.join(BUCKET);
        start_with(DisconnectPolicy::Cancel, move |_, public_url| {
            let store = ObjectAttachmentStore::builder(s3.clone(), public_url)
                .signer(s3)
                .signing_key("test key")
                .limits(limits)
                .build();
            (store, files_dir)
        })
        .await
    }
}

#[tokio::test]
async fn the_server_checks_signatures() {
    let s3 = start_s3().await;
    let wrong = s3.client("not the secret");
    let refused = wrong.put(&"probe".into(), b"x".to_vec().into()).await;
    assert!(refused.is_err(), "a wrong secret must be refused");
    s3.client(SECRET_KEY)
        .put(&"probe".into(), b"x".to_vec().into())
        .await
        .unwrap();
}

#[tokio::test]
async fn two_phase_uploads_go_straight_to_the_bucket() {
    let s3 = start_s3().await;
    let demo = s3.demo(AttachmentLimits::default()).await;
    let image = png();
    let (status, created) = demo
        .create("ann", "dot.png", "image/png", image.len())
        .await;
    assert_eq!(status, 200, "{created}");
    let descriptor = &created["upload_descriptor"];
    assert_eq!(descriptor["method"], "PUT");
    let url = descriptor["url"].as_str().unwrap();
    assert!(url.starts_with(&s3.endpoint), "{url}");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert_eq!(descriptor["headers"]["Content-Type"], "image/png");

    // As the web component uploads: PUT the bytes with the descriptor's headers.
    let put = |url: String, content_type: &'static str, bytes: Vec<u8>| {
        let client = demo.client.clone();
        async move {
            client
                .put(url)
                .header("content-type", content_type)
                .body(bytes)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // A tampered signature, and the wrong Content-Type (signed), are refused by S3.
    let at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &url[at..=at] == "0" { "1" } else { "0" };
    let tampered = format!("{}{flipped}{}", &url[..at], &url[at + 1..]);
    assert_eq!(put(tampered, "image/png", image.clone()).await, 403);
    assert_eq!(put(url.to_owned(), "text/html", image.clone()).await, 403);
    assert!(demo.stored_files().is_empty(), "{:?}", demo.stored_files());
    assert_eq!(put(url.to_owned(), "image/png", image.clone()).await, 200);

    let id = created["id"].as_str().unwrap();
    let events = demo
        .events("ann", Demo::message("what is it?", &[id]))
        .await;
    let answer = assistant_text(&events);
    assert!(
        answer.contains("\"dot.png\" (image/png, 93 bytes, 2×1 pixels)"),
        "{answer}"
    );
    let preview = reqwest::get(created["preview_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(preview.status(), 200);
    assert_eq!(preview.bytes().await.unwrap(), image);

    // Deleting the thread deletes the object in the bucket.
    let thread_id = events[0]["thread"]["id"].as_str().unwrap();
    let status = demo.delete_thread("ann", thread_id).await;
    assert_eq!(status, 200);
    let location = format!("attachments/{id}");
    assert!(matches!(
        s3.client(SECRET_KEY).head(&location.as_str().into()).await,
        Err(object_store::Error::NotFound { .. })
    ));
}

#[tokio::test]
async fn an_expired_presigned_url_is_refused() {
    let s3 = start_s3().await;
    let demo = s3
        .demo(AttachmentLimits::default().upload_ttl(Duration::from_secs(1)))
        .await;
    let (_, created) = demo.create("ann", "late.png", "image/png", 93).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let status = demo
        .client
        .put(created["upload_descriptor"]["url"].as_str().unwrap())
        .header("content-type", "image/png")
        .body(png())
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
    assert!(demo.stored_files().is_empty());
}

#[tokio::test]
async fn a_presigned_upload_is_checked_when_a_message_uses_it() {
    let s3 = start_s3().await;
    let demo = s3
        .demo(AttachmentLimits::default().allow("text/plain", 16))
        .await;
    // Declared small, uploaded large: S3 cannot bound a presigned PUT's size.
    let (_, big) = demo.create("ann", "big.txt", "text/plain", 10).await;
    let put = demo
        .client
        .put(big["upload_descriptor"]["url"].as_str().unwrap())
        .header("content-type", "text/plain")
        .body(vec![b'a'; 64])
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    let (status, error) = demo
        .json("ann", Demo::message("read", &[big["id"].as_str().unwrap()]))
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str().unwrap()),
        (413, "too_large")
    );
    assert!(
        demo.stored_files().is_empty(),
        "the oversize object is deleted"
    );
    assert_eq!(demo.threads("ann").await, 0);

    // Declared text, uploaded binary.
    let (_, bin) = demo.create("ann", "bin.txt", "text/plain", 4).await;
    demo.client
        .put(bin["upload_descriptor"]["url"].as_str().unwrap())
        .header("content-type", "text/plain")
        .body(vec![0u8, 1, 2, 3])
        .send()
        .await
        .unwrap();
    let (status, _) = demo
        .json("ann", Demo::message("read", &[bin["id"].as_str().unwrap()]))
        .await;
    assert_eq!(status, 415);
    assert!(demo.stored_files().is_empty());
}

#[tokio::test]
async fn direct_uploads_are_multipart_uploads_to_the_bucket() {
    let s3 = start_s3().await;
    let demo = s3.demo(AttachmentLimits::default()).await;
    let text = "line one\nline two\n".repeat(1000);
    let (status, attachment) = demo
        .direct("bob", "notes.txt", "text/plain", text.as_bytes())
        .await;
    assert_eq!(status, 200, "{attachment}");
    let id = attachment["id"].as_str().unwrap();
    let object = s3
        .client(SECRET_KEY)
        .get(&format!("attachments/{id}").as_str().into())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(object, text.as_bytes());
    let events = demo.events("bob", Demo::message("read", &[id])).await;
    assert!(assistant_text(&events).contains("first line: \"line one\""));
    let status = demo.delete_attachment("bob", id).await;
    assert_eq!(status, 200);
    assert!(demo.stored_files().is_empty(), "{:?}", demo.stored_files());
}
