//! Upload throughput and server memory through the direct upload route: a server (the
//! demo app on `MemoryStore`, attachments on local disk in a temporary folder, in a
//! process of its own) receives files of growing size as the web component sends them
//! (`multipart/form-data`, a `file` field), generated on the fly by the client. Reports
//! per size the time, the throughput, and the server's resident memory before and at
//! its highest during the upload (sampled every 5 ms), which should not grow with the
//! file: the body streams to disk in parts.
//!
//! ```text
//! cargo run --release --example uploads -- --sizes 1M,100M,1G
//! ```

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chatkit_agents::store::{AttachmentLimits, MemoryStore, ObjectAttachmentStore};
use chatkit_agents_workspace::demo::{
    app_with_policy, DemoAttachments, DemoOptions, OfflineModel, UploadStrategy,
};
use chatkit_agents_workspace::example_support::rss_mib;

const BOUNDARY: &str = "----chatkit-upload-bench";
const CHUNK: usize = 64 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return serve(&args[1]);
    }
    let sizes = match args.iter().position(|a| a == "--sizes") {
        Some(at) => args[at + 1].split(',').map(parse_size).collect(),
        None => vec![1 << 20, 100 << 20, 1 << 30],
    };
    let dir = std::env::temp_dir().join(format!("chatkit-uploads-{}", std::process::id()));
    let mut server = Command::new(std::env::current_exe().expect("this program"))
        .args(["--serve", &dir.display().to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().expect("stdout")),
        &mut port,
    )
    .expect("the server prints its port");
    let base = format!("http://127.0.0.1:{}/chatkit", port.trim());
    let pid = server.id().to_string();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    println!("size\tseconds\tMB/s\tserver RSS before (MiB)\tpeak during (MiB)\tgrowth (MiB)");
    runtime.block_on(async {
        // One small upload first, so the figures leave out the first request's setup.
        upload(&base, 1 << 10).await;
        for size in sizes {
            let (before, _) = rss_mib(&pid);
            let peak = Arc::new(AtomicU64::new(before.to_bits()));
            let sampler = {
                let (peak, pid) = (peak.clone(), pid.clone());
                tokio::spawn(async move {
                    loop {
                        let now = rss_mib(&pid).0;
                        if now > f64::from_bits(peak.load(Ordering::Relaxed)) {
                            peak.store(now.to_bits(), Ordering::Relaxed);
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
            };
            let took = upload(&base, size).await;
            sampler.abort();
            let peak = f64::from_bits(peak.load(Ordering::Relaxed));
            println!(
                "{}\t{:.2}\t{:.0}\t{before:.1}\t{peak:.1}\t{:.1}",
                show_size(size),
                took.as_secs_f64(),
                size as f64 / 1e6 / took.as_secs_f64(),
                peak - before
            );
        }
    });
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Posts a generated file of `size` bytes and deletes it again: how long the upload took.
async fn upload(base: &str, size: u64) -> Duration {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{BOUNDARY}--\r\n");
    let block = Bytes::from(vec![b'x'; CHUNK]);
    let parts = size.div_ceil(CHUNK as u64);
    let body = futures::stream::iter(
        std::iter::once(Bytes::from(head))
            .chain((0..parts).map(move |i| {
                let left = size - i * CHUNK as u64;
                block.slice(..CHUNK.min(left as usize))
            }))
            .chain(std::iter::once(Bytes::from(tail)))
            .map(Ok::<_, std::io::Error>),
    );
    let client = reqwest::Client::new();
    let start = Instant::now();
    let response = client
        .post(format!("{base}/attachments"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await
        .expect("the upload is sent");
    let took = start.elapsed();
    let status = response.status();
    let attachment: serde_json::Value = response.json().await.expect("a JSON answer");
    assert!(status.is_success(), "{status}: {attachment}");
    let delete = serde_json::json!({"type": "attachments.delete", "params": {"attachment_id": attachment["id"]}});
    client
        .post(base)
        .body(delete.to_string())
        .send()
        .await
        .expect("the delete is sent");
    took
}

/// The server: the demo app taking any file up to 4 GiB into `dir`.
fn serve(dir: &str) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let server = chatkit_agents::http::Server::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let port = server.local_addr().expect("an address").port();
        let files = ObjectAttachmentStore::local(dir, format!("http://127.0.0.1:{port}/chatkit"))
            .expect("the folder")
            .limits(AttachmentLimits::none().allow("*/*", 4 << 30))
            .build();
        let options = DemoOptions {
            attachments: Some(DemoAttachments {
                store: Arc::new(files),
                strategy: UploadStrategy::Direct,
            }),
            ..DemoOptions::default()
        };
        let app = app_with_policy(
            Arc::new(MemoryStore::new()),
            Arc::new(OfflineModel),
            Vec::new(),
            Vec::new(),
            options,
        );
        println!("{port}");
        server.serve(app).await.expect("the server serves");
    });
}

fn parse_size(text: &str) -> u64 {
    let text = text.trim();
    let (number, unit) = text.split_at(text.trim_end_matches(['K', 'M', 'G']).len());
    let number: u64 = number.parse().expect("a size like 1M");
    number
        * match unit {
            "K" => 1 << 10,
            "M" => 1 << 20,
            "G" => 1 << 30,
            _ => 1,
        }
}

fn show_size(size: u64) -> String {
    match size {
        s if s >= 1 << 30 => format!("{} GiB", s >> 30),
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s => format!("{} KiB", s >> 10),
    }
}
