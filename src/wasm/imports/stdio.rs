//! Guest stdout and stderr, line by line, into the host's log.
//!
//! Outside the terminal host a guest's output is not the terminal's: each complete line becomes a `tracing` event
//! (target `wippy::guest`, level INFO for stdout and WARN for stderr) tagged with the entry ID and, for processes,
//! the PID. A line longer than [`MAX_LINE`] is cut into pieces; a last line without a newline is logged when the
//! stream is dropped.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use crate::id::EntryId;
use crate::process::Pid;

/// The longest line logged in one piece, in bytes.
pub(crate) const MAX_LINE: usize = 16 << 10;

/// Who wrote: the entry and, for processes, the PID.
#[derive(Debug, Clone)]
pub(crate) struct LogTag {
    /// The entry.
    pub entry: EntryId,
    /// The process, when it is one.
    pub pid: Option<Pid>,
}

/// Which stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// stdout.
    Stdout,
    /// stderr.
    Stderr,
}

/// A guest output stream that writes to the log.
pub(crate) struct LogStream {
    tag: Arc<LogTag>,
    stream: Stream,
}

impl LogStream {
    /// A stream tagged with `tag`.
    pub(crate) fn new(tag: Arc<LogTag>, stream: Stream) -> Self {
        LogStream { tag, stream }
    }
}

impl IsTerminal for LogStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogStream {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LogWriter { tag: self.tag.clone(), stream: self.stream, buf: Vec::new() })
    }
}

struct LogWriter {
    tag: Arc<LogTag>,
    stream: Stream,
    buf: Vec<u8>,
}

impl LogWriter {
    fn emit(&self, bytes: &[u8]) {
        let line = String::from_utf8_lossy(bytes);
        let line = line.trim_end_matches(['\n', '\r']);
        let pid = self.tag.pid.as_ref().map_or("", |p| p.as_str());
        match self.stream {
            Stream::Stdout => tracing::info!(target: "wippy::guest", entry = %self.tag.entry, pid, "{line}"),
            Stream::Stderr => tracing::warn!(target: "wippy::guest", entry = %self.tag.entry, pid, "{line}"),
        }
    }

    fn drain_lines(&mut self) {
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let rest = self.buf.split_off(pos + 1);
            let line = std::mem::replace(&mut self.buf, rest);
            self.emit(&line);
        }
        while self.buf.len() > MAX_LINE {
            let rest = self.buf.split_off(MAX_LINE);
            let piece = std::mem::replace(&mut self.buf, rest);
            self.emit(&piece);
        }
    }
}

impl AsyncWrite for LogWriter {
    fn poll_write(mut self: Pin<&mut Self>, _cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.buf.extend_from_slice(buf);
        self.drain_lines();
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.emit(&rest);
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            self.emit(&rest);
        }
    }
}
