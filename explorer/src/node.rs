//! How the explorer reads the node: the small [`NodeApi`] trait (JSON GETs and the
//! committed-block event stream), implemented over the SDK's client by [`SdkNode`] with ONE token that
//! sees everything. Views never call the node directly with a user's identity: what a user
//! may see is decided by [`crate::vis`].

use std::future::Future;
use std::pin::Pin;

use futures::stream::BoxStream;
use futures::StreamExt;
use serde_json::Value;

/// A boxed, sendable future (keeps [`NodeApi`] object-safe).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

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

/// [`NodeApi`] over the SDK's [`lianrong_sdk::Client`] with a bearer token.
#[derive(Clone)]
pub struct SdkNode {
    client: lianrong_sdk::Client,
}

impl SdkNode {
    /// A client of the node at `base_url` using API `token`.
    pub fn new(base_url: &str, token: &str) -> Result<Self, NodeError> {
        let client =
            lianrong_sdk::Client::new(base_url, lianrong_sdk::Auth::Token(token.to_string()))
                .map_err(|e| NodeError::Transport(e.to_string()))?;
        Ok(SdkNode { client })
    }
}

fn sdk_error(e: lianrong_sdk::SdkError) -> NodeError {
    use lianrong_sdk::SdkError as E;
    if e.is_not_found() {
        return NodeError::NotFound(e.to_string());
    }
    match e {
        E::Api {
            status, message, ..
        } => NodeError::Status { status, message },
        E::BadResponse { .. } => NodeError::Decode(e.to_string()),
        other => NodeError::Transport(other.to_string()),
    }
}

impl NodeApi for SdkNode {
    fn get_json<'a>(&'a self, path_and_query: &'a str) -> BoxFut<'a, Result<Value, NodeError>> {
        Box::pin(async move {
            self.client
                .get_json::<Value>(path_and_query)
                .await
                .map_err(sdk_error)
        })
    }

    fn events(
        &self,
    ) -> BoxFut<'_, Result<BoxStream<'static, Result<Value, NodeError>>, NodeError>> {
        Box::pin(async move {
            let s = self.client.events().await.map_err(sdk_error)?;
            Ok(s.filter_map(|ev| async move {
                match ev {
                    Ok(lianrong_sdk::NodeEvent::Block(b)) => Some(
                        serde_json::to_value(&*b).map_err(|e| NodeError::Decode(e.to_string())),
                    ),
                    Ok(_) => None,
                    Err(e) => Some(Err(sdk_error(e))),
                }
            })
            .boxed())
        })
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
