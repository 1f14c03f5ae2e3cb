//! Hostile input against the real webhook: the server is started on 127.0.0.1 over TLS (rcgen
//! certificates, as in tests/webhook.rs) and fed truncated bodies, wrong media types, a gzip
//! bomb, a thousand slow connections, TLS handshake garbage and a flood of bad requests. Each
//! test ends by checking that the server still answers a real AdmissionReview correctly.
//!
//! No timing assertions beyond generous deadlines ("answered within 20 s"): the machine that
//! runs these may be loaded.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use statelint::webhook::admit::Mode;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// ---------- helpers ----------

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn client_config(ca: &str) -> Arc<rustls::ClientConfig> {
    statelint::webhook::tls::install_default_provider();
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// A blocking TLS connection with the handshake done.
fn tls_connect(addr: SocketAddr, config: &Arc<rustls::ClientConfig>) -> TlsStream {
    let sock = TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
    let mut s = rustls::StreamOwned::new(conn, sock);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).unwrap();
    }
    s
}

/// Everything the server sends until it closes (a reset or a missing close_notify also count
/// as closed). Panics if the connection is still open after the socket's read timeout.
fn read_until_closed(s: &mut TlsStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!(
                    "the server did not close the connection; got so far: {:?}",
                    String::from_utf8_lossy(&out)
                )
            }
            Err(_) => return out,
        }
    }
}

/// The first ClientHello a rustls client would send.
fn client_hello(config: &Arc<rustls::ClientConfig>) -> Vec<u8> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).unwrap();
    }
    out
}

/// Read from a raw TCP connection until the server closes it; Err if still open at `limit`.
async fn tcp_closed_within(s: &mut tokio::net::TcpStream, limit: Duration) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) => return Err(()),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(out),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// A StatefulSet whose headless Service does not exist: denied with SL001.
fn bad_sts() -> Value {
    let mut s = zk_sts();
    s["spec"]["serviceName"] = json!("missing-hs");
    s
}

/// The server is alive and right: the good StatefulSet is allowed, the bad one denied with
/// SL001, and /healthz is 200.
async fn still_answers(t: &Tls) {
    let resp = admit(t, &review("CREATE", Some(&zk_sts()), None)).await;
    assert_eq!(resp["allowed"], true, "{resp}");
    let resp = admit(t, &review("CREATE", Some(&bad_sts()), None)).await;
    assert_eq!(resp["allowed"], false, "{resp}");
    let msg = resp["status"]["message"].as_str().unwrap();
    assert!(msg.contains("SL001"), "{msg}");
    let h = t
        .client
        .get(format!("{}/healthz", t.url))
        .send()
        .await
        .unwrap();
    assert_eq!(h.status(), 200);
}

fn good_review_bytes() -> Vec<u8> {
    serde_json::to_vec(&review("CREATE", Some(&zk_sts()), None)).unwrap()
}

fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// The soft limit on open files of this process.
fn fd_limit() -> usize {
    let s = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024)
}

// ---------- 1. truncated bodies ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_bodies_get_400_or_are_cut_and_the_server_keeps_answering() {
    let t = start_tls_with(Mode::Enforce, catalog(&zk_companions()), 2_000).await;
    let addr = t.server.addr;
    let config = client_config(&t.ca);
    tokio::task::spawn_blocking(move || {
        let body = good_review_bytes();
        let head = |len: usize| {
            format!(
                "POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
            )
        };

        // Content-Length larger than what is sent, then the client closes its side
        let mut s = tls_connect(addr, &config);
        s.write_all(head(body.len() + 1000).as_bytes()).unwrap();
        s.write_all(&body[..100]).unwrap();
        s.conn.send_close_notify();
        s.flush().unwrap();
        s.sock.shutdown(std::net::Shutdown::Write).unwrap();
        let out = read_until_closed(&mut s);
        let text = String::from_utf8_lossy(&out);
        assert!(
            out.is_empty() || text.starts_with("HTTP/1.1 400"),
            "closed mid-body: {text}"
        );

        // Content-Length larger than what is sent, the client stays: cut by the timeout
        let mut s = tls_connect(addr, &config);
        s.write_all(head(body.len() + 1000).as_bytes()).unwrap();
        s.write_all(&body[..100]).unwrap();
        s.flush().unwrap();
        let out = read_until_closed(&mut s);
        let text = String::from_utf8_lossy(&out);
        assert!(
            out.is_empty() || text.starts_with("HTTP/1.1 408"),
            "stalled mid-body: {text}"
        );

        // a body cut mid-JSON, with a matching Content-Length: 400 with a JSON error
        let cut = &body[..body.len() / 2];
        let mut s = tls_connect(addr, &config);
        s.write_all(head(cut.len()).as_bytes()).unwrap();
        s.write_all(cut).unwrap();
        s.flush().unwrap();
        let out = read_until_closed(&mut s);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 400"), "cut mid-JSON: {text}");
        assert!(text.contains("{\"error\":"), "{text}");
    })
    .await
    .unwrap();
    still_answers(&t).await;
}

// ---------- 2. content types ----------

#[tokio::test]
async fn wrong_content_type_is_415_with_a_json_error() {
    let t = start_tls(Mode::Enforce, catalog(&zk_companions())).await;
    let url = format!("{}/validate", t.url);
    for ct in [
        Some("text/plain"),
        None,
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
        Some("application/yaml"),
    ] {
        let mut req = t.client.post(&url).body(good_review_bytes());
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 415, "{ct:?}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let e: Value = r.json().await.unwrap();
        assert!(
            e["error"].as_str().unwrap().contains("application/json"),
            "{ct:?}: {e}"
        );
    }
    // parameters and case do not matter
    for ct in ["application/json; charset=utf-8", "Application/JSON"] {
        let r = t
            .client
            .post(&url)
            .header("content-type", ct)
            .body(good_review_bytes())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{ct}");
    }
    still_answers(&t).await;
}

// ---------- 3. gzip bomb ----------

/// A gzip member whose deflate stream inflates to 64 + 1032 * `k` zero bytes: a dynamic
/// Huffman block (zlib level 9 over zeros) whose body is `k` zero bytes, each holding four
/// "repeat 258 bytes at distance 1" codes. The CRC is left 0: an inflater would have to
/// produce all of it before finding out.
fn gzip_bomb(k: usize) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff];
    out.extend_from_slice(&[
        0xed, 0xc1, 0x31, 0x01, 0x00, 0x00, 0x00, 0xc2, 0xa0, 0xf5, 0x4f, 0x6d, 0x08, 0x5f, 0xa0,
    ]);
    out.resize(out.len() + k, 0);
    out.extend_from_slice(&[0x3e, 0x03]);
    let inflated = (64 + 1032 * k as u64) as u32; // ISIZE is mod 2^32
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&inflated.to_le_bytes());
    out
}

#[tokio::test]
async fn gzip_bomb_is_refused_without_inflating() {
    let t = start_tls(Mode::Enforce, catalog(&zk_companions())).await;
    let url = format!("{}/validate", t.url);
    // 2.5 MB that would inflate to about 2.6 GB
    let bomb = gzip_bomb(2_500_000);
    assert!(bomb.len() < statelint::webhook::MAX_BODY);
    let before = rss_bytes();
    let started = Instant::now();
    let r = t
        .client
        .post(&url)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let e: Value = r.json().await.unwrap();
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("Content-Encoding \"gzip\" not supported"),
        "{e}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let grown = rss_bytes().saturating_sub(before);
    assert!(grown < 512 << 20, "RSS grew by {grown} bytes");
    // other encodings too; `identity` is no encoding
    for enc in ["deflate", "br", "gzip, identity"] {
        let r = t
            .client
            .post(&url)
            .header("content-type", "application/json")
            .header("content-encoding", enc)
            .body(good_review_bytes())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415, "{enc}");
    }
    let r = t
        .client
        .post(&url)
        .header("content-type", "application/json")
        .header("content-encoding", "identity")
        .body(good_review_bytes())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    still_answers(&t).await;
}

// ---------- 4. a thousand slow connections ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_slow_connections_do_not_starve_a_valid_review() {
    // each connection costs two descriptors here (client and server side); keep headroom for
    // the other tests of this file running in parallel
    let limit = fd_limit();
    let total = 1000.min(limit.saturating_sub(400) / 2);
    assert!(total >= 100, "fd limit {limit} too low for this test");
    let dribblers = total / 10;
    let silent = (total - dribblers) / 2;
    let hellos = total - dribblers - silent;
    eprintln!(
        "fd limit {limit}: {total} slow connections ({silent} silent, {hellos} ClientHello only, {dribblers} dribbling headers)"
    );

    let t = start_tls_with(Mode::Enforce, catalog(&zk_companions()), 8_000).await;
    let addr = t.server.addr;
    let config = client_config(&t.ca);

    // complete TLS, then send the headers one byte a second until the server cuts
    let handshaken = Arc::new(AtomicUsize::new(0));
    let mut threads = Vec::new();
    for _ in 0..dribblers {
        let config = config.clone();
        let handshaken = handshaken.clone();
        threads.push(std::thread::spawn(move || -> bool {
            let mut s = tls_connect(addr, &config);
            handshaken.fetch_add(1, Ordering::SeqCst);
            s.sock
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            let head = b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
            let started = Instant::now();
            let mut buf = [0u8; 1024];
            for b in head.iter().cycle() {
                if started.elapsed() > Duration::from_secs(60) {
                    return false;
                }
                if s.write_all(&[*b]).and_then(|_| s.flush()).is_err() {
                    return true;
                }
                match s.read(&mut buf) {
                    Ok(_) => return true, // EOF, or a 408
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) => {}
                    Err(_) => return true,
                }
            }
            unreachable!()
        }));
    }

    // TCP connections that say nothing, or only a ClientHello
    let hello = client_hello(&config);
    let mut raw = Vec::new();
    for i in 0..silent + hellos {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        if i >= silent {
            s.write_all(&hello).await.unwrap();
        }
        raw.push(s);
    }
    eventually("the dribbling clients to complete TLS", || {
        let n = handshaken.load(Ordering::SeqCst);
        async move { (n == dribblers).then_some(()) }
    })
    .await;

    // a valid review on a fresh connection, while all of them are held open
    let fresh = https_client(&[&t.ca], true);
    let started = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(20),
        fresh
            .post(format!("{}/validate", t.url))
            .json(&review("CREATE", Some(&bad_sts()), None))
            .send(),
    )
    .await
    .expect("answered within 20 s")
    .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["response"]["allowed"], false, "{v}");
    assert!(
        v["response"]["status"]["message"]
            .as_str()
            .unwrap()
            .contains("SL001")
    );
    eprintln!("valid review answered in {:?}", started.elapsed());

    // the slow ones are cut by the server's timeouts
    let mut open = 0;
    for s in &mut raw {
        if tcp_closed_within(s, Duration::from_secs(60)).await.is_err() {
            open += 1;
        }
    }
    assert_eq!(open, 0, "raw connections never cut by the server");
    let cut = tokio::task::spawn_blocking(move || {
        threads
            .into_iter()
            .map(|h| h.join().unwrap_or(false))
            .filter(|cut| *cut)
            .count()
    })
    .await
    .unwrap();
    assert_eq!(cut, dribblers, "dribbling connections never cut");
    drop(raw);
    still_answers(&t).await;
}

// ---------- 5. TLS handshake garbage ----------

#[tokio::test]
async fn tls_handshake_garbage_is_closed_and_the_server_keeps_answering() {
    let t = start_tls_with(Mode::Enforce, catalog(&zk_companions()), 2_000).await;
    let addr = t.server.addr;
    let hello = client_hello(&client_config(&t.ca));
    // deterministic pseudo-random bytes
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let mut record_garbage = vec![0x16, 0x03, 0x01, 0x40, 0x00];
    record_garbage.extend_from_slice(&random[..64]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("random bytes", random.clone()),
        ("a handshake record of garbage", record_garbage),
        (
            "plaintext HTTP/1.1",
            b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        ),
        ("truncated ClientHello", hello[..hello.len() / 2].to_vec()),
        ("a ClientHello header only", hello[..5].to_vec()),
    ];
    for (what, bytes) in cases {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        // the server may close before reading everything: a failed write is fine
        let _ = s.write_all(&bytes).await;
        let out = tcp_closed_within(&mut s, Duration::from_secs(30))
            .await
            .unwrap_or_else(|_| panic!("{what}: the connection was not closed"));
        assert!(
            !String::from_utf8_lossy(&out).contains("HTTP/1.1 200"),
            "{what}: answered as HTTP"
        );
    }
    still_answers(&t).await;
}

// ---------- 6. a flood of garbage ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_garbage_does_not_disturb_valid_reviews() {
    const TASKS: usize = 8;
    const PER_TASK: usize = 250; // 2,000 garbage requests in all
    let t = Arc::new(start_tls(Mode::Enforce, catalog(&zk_companions())).await);
    let good = good_review_bytes();
    let garbage: Arc<Vec<(&str, Vec<u8>)>> = Arc::new(vec![
        ("malformed", good[..good.len() / 3].to_vec()),
        ("binary", vec![0xff, 0xfe, 0x00, 0x13, 0x37, 0x80]),
        ("empty", Vec::new()),
        ("array", b"[1,2,3]".to_vec()),
        ("deep", {
            let mut v = "[".repeat(50_000).into_bytes();
            v.extend("]".repeat(50_000).into_bytes());
            v
        }),
        ("wrong kind", {
            let mut r = review("CREATE", Some(&zk_sts()), None);
            r["kind"] = json!("Pod");
            serde_json::to_vec(&r).unwrap()
        }),
        ("oversized", vec![b' '; statelint::webhook::MAX_BODY + 1]),
    ]);
    let server_errors = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for task in 0..TASKS {
        let t = t.clone();
        let garbage = garbage.clone();
        let server_errors = server_errors.clone();
        let answered = answered.clone();
        tasks.push(tokio::spawn(async move {
            let client = https_client(&[&t.ca], false);
            let url = format!("{}/validate", t.url);
            for i in 0..PER_TASK {
                let n = task * PER_TASK + i;
                // oversized bodies are costly: one in a hundred
                let pick = if n % 100 == 99 {
                    garbage.len() - 1
                } else {
                    n % (garbage.len() - 1)
                };
                let (what, body) = &garbage[pick];
                let mut req = client.post(&url).body(body.clone());
                req = match n % 5 {
                    0 => req.header("content-type", "text/plain"),
                    1 => req
                        .header("content-type", "application/json")
                        .header("content-encoding", "gzip"),
                    _ => req.header("content-type", "application/json"),
                };
                if n % 50 == 7 {
                    // an oversized header block
                    req = req.header("x-junk", "j".repeat(100 * 1024));
                }
                // a cut connection is an acceptable answer to garbage; a 5xx is not
                if let Ok(r) = req.send().await {
                    answered.fetch_add(1, Ordering::Relaxed);
                    let status = r.status();
                    if !status.is_client_error() {
                        eprintln!("{what}: {status}");
                        server_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let flood = futures::future::join_all(tasks);
    tokio::pin!(flood);
    let mut valid = 0;
    loop {
        tokio::select! {
            r = &mut flood => {
                for r in r {
                    r.unwrap();
                }
                break;
            }
            _ = still_answers(&t) => valid += 1,
        }
    }
    still_answers(&t).await;
    let answered = answered.load(Ordering::Relaxed);
    eprintln!(
        "{} garbage requests ({answered} answered with a status), {valid} rounds of valid reviews in between",
        TASKS * PER_TASK
    );
    assert_eq!(server_errors.load(Ordering::Relaxed), 0);
    assert!(valid > 0, "no valid review went through during the flood");
    assert!(
        answered > TASKS * PER_TASK / 2,
        "most garbage gets a 4xx answer"
    );
}
