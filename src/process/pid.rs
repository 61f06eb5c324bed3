//! Process identifiers.
//!
//! A [`Pid`] prints as `{host|0x0001a}`: the `process.host` entry the process runs on, and a serial number unique
//! within its [`crate::Host`]. On a host that joined a cluster (SPEC §8) the host part carries the node too:
//! `{b@app:processes|0x0001a}`. The printed form is the identity: two PIDs are equal when their text is, so a PID
//! survives a round trip through a string (Lua, JSON payloads, the `wippy:process` interface) and works as a map key.
//! Cloning is a reference-count increment.

use std::fmt;
use std::sync::Arc;

/// A process identifier, printed `{host|0x0001a}`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid(Arc<str>);

impl Pid {
    /// The PID of serial `serial` on `host`.
    pub fn new(host: &str, serial: u64) -> Pid {
        Pid::with_node(None, host, serial)
    }

    /// The PID of serial `serial` on `host` of `node`, if any (`{node@host|0x...}`). Written without the
    /// formatting machinery, which cost a spawn about 1,300 instructions.
    pub(crate) fn with_node(node: Option<&str>, host: &str, serial: u64) -> Pid {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digits = (16 - serial.leading_zeros().min(63) as usize / 4).max(5);
        let mut text = String::with_capacity(node.map_or(0, |n| n.len() + 1) + host.len() + digits + 5);
        text.push('{');
        if let Some(node) = node {
            text.push_str(node);
            text.push('@');
        }
        text.push_str(host);
        text.push_str("|0x");
        for i in (0..digits).rev() {
            text.push(HEX[(serial >> (4 * i) & 0xf) as usize] as char);
        }
        text.push('}');
        Pid(Arc::from(text))
    }

    /// Parses the printed form; `None` when `text` is not shaped like a PID.
    pub fn parse(text: &str) -> Option<Pid> {
        let inner = text.strip_prefix('{')?.strip_suffix('}')?;
        let (host, serial) = inner.rsplit_once('|')?;
        let hex = serial.strip_prefix("0x")?;
        if host.is_empty() || hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(Pid(Arc::from(text)))
    }

    /// The printed form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host part: the `process.host` entry, or `client` for Rust-side clients (without the node).
    pub fn host(&self) -> &str {
        let full = self.full_host();
        full.split_once('@').map_or(full, |(_, h)| h)
    }

    /// The node the process runs on, for a PID minted by a host in a cluster.
    pub fn node(&self) -> Option<&str> {
        self.full_host().split_once('@').map(|(n, _)| n)
    }

    fn full_host(&self) -> &str {
        self.0.trim_start_matches('{').rsplit_once('|').map_or("", |(h, _)| h)
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for Pid {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn print_and_parse() {
        let p = Pid::new("app:processes", 0x1a);
        assert_eq!(p.as_str(), "{app:processes|0x0001a}");
        assert_eq!(p.host(), "app:processes");
        assert_eq!(Pid::parse(p.as_str()), Some(p.clone()));
        assert_eq!(Pid::parse("app:processes|0x1"), None);
        assert_eq!(Pid::parse("{|0x1}"), None);
        assert_eq!(Pid::parse("{a|12}"), None);
        let remote = Pid::new("b@app:processes", 0x1f);
        assert_eq!(remote.as_str(), "{b@app:processes|0x0001f}");
        assert_eq!((remote.node(), remote.host()), (Some("b"), "app:processes"));
        assert_eq!(p.node(), None);
    }

    #[test]
    fn printed_like_the_formatter_would() {
        for serial in [0, 1, 0x1a, 0xfffff, 0x100000, 0xdead_beef, u64::MAX] {
            assert_eq!(Pid::new("h", serial).as_str(), format!("{{h|0x{serial:05x}}}"));
            assert_eq!(Pid::with_node(Some("n"), "h", serial).as_str(), format!("{{n@h|0x{serial:05x}}}"));
        }
    }
}
