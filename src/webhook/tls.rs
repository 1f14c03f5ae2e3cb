//! TLS for the webhook: PEM certificate + key -> rustls `ServerConfig` (ring provider, TLS 1.2
//! and 1.3), and hot reload when the files change on disk.
//!
//! Kubernetes mounts a Secret as a folder whose files are symlinks through `..data`, which is
//! swapped atomically on rotation; so we watch the certificate's *folder* (not the file) with
//! `notify`, and also re-read the files on an interval in case an event was missed. A new pair
//! that does not parse, or whose key does not match the certificate, is refused: the old one
//! keeps serving and an error is logged. Only new handshakes see the new certificate; open
//! connections are not disturbed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The crypto provider the webhook uses (ring; aws-lc-rs is kept out of the build).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Install ring as the process-wide default provider (idempotent).
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Build a server config from PEM bytes.
pub fn server_config(cert_pem: &[u8], key_pem: &[u8]) -> anyhow::Result<ServerConfig> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow!("certificate PEM: {e}"))?;
    if certs.is_empty() {
        return Err(anyhow!("certificate PEM holds no CERTIFICATE block"));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| anyhow!("key PEM: {e}"))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("certificate and key")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Read and build a server config from the two files.
pub fn load(cert: &Path, key: &Path) -> anyhow::Result<(ServerConfig, Vec<u8>)> {
    let cert_pem =
        std::fs::read(cert).with_context(|| format!("cannot read {}", cert.display()))?;
    let key_pem = std::fs::read(key).with_context(|| format!("cannot read {}", key.display()))?;
    let config = server_config(&cert_pem, &key_pem)
        .with_context(|| format!("{} / {}", cert.display(), key.display()))?;
    let mut fingerprint = cert_pem;
    fingerprint.extend_from_slice(&key_pem);
    Ok((config, fingerprint))
}

/// Keeps `config` in step with the files: reloads on folder events and every `interval`.
pub struct Reloader {
    cert: PathBuf,
    key: PathBuf,
    config: RustlsConfig,
    current: Vec<u8>,
}

impl Reloader {
    pub fn new(cert: PathBuf, key: PathBuf, config: RustlsConfig, current: Vec<u8>) -> Self {
        Reloader {
            cert,
            key,
            config,
            current,
        }
    }

    /// Re-read the files; swap the config when they changed and are valid.
    fn check(&mut self) {
        let (Ok(cert_pem), Ok(key_pem)) = (std::fs::read(&self.cert), std::fs::read(&self.key))
        else {
            tracing::error!(
                cert = %self.cert.display(),
                key = %self.key.display(),
                "cannot read the TLS files; keeping the current certificate"
            );
            return;
        };
        let mut fingerprint = cert_pem.clone();
        fingerprint.extend_from_slice(&key_pem);
        if fingerprint == self.current {
            return;
        }
        match server_config(&cert_pem, &key_pem) {
            Ok(c) => {
                self.config.reload_from_config(Arc::new(c));
                self.current = fingerprint;
                tracing::info!(cert = %self.cert.display(), "reloaded the TLS certificate");
            }
            Err(e) => {
                // a half-written rotation (new cert, old key) lands here too; the next event
                // or tick picks up the finished pair
                tracing::error!(
                    cert = %self.cert.display(),
                    error = %format!("{e:#}"),
                    "new TLS certificate refused; keeping the current one"
                );
                self.current = fingerprint;
            }
        }
    }

    /// Run until the process ends: watch the folders of both files, and tick.
    pub async fn run(mut self, interval: Duration) {
        use notify::{RecursiveMode, Watcher};
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(16);
        let watcher = {
            let tx = tx.clone();
            notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if res.is_ok() {
                    let _ = tx.try_send(());
                }
            })
        };
        let _watcher = match watcher {
            Ok(mut w) => {
                let mut dirs: Vec<PathBuf> = [&self.cert, &self.key]
                    .iter()
                    .map(|p| folder_of(p))
                    .collect();
                dirs.dedup();
                for d in dirs {
                    if let Err(e) = w.watch(&d, RecursiveMode::NonRecursive) {
                        tracing::warn!(folder = %d.display(), error = %e, "cannot watch the TLS folder; relying on the interval check");
                    }
                }
                Some(w)
            }
            Err(e) => {
                tracing::warn!(error = %e, "no file watcher; relying on the interval check");
                None
            }
        };
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                ev = rx.recv() => {
                    if ev.is_none() { break; }
                    // let a rotation finish (several renames), then read once
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    while rx.try_recv().is_ok() {}
                }
                _ = tick.tick() => {}
            }
            self.check();
        }
    }
}

fn folder_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
