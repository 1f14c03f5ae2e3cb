//! `statelint serve` as a child process, its stderr read line by line.

use std::io::{Read, Write};
use std::time::Duration;

use serde_json::Value;

/// `statelint serve` as a process (plain HTTP on a free port, JSON logs), its log lines read
/// from stderr.
pub struct ServeProcess {
    pub child: std::process::Child,
    logs: std::sync::mpsc::Receiver<String>,
    /// Every stderr line received so far, as written.
    seen: std::cell::RefCell<Vec<String>>,
    pub addr: std::net::SocketAddr,
}

impl ServeProcess {
    /// `serve --no-cluster` with `extra` arguments.
    pub fn start(extra: &[&str]) -> ServeProcess {
        let mut args = vec!["--no-cluster"];
        args.extend_from_slice(extra);
        ServeProcess::start_with(&args, &[])
    }

    /// `serve` with `extra` arguments and environment (e.g. `KUBECONFIG` for a fake cluster).
    pub fn start_with(extra: &[&str], env: &[(&str, &std::path::Path)]) -> ServeProcess {
        ServeProcess::spawn(&["--insecure-http"], extra, env)
    }

    /// `serve` over TLS with this certificate and key (PEM files), `extra` arguments and
    /// environment.
    pub fn start_tls_with(
        cert: &std::path::Path,
        key: &std::path::Path,
        extra: &[&str],
        env: &[(&str, &std::path::Path)],
    ) -> ServeProcess {
        let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
        ServeProcess::spawn(&["--tls-cert", cert, "--tls-key", key], extra, env)
    }

    fn spawn(transport: &[&str], extra: &[&str], env: &[(&str, &std::path::Path)]) -> ServeProcess {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(env!("CARGO_BIN_EXE_statelint"))
            .args(["serve", "--addr", "127.0.0.1:0", "--log-format", "json"])
            .args(transport)
            .args(extra)
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let (tx, logs) = std::sync::mpsc::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let mut p = ServeProcess {
            child,
            logs,
            seen: Default::default(),
            addr: "127.0.0.1:1".parse().unwrap(),
        };
        let listening = p.wait_log("statelint webhook listening");
        p.addr = listening["addr"].as_str().unwrap().parse().unwrap();
        p
    }

    /// The next log line with this message (earlier lines are dropped).
    pub fn wait_log(&self, msg: &str) -> Value {
        self.logs_until(msg).pop().unwrap()
    }

    /// Every JSON log line up to and including the next one with this message.
    pub fn logs_until(&self, msg: &str) -> Vec<Value> {
        let mut lines = Vec::new();
        loop {
            let line = self
                .logs
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no `{msg}` log line after {lines:?}"));
            self.seen.borrow_mut().push(line.clone());
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let done = v["message"] == msg;
                lines.push(v);
                if done {
                    return lines;
                }
            }
        }
    }

    /// Stop the process and return every line it wrote to stderr, as written.
    pub fn stop(&mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // the reader ends at EOF and drops its sender
        while let Ok(line) = self.logs.recv_timeout(Duration::from_secs(60)) {
            self.seen.borrow_mut().push(line);
        }
        self.seen.borrow().clone()
    }

    /// POST a raw body to /validate; the status line and body.
    pub fn post(&self, content_type: &str, body: &[u8]) -> String {
        let mut s = std::net::TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        s.write_all(body).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    pub fn admit(&self, review: &Value) -> Value {
        let out = self.post("application/json", &serde_json::to_vec(review).unwrap());
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        let body = &out[out.find("\r\n\r\n").unwrap() + 4..];
        serde_json::from_str::<Value>(body).unwrap()["response"].clone()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
