//! The least HTTP the bench needs to read the explorer's pages as a browser would (a
//! login form, a session cookie, HTML and streamed CSV): HTTP/1.0 over loopback, one
//! connection per request, the body delimited by the server closing it (so a streamed
//! CSV needs no chunked decoding). Bodies are counted, not kept: only their first
//! [`KEEP_BYTES`] stay in memory, so a whole-ledger CSV costs no memory here.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Body bytes kept of an answer (the rest is only counted).
pub const KEEP_BYTES: usize = 256 * 1024;
/// Largest header block accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Longest a request may take (a whole-ledger CSV export included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(900);

/// An answer.
#[derive(Debug, Default)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The first [`KEEP_BYTES`] of the body.
    pub body: Vec<u8>,
    /// Body bytes in all.
    pub bytes: u64,
    /// Line feeds in the body.
    pub lines: u64,
}

impl Answer {
    /// The value of cookie `name` a `Set-Cookie` header sets.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .find_map(|(_, v)| {
                let pair = v.split(';').next()?;
                let (k, val) = pair.split_once('=')?;
                (k.trim() == name).then(|| val.trim().to_string())
            })
    }

    /// The kept body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request: `GET` (or `POST` with a form) of `path` with the `cookie` header given.
pub async fn request(
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Result<Answer, String> {
    tokio::time::timeout(REQUEST_TIMEOUT, exchange(addr, path, cookie, form))
        .await
        .map_err(|_| format!("{path}: no answer within {REQUEST_TIMEOUT:?}"))?
}

async fn exchange(
    addr: SocketAddr,
    path: &str,
    cookie: Option<&str>,
    form: Option<&str>,
) -> Result<Answer, String> {
    let err = |e: std::io::Error| format!("{path}: {e}");
    let mut s = TcpStream::connect(addr).await.map_err(err)?;
    let method = if form.is_some() { "POST" } else { "GET" };
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some(f) = form {
        req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        req.push_str(&format!("Content-Length: {}\r\n", f.len()));
    }
    req.push_str("\r\n");
    req.push_str(form.unwrap_or(""));
    s.write_all(req.as_bytes()).await.map_err(err)?;
    read_answer(&mut s)
        .await
        .map_err(|e| format!("{path}: {e}"))
}

/// Reads the status line and headers, then counts the body to the end of the stream.
async fn read_answer(s: &mut TcpStream) -> Result<Answer, String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let mut a = Answer::default();
    loop {
        let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            if a.status == 0 {
                return Err("the connection closed before the headers ended".into());
            }
            return Ok(a);
        }
        if a.status != 0 {
            body(&mut a, &buf[..n]);
            continue;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            parse_head(&mut a, &head[..end])?;
            let rest = head[end + 4..].to_vec();
            body(&mut a, &rest);
        } else if head.len() > MAX_HEAD_BYTES {
            return Err(format!("headers longer than {MAX_HEAD_BYTES} bytes"));
        }
    }
}

fn body(a: &mut Answer, chunk: &[u8]) {
    a.bytes += chunk.len() as u64;
    a.lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    let room = KEEP_BYTES.saturating_sub(a.body.len());
    a.body.extend_from_slice(&chunk[..chunk.len().min(room)]);
}

fn parse_head(a: &mut Answer, head: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<u16>().ok())
        .filter(|c| *c >= 100)
        .ok_or_else(|| "no status line".to_string())?;
    a.status = status;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            a.headers
                .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok(())
}
