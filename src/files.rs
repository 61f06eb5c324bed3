//! Reading the files a project names: registry files, `wippy.lock`, Lua and WAT sources, WASM binaries.
//!
//! Every such file must be a regular file (after symlinks) of at most [`MAX_FILE_SIZE`] bytes (SPEC §10): a
//! `source: file:///dev/zero`, a FIFO or a folder is refused before it is opened, so nothing blocks on it, and the
//! read itself stops one byte past the bound, so a file that grows while it is read cannot exhaust memory either.
//! Text must be UTF-8; the error says where the first bad byte is. A leaf: used by the registry and the WASM
//! loader, it knows neither.

use std::io::Read;
use std::path::Path;

use crate::id::Pos;

/// The largest file a project may name (sources, registry files, binaries): 256 MiB.
pub(crate) const MAX_FILE_SIZE: u64 = 256 << 20;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FileError {
    /// Not a regular file: a folder, a device, a FIFO, a socket.
    #[error("it is {what}, not a regular file")]
    NotRegular {
        /// What it is (`a folder`, `a character device`, ...).
        what: &'static str,
    },
    /// Larger than [`MAX_FILE_SIZE`].
    #[error("it is larger than the {} MiB bound on project files", MAX_FILE_SIZE >> 20)]
    TooLarge,
    /// Not UTF-8 text.
    #[error("it is not UTF-8 text: the first bad byte is at line {}, column {}", pos.line, pos.col)]
    NotUtf8 {
        /// Where the first bad byte is (the column counts characters).
        pos: Pos,
    },
    /// The operating system's error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a file that is not regular is, for messages.
fn kind_of(ty: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ty.is_dir() {
        "a folder"
    } else if ty.is_char_device() {
        "a character device"
    } else if ty.is_block_device() {
        "a block device"
    } else if ty.is_fifo() {
        "a FIFO"
    } else if ty.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// The bytes of `path`: a regular file of at most [`MAX_FILE_SIZE`] bytes.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, FileError> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular { what: kind_of(meta.file_type()) });
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(FileError::TooLarge);
    }
    let file = std::fs::File::open(path)?;
    // The file was regular when we looked; checked again on the open handle, in case it was swapped meanwhile.
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(FileError::NotRegular { what: kind_of(meta.file_type()) });
    }
    let mut bytes = Vec::with_capacity(meta.len().min(MAX_FILE_SIZE) as usize);
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(FileError::TooLarge);
    }
    Ok(bytes)
}

/// The text of `path`, read as [`read_bytes`] does; UTF-8 or an error saying where it is not.
pub(crate) fn read_text(path: &Path) -> Result<String, FileError> {
    text(read_bytes(path)?)
}

/// `bytes` as text, or where the first byte that is not UTF-8 is.
pub(crate) fn text(bytes: Vec<u8>) -> Result<String, FileError> {
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        // Everything before the bad byte is valid UTF-8.
        let good = std::str::from_utf8(good).unwrap_or_default();
        let line = good.matches('\n').count() + 1;
        let col = good.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        FileError::NotUtf8 { pos: Pos { line, col } }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_folders_are_refused_without_reading() {
        for (path, what) in [("/dev/zero", "a character device"), ("/", "a folder")] {
            match read_bytes(Path::new(path)) {
                Err(FileError::NotRegular { what: w }) => assert_eq!(w, what),
                other => panic!("{path}: {other:?}"),
            }
        }
    }

    #[test]
    fn bad_utf8_has_a_position() {
        let err = text(b"a: 1\nb: x\xffy\n".to_vec()).expect_err("not utf-8");
        assert!(matches!(err, FileError::NotUtf8 { pos: Pos { line: 2, col: 5 } }), "{err:?}");
        assert_eq!(err.to_string(), "it is not UTF-8 text: the first bad byte is at line 2, column 5");
    }
}
