//! Corporate networks: the sandbox behind TLS with a private certificate authority, reached
//! through a loopback CONNECT proxy (HTTPS_PROXY). Without the CA trusted, `doctor` fails on one
//! line that names the certificate and SSL_CERT_FILE, and no dependency's log line reaches
//! stderr; with SSL_CERT_FILE naming the CA, it passes through the proxy. And a token that
//! says it expires soon (a JWT's `exp`) is warned of by `doctor` and by every run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tallyfy_guests::sandbox::SandboxOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls;

use crate::util::Workspace;

/// A TLS front for the sandbox (a certificate for 127.0.0.1 signed by a CA of its own) and a
/// CONNECT proxy, both on loopback, served until dropped.
struct Network {
    /// `https://127.0.0.1:PORT/api`: the sandbox, through TLS.
    base_url: String,
    /// `http://127.0.0.1:PORT`: the proxy.
    proxy_url: String,
    /// The CA's certificate (PEM), for SSL_CERT_FILE.
    ca_file: std::path::PathBuf,
    /// The tunnels the proxy opened.
    connects: Arc<AtomicU64>,
    _runtime: tokio::runtime::Runtime,
}

impl Network {
    fn new(ws: &Workspace) -> Network {
        let (ca_pem, server_config) = private_ca_and_server();
        let ca_file = ws.write("private-ca.pem", &ca_pem);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let backend = ws.sandbox.addr();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
        let tls = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let proxy = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let (tls_addr, proxy_addr) = (tls.local_addr().unwrap(), proxy.local_addr().unwrap());
        runtime.spawn(async move {
            while let Ok((stream, _)) = tls.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake (the client does not trust the CA) ends here.
                    let Ok(mut tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        let connects = Arc::new(AtomicU64::new(0));
        let counted = connects.clone();
        runtime.spawn(async move {
            while let Ok((stream, _)) = proxy.accept().await {
                tokio::spawn(tunnel(stream, counted.clone()));
            }
        });
        Network {
            base_url: format!("https://{tls_addr}/api"),
            proxy_url: format!("http://{proxy_addr}"),
            ca_file,
            connects,
            _runtime: runtime,
        }
    }

    /// `doctor` against the sandbox through the proxy and TLS, trusting the private CA or not.
    fn doctor(&self, ws: &Workspace, trust: bool) -> std::process::Output {
        let mut cmd = ws.cmd();
        cmd.env("TALLYFY_BASE_URL", &self.base_url)
            .env("HTTPS_PROXY", &self.proxy_url);
        for var in [
            "NO_PROXY",
            "no_proxy",
            "https_proxy",
            "ALL_PROXY",
            "all_proxy",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
        ] {
            cmd.env_remove(var);
        }
        if trust {
            cmd.env("SSL_CERT_FILE", &self.ca_file);
        }
        cmd.arg("doctor").output().unwrap()
    }
}

/// A CA of its own, and a server configuration whose certificate (for 127.0.0.1 and localhost)
/// that CA signed.
fn private_ca_and_server() -> (String, rustls::ServerConfig) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Acme Corporate Proxy CA");
    ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca.der().clone()], key)
        .unwrap();
    (ca.pem(), config)
}

/// One CONNECT tunnel: reads the request head, connects to the host it names, says so, and
/// copies bytes both ways.
async fn tunnel(mut client: TcpStream, connects: Arc<AtomicU64>) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        let mut byte = [0u8];
        if client.read_exact(&mut byte).await.is_err() {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let Some(target) = head.strip_prefix("CONNECT ").and_then(|rest| rest.split(' ').next()) else {
        let _ = client.write_all(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n").await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    connects.fetch_add(1, Ordering::SeqCst);
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_ok()
    {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}

#[test]
fn a_private_ca_is_named_until_ssl_cert_file_trusts_it_through_a_connect_proxy() {
    let ws = Workspace::empty();
    let network = Network::new(&ws);

    let refused = network.doctor(&ws, false);
    assert_eq!(refused.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&refused.stdout);
    let failed: Vec<&str> = stdout.lines().filter(|line| line.starts_with("FAIL")).collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    let line = failed[0];
    assert!(
        line.starts_with("FAIL  reachable: could not reach 127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("its TLS certificate is not trusted"), "{line}");
    assert!(line.contains("SSL_CERT_FILE"), "{line}");
    assert!(!line.contains("UnknownIssuer"), "in words, not rustls' names: {line}");
    // rustls' own "failed to verify TLS certificate" (and any other dependency's line) stays
    // out of what the person reads.
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !stderr.contains("rustls") && !stderr.contains("failed to verify"),
        "{stderr}"
    );
    assert!(network.connects.load(Ordering::SeqCst) >= 1, "through the proxy");

    let through = network.connects.load(Ordering::SeqCst);
    let trusted = network.doctor(&ws, true);
    let stdout = String::from_utf8_lossy(&trusted.stdout);
    assert_eq!(
        trusted.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert!(stdout.lines().all(|line| line.starts_with("ok")), "{stdout}");
    assert!(network.connects.load(Ordering::SeqCst) > through, "through the proxy");
}

/// A JWT (unsigned: only its `exp` is read) that expires `after` from now.
fn jwt_expiring_in(after: std::time::Duration) -> String {
    use base64::Engine;
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let exp = (now + after).as_secs();
    format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&format!(r#"{{"sub":"42","exp":{exp}}}"#))
    )
}

#[test]
fn a_token_that_expires_within_two_weeks_is_warned_of_by_doctor_and_every_run() {
    const DAY: std::time::Duration = std::time::Duration::from_secs(86_400);
    let ws = Workspace::new(SandboxOptions {
        token: jwt_expiring_in(3 * DAY + DAY / 2),
        ..SandboxOptions::default()
    });
    let doctor = ws.cmd().arg("doctor").output().unwrap();
    assert_eq!(doctor.status.code(), Some(0), "a warning, not a failure");
    let stdout = String::from_utf8_lossy(&doctor.stdout);
    let warned: Vec<&str> = stdout.lines().filter(|line| line.starts_with("warn")).collect();
    assert_eq!(warned.len(), 1, "{stdout}");
    assert!(
        warned[0].starts_with("warn  token expiry: the token expires in 3 days ("),
        "{stdout}"
    );
    assert!(warned[0].contains("get a new personal access token"), "{stdout}");

    let input = ws.write("guests.csv", "email,first_name\nada@example.com,Ada\n");
    let run = ws.cmd().arg("import").arg(&input).output().unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("the token expires in 3 days"), "{stderr}");
    let export = ws.cmd().args(["export", "--output", "out.csv"]).output().unwrap();
    assert!(String::from_utf8_lossy(&export.stderr).contains("the token expires in 3 days"));

    // A token with months to live, or one that is not a JWT, says nothing of it.
    for token in [jwt_expiring_in(90 * DAY), "opaque-token-0123456789".to_string()] {
        let ws = Workspace::new(SandboxOptions {
            token,
            ..SandboxOptions::default()
        });
        let doctor = ws.cmd().arg("doctor").output().unwrap();
        assert_eq!(doctor.status.code(), Some(0));
        assert!(!String::from_utf8_lossy(&doctor.stdout).contains("expir"));
    }
}
