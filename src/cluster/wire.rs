//! What nodes say to each other: one serde enum, encoded with postcard and carried by ractor_cluster as the bytes
//! of a cast to the receiving node's agent actor. PIDs travel as their printed form, values in [`Value`]'s exact
//! serde form. Every message names the sending node, so the receiver can answer without a session lookup.

use serde::{Deserialize, Serialize};

use crate::process::Payload;
use crate::security::SecurityContext;
use crate::value::Value;

/// The largest encoded message between two nodes (SPEC §10, `cluster.max_message_bytes`): ractor_cluster's default
/// frame limit less room for its own framing. A send past it fails with
/// [`ProcessError::MessageTooLarge`](crate::error::ProcessError::MessageTooLarge).
pub(crate) const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024 - 64 * 1024;

/// One message from one node to another.
#[derive(Serialize, Deserialize)]
pub(super) struct Envelope {
    /// The sending node.
    pub(super) from: String,
    /// What it says.
    pub(super) body: Wire,
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
}

/// Encodes a message; `Err` with its size when it is past [`MAX_MESSAGE_BYTES`].
pub(super) fn encode(envelope: &Envelope) -> Result<Vec<u8>, usize> {
    let bytes = postcard::to_stdvec(envelope).map_err(|_| usize::MAX)?;
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(bytes.len());
    }
    Ok(bytes)
}

/// Decodes a message (`None` for bytes that are not one: logged and dropped by the caller).
pub(super) fn decode(bytes: &[u8]) -> Option<Envelope> {
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
        let env = Envelope {
            from: "a".into(),
            body: Wire::Send {
                from: None,
                to: "{b@h:p|0x00001}".into(),
                topic: "t".into(),
                payload: Payload::Value(v.clone()),
            },
        };
        let back = decode(&encode(&env).unwrap()).unwrap();
        let Wire::Send { payload: Payload::Value(got), .. } = back.body else { panic!("not a send") };
        assert_eq!(got, v);
        assert!(decode(b"\xff\xff\xff").is_none());
    }
}
