//! Wire format of point-to-point (consensus) messages on the request-response protocol:
//! a 4-byte big-endian length, then that many bytes, then the end of the stream. The
//! answer is an empty acknowledgement (the stream just ends).
//!
//! The length is checked against the limit *before* anything is read, the buffer grows
//! only with the bytes that actually arrive, and a frame that is short, too long, or
//! followed by anything is refused: strict decoding means a peer cannot make us buffer
//! more than the limit, or more than it sent, or smuggle extra bytes.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response;
use libp2p::StreamProtocol;

/// Room reserved for a frame before its bytes arrive (a vote is ~170 bytes, a proposal
/// up to a payload of 256 KiB); larger frames grow the buffer as they are read.
const INITIAL_FRAME_CAPACITY: usize = 16 * 1024;

/// Protocol name of point-to-point consensus messages.
pub const CONSENSUS_PROTOCOL: StreamProtocol = StreamProtocol::new("/lianrong/consensus/1");

/// Why an inbound frame was refused. Carried inside `io::Error` (kind `InvalidData`) so
/// that the network task can tell a misbehaving peer from a dropped connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The announced length is over the limit; nothing was allocated.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The announced length.
        len: u64,
        /// The configured limit.
        max: usize,
    },
    /// The stream ended before the announced length was read.
    #[error("frame truncated")]
    Truncated,
    /// Bytes followed the frame (or the acknowledgement, which must be empty).
    #[error("trailing bytes after the frame")]
    TrailingBytes,
}

impl FrameError {
    /// Whether the frame proves the sender broke the protocol. A frame that is too long
    /// or followed by bytes was sent that way; a truncated one is what any stream looks
    /// like when its sender gave up on it (request timeout, connection closed, a process
    /// paused and resumed): a transport fault, never counted against the peer. Counting
    /// it banned both honest validators that a paused pair read stale streams from, and
    /// the network lost its quorum for good.
    pub fn is_misbehaviour(&self) -> bool {
        match self {
            FrameError::TooLarge { .. } | FrameError::TrailingBytes => true,
            FrameError::Truncated => false,
        }
    }

    /// The `FrameError` inside an I/O error, if that is what caused it.
    pub fn from_io(e: &io::Error) -> Option<&FrameError> {
        if e.kind() != io::ErrorKind::InvalidData {
            return None;
        }
        e.get_ref()?.downcast_ref::<FrameError>()
    }
}

impl From<FrameError> for io::Error {
    fn from(e: FrameError) -> Self {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// One point-to-point frame as seen by the request-response behaviour.
///
/// A malformed inbound frame is returned as `Refused` rather than as an I/O error: the
/// request-response behaviour swallows read errors of requests it has not registered yet,
/// so an error would never reach the network task and the sender could not be blamed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A well-formed message.
    Message(Vec<u8>),
    /// An inbound frame that broke the rules (its body was not read).
    Refused(FrameError),
}

/// Length-prefixed codec with a size limit (see the module docs).
#[derive(Debug, Clone)]
pub struct ConsensusCodec {
    max_bytes: usize,
}

impl ConsensusCodec {
    /// A codec refusing frames over `max_bytes` (capped at `u32::MAX`, the prefix's range).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            max_bytes: max_bytes.min(u32::MAX as usize),
        }
    }

    /// Reads one frame and checks that the stream ends right after it.
    pub async fn read_frame<T: AsyncRead + Unpin>(&self, io: &mut T) -> io::Result<Vec<u8>> {
        let mut prefix = [0u8; 4];
        io.read_exact(&mut prefix)
            .await
            .map_err(eof_is_truncation)?;
        let len = u32::from_be_bytes(prefix);
        // Checked before allocating: a peer announcing 4 GiB costs us 4 bytes of reading.
        if len as usize > self.max_bytes {
            return Err(FrameError::TooLarge {
                len: u64::from(len),
                max: self.max_bytes,
            }
            .into());
        }
        // The buffer grows with the bytes that arrive instead of being sized by the
        // prefix: a peer announcing the limit and then stalling until the request timeout
        // costs what it sent, not the limit, on each of its (up to 128 per connection)
        // streams. It doubles, but never past the announced length: `read_to_end`'s
        // doubling gave a sync answer of just over 8 MiB a 16 MiB buffer.
        let len = len as usize;
        let mut buf = Vec::new();
        while buf.len() < len {
            let start = buf.len();
            let step = (len - start).min(start.max(INITIAL_FRAME_CAPACITY));
            buf.reserve_exact(step);
            buf.resize(start + step, 0);
            io.read_exact(&mut buf[start..])
                .await
                .map_err(eof_is_truncation)?;
        }
        expect_end(io).await?;
        Ok(buf)
    }

    /// Writes one frame; refuses (locally) a payload over the limit.
    pub async fn write_frame<T: AsyncWrite + Unpin>(
        &self,
        io: &mut T,
        bytes: &[u8],
    ) -> io::Result<()> {
        if bytes.len() > self.max_bytes {
            return Err(FrameError::TooLarge {
                len: bytes.len() as u64,
                max: self.max_bytes,
            }
            .into());
        }
        // Cannot fail: max_bytes <= u32::MAX.
        let len = u32::try_from(bytes.len()).map_err(|_| io::Error::other("length"))?;
        io.write_all(&len.to_be_bytes()).await?;
        io.write_all(bytes).await?;
        io.flush().await
    }
}

/// A clean end of stream in the middle of a frame is the peer's fault, not the network's.
fn eof_is_truncation(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::UnexpectedEof {
        FrameError::Truncated.into()
    } else {
        e
    }
}

/// The sender closes its side after one frame; anything more is refused.
async fn expect_end<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<()> {
    let mut extra = [0u8; 1];
    match io.read(&mut extra).await? {
        0 => Ok(()),
        _ => Err(FrameError::TrailingBytes.into()),
    }
}

impl request_response::Codec for ConsensusCodec {
    type Protocol = StreamProtocol;
    type Request = Frame;
    type Response = ();

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Frame>
    where
        T: AsyncRead + Unpin + Send,
    {
        match self.read_frame(io).await {
            Ok(bytes) => Ok(Frame::Message(bytes)),
            Err(e) => match FrameError::from_io(&e) {
                Some(fe) => Ok(Frame::Refused(fe.clone())),
                None => Err(e),
            },
        }
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<()>
    where
        T: AsyncRead + Unpin + Send,
    {
        expect_end(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Frame,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match req {
            Frame::Message(bytes) => self.write_frame(io, &bytes).await,
            // Only inbound frames are ever refused; never put one on the wire.
            Frame::Refused(e) => Err(e.into()),
        }
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, _: &mut T, _: ()) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        // The acknowledgement is the end of the stream itself (the handler closes it).
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;

    fn frame(prefix: u32, body: &[u8]) -> Cursor<Vec<u8>> {
        let mut v = prefix.to_be_bytes().to_vec();
        v.extend_from_slice(body);
        Cursor::new(v)
    }

    fn frame_error(r: io::Result<Vec<u8>>) -> FrameError {
        let e = r.expect_err("must be refused");
        FrameError::from_io(&e).cloned().expect("a FrameError")
    }

    #[tokio::test]
    async fn round_trip() {
        let codec = ConsensusCodec::new(16);
        let mut out = Cursor::new(Vec::new());
        codec.write_frame(&mut out, b"hello").await.expect("fits");
        let mut inp = Cursor::new(out.into_inner());
        assert_eq!(codec.read_frame(&mut inp).await.expect("valid"), b"hello");
    }

    #[tokio::test]
    async fn a_large_frame_takes_its_length_and_no_more() {
        let len = (1 << 20) + 1;
        let body: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let codec = ConsensusCodec::new(2 << 20);
        let read = codec
            .read_frame(&mut frame(len as u32, &body))
            .await
            .expect("valid");
        assert_eq!(read, body);
        assert_eq!(read.capacity(), len, "a doubled buffer would hold 2 MiB");
        // Cut short anywhere, it is refused as truncated.
        let err = frame_error(
            codec
                .read_frame(&mut frame(len as u32, &body[..70_000]))
                .await,
        );
        assert_eq!(err, FrameError::Truncated);
    }

    #[tokio::test]
    async fn oversize_length_is_refused_before_reading_the_body() {
        let codec = ConsensusCodec::new(1024);
        // Announces 4 GiB but carries no body: had the codec allocated and read, the
        // error would be Truncated (or an allocation failure), not TooLarge.
        let err = frame_error(codec.read_frame(&mut frame(u32::MAX, &[])).await);
        assert_eq!(
            err,
            FrameError::TooLarge {
                len: u64::from(u32::MAX),
                max: 1024
            }
        );
        let err = frame_error(codec.read_frame(&mut frame(1025, &[0; 1025])).await);
        assert!(matches!(err, FrameError::TooLarge { len: 1025, .. }));
    }

    #[tokio::test]
    async fn truncated_and_trailing_frames_are_refused() {
        let codec = ConsensusCodec::new(1024);
        assert_eq!(
            frame_error(codec.read_frame(&mut frame(10, b"short")).await),
            FrameError::Truncated
        );
        assert_eq!(
            frame_error(codec.read_frame(&mut Cursor::new(vec![0, 0])).await),
            FrameError::Truncated
        );
        assert_eq!(
            frame_error(codec.read_frame(&mut frame(2, b"abc")).await),
            FrameError::TrailingBytes
        );
    }

    #[test]
    fn only_frames_sent_wrong_count_against_the_sender() {
        assert!(FrameError::TooLarge { len: 9, max: 8 }.is_misbehaviour());
        assert!(FrameError::TrailingBytes.is_misbehaviour());
        assert!(
            !FrameError::Truncated.is_misbehaviour(),
            "a stream its sender abandoned is a transport fault"
        );
    }

    #[tokio::test]
    async fn oversize_payload_is_not_sent() {
        let codec = ConsensusCodec::new(4);
        let mut out = Cursor::new(Vec::new());
        let e = codec
            .write_frame(&mut out, b"too long")
            .await
            .expect_err("over limit");
        assert!(FrameError::from_io(&e).is_some());
        assert!(out.into_inner().is_empty());
    }
}
