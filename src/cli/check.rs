//! `wippy check`: loads and validates the project, verifies every hash and compiles everything; prints every
//! problem with its position and hint, and exits 1 if there is any.

use std::process::ExitCode;

use super::{load, out, Failure, Global};

/// Arguments of `wippy check` (none).
#[derive(clap::Args)]
pub(crate) struct Args {}

/// Runs `wippy check`.
pub(crate) fn run(_args: Args, global: &Global) -> Result<ExitCode, Failure> {
    let host = load(global)?;
    out(format!("ok: {} entries checked", host.entry_count()))?;
    Ok(ExitCode::SUCCESS)
}
