//! A point-to-point frame as it arrives on a consensus request-response stream.
#![no_main]

use futures::executor::block_on;
use futures::io::Cursor;
use lianrong_consensus::MAX_MESSAGE_BYTES;
use lianrong_network::codec::{ConsensusCodec, Frame};
use libfuzzer_sys::fuzz_target;
use libp2p::request_response::Codec;

fuzz_target!(|data: &[u8]| {
    // The node's limit (runtime sets max_message_bytes to MAX_MESSAGE_BYTES).
    let mut codec = ConsensusCodec::new(MAX_MESSAGE_BYTES);
    let read = block_on(codec.read_frame(&mut Cursor::new(data)));
    if let Ok(body) = &read {
        // A frame is read only if the stream is exactly prefix + body.
        let mut again = Cursor::new(Vec::new());
        block_on(codec.write_frame(&mut again, body)).expect("a read frame can be written");
        assert_eq!(
            again.into_inner(),
            data,
            "the frame is not the whole stream"
        );
    }
    let protocol = lianrong_network::codec::CONSENSUS_PROTOCOL;
    let request = block_on(codec.read_request(&protocol, &mut Cursor::new(data)));
    match (request, read) {
        (Ok(Frame::Message(a)), Ok(b)) => assert_eq!(a, b),
        (Ok(Frame::Refused(_)), Err(_)) | (Err(_), Err(_)) => {}
        (r, f) => panic!("read_request {r:?} disagrees with read_frame {f:?}"),
    }
});
