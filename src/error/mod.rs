//! Every error type of the library, in one place.
//!
//! - [`LoadError`] and its [`Diagnostic`]s: a project that does not load (each problem with `file:line:col`);
//! - [`CallError`]: a call into a guest failed (with [`LimitExceeded`] and [`CapabilityDenied`]);
//! - [`ProcessError`]: a process operation failed (spawn, send, register, link, ...);
//! - [`DeployError`] and [`CommandError`]: a deployment or a CLI command cannot start;
//! - [`ClusterError`]: a host cannot join a cluster; [`AdminError`]: the admin endpoint cannot start;
//! - [`ConvertError`]: a value does not fit a WIT type (defined beside the conversion, re-exported here).
//!
//! `Display` is always the bare message: it is what a guest, a Lua `err` value or an EXIT error carries. What the
//! user can do about an error is a separate hint ([`Hinted::hint`], or [`Diagnostic::hint`]), rendered by the CLI
//! as `hint:` lines and never sent to guests.

mod admin;
mod call;
mod cluster;
mod deploy;
mod load;
mod process;

pub use admin::AdminError;
pub use call::{CallError, CapabilityDenied, LimitExceeded};
pub use cluster::ClusterError;
pub use deploy::{CommandError, DeployError};
pub use load::{Diagnostic, LoadError};
pub use process::ProcessError;

pub use crate::value::wit::ConvertError;

/// An error that may know what the user can do about it.
pub trait Hinted: std::error::Error {
    /// The hint, if there is one: shown by the CLI as `hint: ...`, never part of the error's message.
    fn hint(&self) -> Option<String>;
}

impl Hinted for CallError {
    fn hint(&self) -> Option<String> {
        CallError::hint(self)
    }
}

impl Hinted for ProcessError {
    fn hint(&self) -> Option<String> {
        ProcessError::hint(self)
    }
}

impl Hinted for CommandError {
    fn hint(&self) -> Option<String> {
        CommandError::hint(self)
    }
}

impl Hinted for DeployError {
    fn hint(&self) -> Option<String> {
        None
    }
}

impl Hinted for AdminError {
    fn hint(&self) -> Option<String> {
        AdminError::hint(self)
    }
}

impl Hinted for ClusterError {
    fn hint(&self) -> Option<String> {
        ClusterError::hint(self)
    }
}
