//! What nodes say to each other: one serde enum ([`Wire`]), each message encoded with postcard when it is sent
//! (so its size is checked at the sender), and the messages waiting for one peer carried together as one
//! [`Frame`], the bytes of one ractor_cluster cast to the peer's agent actor. PIDs travel as their printed form,
//! values in [`Value`]'s exact serde form. A frame names the sending node, so the receiver can answer without a
//! session lookup.

use serde::{Deserialize, Serialize};

use crate::process::Payload;
use crate::security::SecurityContext;
use crate::value::Value;

/// The largest encoded message between two nodes (SPEC §10, `cluster.max_message_bytes`): ractor_cluster's default
/// frame limit less room for its own framing. A send past it fails with
/// [`ProcessError::MessageTooLarge`](crate::error::ProcessError::MessageTooLarge).
pub(crate) const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024 - 64 * 1024;

/// The messages one node sends another in one cast, in order.
#[derive(Serialize, Deserialize)]
pub(super) struct Frame {
    /// The sending node.
    pub(super) from: String,
    /// The encoded messages ([`encode`]).
    pub(super) items: Vec<Item>,
}

/// One encoded [`Wire`] message inside a [`Frame`].
#[derive(Serialize, Deserialize)]
pub(super) struct Item(#[serde(with = "bytes_as_bytes")] pub(super) Vec<u8>);

/// Bytes as one postcard byte string (a length and the bytes), not a sequence of numbers.
mod bytes_as_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        <&[u8]>::deserialize(d).map(<[u8]>::to_vec)
    }
}

/// What one node asks of another, or answers.
#[derive(Serialize, Deserialize)]
pub(super) enum Wire {
    /// A message to a process.
    Send { from: Option<String>, to: String, topic: String, payload: Payload },
    /// Spawn a process; answered by [`Wire::Spawned`] before the child runs.
    Spawn {
        id: u64,
        parent: Option<String>,
        monitor: bool,
        link: bool,
        host: String,
        entry: String,
        args: Vec<Value>,
        context: SecurityContext,
    },
    /// The answer to [`Wire::Spawn`]: the PID, or the error's kind and text.
    Spawned { id: u64, result: Result<String, (String, String)> },
    /// `watcher` (on the sender) monitors `target` (here).
    Monitor { watcher: String, target: String },
    /// Stop that monitor.
    Unmonitor { watcher: String, target: String },
    /// `remote` (on the sender) links to `local` (here).
    Link { remote: String, local: String },
    /// Remove that link.
    Unlink { remote: String, local: String },
    /// CANCEL to a process here.
    Cancel { from: Option<String>, to: String, reason: Value, timeout_ms: Option<u64> },
    /// Terminate a process here.
    Terminate { to: String, reason: Value },
    /// EXIT of `from` (on the sender) for its monitor `to` (here).
    Exit { to: String, from: String, value: Value, error: Option<Value>, at_ms: u64 },
    /// `from` (on the sender), linked to `to` (here), ended: with an error, or normally (the link only goes).
    LinkExit { to: String, from: String, error: Option<Value> },
    /// The receiver has handled this many bytes of frames (sent in a frame of its own, never queued).
    Ack { bytes: u64 },
}

/// Encodes a message; `Err` with its size when it is past [`MAX_MESSAGE_BYTES`].
pub(super) fn encode(body: &Wire) -> Result<Item, usize> {
    let bytes = postcard::to_stdvec(body).map_err(|_| usize::MAX)?;
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(bytes.len());
    }
    Ok(Item(bytes))
}

/// Decodes a message (`None` for bytes that are not one: logged and dropped by the caller).
pub(super) fn decode(item: &Item) -> Option<Wire> {
    postcard::from_bytes(&item.0).ok()
}

/// Encodes a frame.
pub(super) fn encode_frame(frame: &Frame) -> Vec<u8> {
    postcard::to_stdvec(frame).unwrap_or_default()
}

/// Decodes a frame (`None` for bytes that are not one).
pub(super) fn decode_frame(bytes: &[u8]) -> Option<Frame> {
    postcard::from_bytes(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::ErrorValue;

    #[test]
    fn values_cross_exactly() {
        let v = Value::map([
            ("i", Value::Int(-7)),
            ("f", Value::Float(1.5)),
            ("b", Value::Bytes(vec![0, 255])),
            ("e", ErrorValue::new("boom").with_kind("Invalid").into()),
            ("l", Value::List(vec![Value::Nil, Value::Bool(true), Value::from("s")])),
        ]);
        let body = Wire::Send {
            from: None,
            to: "{b@h:p|0x00001}".into(),
            topic: "t".into(),
            payload: Payload::Value(v.clone()),
        };
        let item = || encode(&body).expect("a small message encodes");
        let frame = Frame { from: "a".into(), items: vec![item(), item()] };
        let back = decode_frame(&encode_frame(&frame)).expect("a frame decodes");
        assert_eq!((back.from.as_str(), back.items.len()), ("a", 2));
        let Some(Wire::Send { payload: Payload::Value(got), .. }) = decode(&back.items[1]) else {
            panic!("not a send")
        };
        assert_eq!(got, v);
        assert!(decode_frame(b"\xff\xff\xff").is_none());
        assert!(decode(&Item(vec![0xff, 0xff])).is_none());
    }
}
