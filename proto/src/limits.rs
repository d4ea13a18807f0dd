//! Numbers both ends of the wire keep, besides the messages themselves.

/// Keys one `Meta.GetMany` call may name.
pub const GET_MANY_KEYS: usize = 1000;

/// HTTP/2 flow control on every channel that streams data (client to node, node to node). Data
/// a caller has not read yet holds its stream's window *and* the connection's: with the usual
/// 5 MiB connection window, three paused 2 MiB streams (a slow HTTP client of a DIP, a DIP's
/// runs asked for ahead, shard streams of a paused GET) held all of it, and every other call on
/// that connection waited for them. The connection's window is sized for many paused streams;
/// each holds at most its stream window.
pub const STREAM_WINDOW: u32 = 2 << 20;
pub const CONNECTION_WINDOW: u32 = 256 << 20;
