//! Signed API requests: what a member key signs to authenticate one HTTP request to a
//! node, shared by the node (which verifies) and the SDK (which signs).

use crate::signing_message;

/// Namespace of signed API requests.
pub const API_NAMESPACE: &str = "lianrong/api/v1";

/// Header carrying the member key of a signed request.
pub const H_KEY: &str = "x-lianrong-key";
/// Header carrying the request time (ms since the Unix epoch).
pub const H_TIME: &str = "x-lianrong-time";
/// Header carrying the signature.
pub const H_SIG: &str = "x-lianrong-signature";

/// The bytes a member key signs for an API request: the node's address as the client
/// names it (`host:port`, the HTTP `Host`), method, path with query, and time. The address
/// binds the request to one node: replayed to another node within the time window, it
/// names an address that node does not answer to. Request bodies need no signature of
/// their own: the only body the API takes is a signed transaction.
pub fn request_signing_bytes(
    chain_id: &str,
    authority: &str,
    method: &str,
    path_and_query: &str,
    time_ms: u64,
) -> Vec<u8> {
    signing_message(
        API_NAMESPACE,
        chain_id,
        format!(
            "{}\n{method}\n{path_and_query}\n{time_ms}",
            authority.to_ascii_lowercase()
        )
        .as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_of_the_request_is_signed() {
        let h = "10.0.0.1:8080";
        let base = request_signing_bytes("c", h, "GET", "/v1/status", 1);
        assert_ne!(base, request_signing_bytes("d", h, "GET", "/v1/status", 1));
        assert_ne!(
            base,
            request_signing_bytes("c", "10.0.0.2:8080", "GET", "/v1/status", 1)
        );
        assert_ne!(base, request_signing_bytes("c", h, "POST", "/v1/status", 1));
        assert_ne!(
            base,
            request_signing_bytes("c", h, "GET", "/v1/status?x=1", 1)
        );
        assert_ne!(base, request_signing_bytes("c", h, "GET", "/v1/status", 2));
        assert_eq!(
            base,
            request_signing_bytes("c", "10.0.0.1:8080", "GET", "/v1/status", 1)
        );
    }
}
