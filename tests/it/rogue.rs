//! A tiny misbehaving HTTP server on 127.0.0.1 for the cases the sandbox must not do on
//! purpose: absurd numbers, endless bodies, pages that repeat, echoed secrets. Each request
//! is answered by a closure; the server stops when dropped, and streams are bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// What a request asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, e.g. `/api/organizations/x/guests?page=2&per_page=100`.
    pub target: String,
    pub authorization: String,
}

/// How to answer.
pub enum Reply {
    /// Status, extra headers, body.
    Json(u16, Vec<(&'static str, String)>, String),
    /// A 200 whose chunked body never ends (cut after 64 MiB or when the client goes away).
    Endless,
}

pub struct Rogue {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    pub requests: Arc<AtomicU64>,
}

impl Drop for Rogue {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Rogue {
    pub fn base_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }
}

pub fn start(respond: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Rogue {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let respond = Arc::new(respond);
    let (stopped, counted) = (stop.clone(), requests.clone());
    std::thread::spawn(move || {
        while !stopped.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let (respond, stopped, counted) = (respond.clone(), stopped.clone(), counted.clone());
                    std::thread::spawn(move || serve(stream, &*respond, &stopped, &counted));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    Rogue { addr, stop, requests }
}

fn serve(stream: TcpStream, respond: &dyn Fn(&Request) -> Reply, stop: &AtomicBool, counted: &AtomicU64) {
    stream.set_nonblocking(false).ok();
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    // Keep-alive: answer requests on this connection until it closes.
    for _ in 0..10_000 {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let (mut length, mut authorization) = (0usize, String::new());
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "authorization" => authorization = value.trim().to_string(),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        counted.fetch_add(1, Ordering::Relaxed);
        let request = Request {
            method,
            target,
            authorization,
        };
        match respond(&request) {
            Reply::Json(status, headers, body) => {
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
                    body.len()
                );
                for (name, value) in headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body.as_bytes()).is_err() {
                    return;
                }
            }
            Reply::Endless => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if writer.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                for _ in 0..1024 {
                    if stop.load(Ordering::Relaxed) || writer.write_all(chunk.as_bytes()).is_err() {
                        return;
                    }
                }
                return;
            }
        }
    }
}

/// A list page of `count` guests starting at `first`, with the pagination numbers given.
pub fn page(first: u64, count: u64, total: u64, total_pages: u64, current: u64) -> String {
    let guests: Vec<String> = (first..first + count)
        .map(|i| format!(r#"{{"id": {i}, "email": "g{i}@example.org", "first_name": "G{i}"}}"#))
        .collect();
    format!(
        r#"{{"data": [{}], "meta": {{"pagination": {{"total": {total}, "count": {count}, "per_page": 100, "current_page": {current}, "total_pages": {total_pages}, "links": []}}}}}}"#,
        guests.join(",")
    )
}

/// The page number asked for.
pub fn page_number(target: &str) -> u64 {
    target
        .split(['?', '&'])
        .find_map(|part| part.strip_prefix("page="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}
