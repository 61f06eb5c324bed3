//! Reading WASM binaries: resolving `fs` + `path`, verifying the `sha256:` hash, and telling components from core
//! modules by their header.

use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// What kind of binary a WASM file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinaryKind {
    /// A core module (version 1).
    Module,
    /// A component (layer 1).
    Component,
}

/// The lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Tells a component from a core module by the 8-byte header; `None` for something that is not WASM.
pub(super) fn detect(bytes: &[u8]) -> Option<BinaryKind> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return None;
    }
    match (bytes[4..6] == [1, 0], bytes[6..8] == [0, 0], bytes[6..8] == [1, 0]) {
        (true, true, _) => Some(BinaryKind::Module),
        (_, _, true) => Some(BinaryKind::Component),
        _ => None,
    }
}

/// Joins an entry's `path` onto its directory, refusing paths that would leave the directory.
pub(super) fn resolve_in(dir: &Path, path: &str) -> Result<PathBuf, String> {
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) || rel.as_os_str().is_empty() {
        return Err(format!("`path` `{path}` must name a file inside the directory, without `..`"));
    }
    Ok(dir.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(detect(b"\0asm\x01\0\0\0"), Some(BinaryKind::Module));
        assert_eq!(detect(b"\0asm\x0d\0\x01\0"), Some(BinaryKind::Component));
        assert_eq!(detect(b"hello world"), None);
    }

    #[test]
    fn paths_stay_inside() {
        let d = Path::new("/srv/wasm");
        assert_eq!(resolve_in(d, "/worker.wasm"), Ok(PathBuf::from("/srv/wasm/worker.wasm")));
        assert_eq!(resolve_in(d, "sub/x.wasm"), Ok(PathBuf::from("/srv/wasm/sub/x.wasm")));
        assert!(resolve_in(d, "../etc/passwd").is_err());
        assert!(resolve_in(d, "/").is_err());
    }

    #[test]
    fn digest() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
