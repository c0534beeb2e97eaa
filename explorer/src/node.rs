//! How the explorer reads the node: the small [`NodeApi`] trait (JSON GETs and the
//! committed-block event stream), implemented over HTTP by [`HttpNode`] with ONE token that
//! sees everything. Views never call the node directly with a user's identity: what a user
//! may see is decided by [`crate::vis`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::StreamExt;
use serde_json::Value;

/// A boxed, sendable future (keeps [`NodeApi`] object-safe).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Largest JSON answer read from the node.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;
/// Largest single server-sent event read from the node.
pub const MAX_EVENT_BYTES: usize = 8 << 20;

/// Why a node request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// 404: the thing does not exist (or the token may not see it).
    #[error("not found: {0}")]
    NotFound(String),
    /// Any other error status, with the node's error code and message.
    #[error("node answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The node's message.
        message: String,
    },
    /// The node could not be reached.
    #[error("node unreachable: {0}")]
    Transport(String),
    /// The answer was not what the API documents.
    #[error("unexpected answer from the node: {0}")]
    Decode(String),
}

/// What the explorer needs from a node.
pub trait NodeApi: Send + Sync + 'static {
    /// GET `path_and_query` (e.g. `/v1/blocks/3`) as JSON.
    fn get_json<'a>(&'a self, path_and_query: &'a str) -> BoxFut<'a, Result<Value, NodeError>>;
    /// The committed-block events of `GET /v1/events` (the `data` of each `block` event).
    fn events(&self)
        -> BoxFut<'_, Result<BoxStream<'static, Result<Value, NodeError>>, NodeError>>;
}

/// [`NodeApi`] over the node's HTTP API with a bearer token.
#[derive(Clone)]
pub struct HttpNode {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl HttpNode {
    /// A client of the node at `base_url` using API `token`.
    pub fn new(base_url: &str, token: &str) -> Result<Self, NodeError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| NodeError::Transport(e.to_string()))?;
        Ok(HttpNode {
            base: base_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http,
        })
    }

    async fn get(&self, path: &str) -> Result<Value, NodeError> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .map_err(|e| NodeError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| NodeError::Transport(e.to_string()))?;
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(NodeError::Decode(format!(
                    "answer to {path} exceeds {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let json: Result<Value, _> = serde_json::from_slice(&body);
        if (200..300).contains(&status) {
            return json.map_err(|e| NodeError::Decode(format!("{path}: {e}")));
        }
        let message = json
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
        if status == 404 {
            Err(NodeError::NotFound(message))
        } else {
            Err(NodeError::Status { status, message })
        }
    }

    async fn open_events(&self) -> Result<BoxStream<'static, Result<Value, NodeError>>, NodeError> {
        let resp = self
            .http
            .get(format!("{}/v1/events", self.base))
            .bearer_auth(&self.token)
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| NodeError::Transport(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(NodeError::Status {
                status: resp.status().as_u16(),
                message: "event stream refused".into(),
            });
        }
        let bytes = resp.bytes_stream().map(|r| {
            r.map(|b| b.to_vec())
                .map_err(|e| NodeError::Transport(e.to_string()))
        });
        Ok(sse_values(bytes.boxed()))
    }
}

impl NodeApi for HttpNode {
    fn get_json<'a>(&'a self, path_and_query: &'a str) -> BoxFut<'a, Result<Value, NodeError>> {
        Box::pin(self.get(path_and_query))
    }

    fn events(
        &self,
    ) -> BoxFut<'_, Result<BoxStream<'static, Result<Value, NodeError>>, NodeError>> {
        Box::pin(self.open_events())
    }
}

/// Parses a server-sent event byte stream into the JSON data of its `block` events
/// (other events and comments are skipped; an event above [`MAX_EVENT_BYTES`] ends the
/// stream with an error).
pub fn sse_values(
    bytes: BoxStream<'static, Result<Vec<u8>, NodeError>>,
) -> BoxStream<'static, Result<Value, NodeError>> {
    struct St {
        bytes: BoxStream<'static, Result<Vec<u8>, NodeError>>,
        buf: Vec<u8>,
        done: bool,
    }
    let st = St {
        bytes,
        buf: Vec::new(),
        done: false,
    };
    futures::stream::unfold(st, |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            // A complete event ends with an empty line.
            if let Some(end) = find_event_end(&st.buf) {
                let raw: Vec<u8> = st.buf.drain(..end.1).collect();
                let text = String::from_utf8_lossy(&raw[..end.0]).replace("\r\n", "\n");
                let mut name = "message";
                let mut data = String::new();
                for line in text.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = if v.trim() == "block" {
                            "block"
                        } else {
                            "other"
                        };
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !data.is_empty() {
                            data.push('\n');
                        }
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if name == "block" && !data.is_empty() {
                    let v =
                        serde_json::from_str(&data).map_err(|e| NodeError::Decode(e.to_string()));
                    return Some((v, st));
                }
                continue;
            }
            if st.buf.len() > MAX_EVENT_BYTES {
                st.done = true;
                return Some((Err(NodeError::Decode("event too large".into())), st));
            }
            match st.bytes.next().await {
                Some(Ok(chunk)) => st.buf.extend_from_slice(&chunk),
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                None => return None,
            }
        }
    })
    .boxed()
}

/// (end of the event's text, end including the blank line) of the first complete event.
fn find_event_end(buf: &[u8]) -> Option<(usize, usize)> {
    let lf = buf
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| (i, i + 2));
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, i + 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 < b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
pub mod fake {
    //! An in-memory [`NodeApi`] for unit tests.
    use std::collections::HashMap;
    use std::sync::Mutex;

    use super::*;

    /// Answers GETs from a map of path -> JSON; events from a list.
    #[derive(Default)]
    pub struct FakeNode {
        /// Path -> answer.
        pub answers: Mutex<HashMap<String, Value>>,
    }

    impl FakeNode {
        /// Sets the answer of `path`.
        pub fn set(&self, path: &str, v: Value) {
            self.answers.lock().unwrap().insert(path.to_string(), v);
        }
    }

    impl NodeApi for FakeNode {
        fn get_json<'a>(&'a self, path: &'a str) -> BoxFut<'a, Result<Value, NodeError>> {
            let v = self.answers.lock().unwrap().get(path).cloned();
            Box::pin(async move { v.ok_or_else(|| NodeError::NotFound(path.to_string())) })
        }
        fn events(
            &self,
        ) -> BoxFut<'_, Result<BoxStream<'static, Result<Value, NodeError>>, NodeError>> {
            Box::pin(async { Ok(futures::stream::pending().boxed()) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parses_block_events_across_chunks_and_skips_others() {
        let chunks: Vec<Result<Vec<u8>, NodeError>> = vec![
            Ok(b": keep-alive\n\nevent: block\nda".to_vec()),
            Ok(b"ta: {\"height\": 3}\n\nevent: lagged\ndata: 2\n\n".to_vec()),
            Ok(b"event: block\r\ndata: {\"height\": 4}\r\n\r\n".to_vec()),
        ];
        let s = sse_values(futures::stream::iter(chunks).boxed());
        let got: Vec<Value> = s.map(|r| r.unwrap()).collect().await;
        assert_eq!(
            got,
            vec![
                serde_json::json!({"height": 3}),
                serde_json::json!({"height": 4})
            ]
        );
    }
}
