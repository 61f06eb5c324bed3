//! `wippy hash FILE`: prints `sha256:<hex>`, as the `hash` field of a WASM entry wants it.

use std::path::PathBuf;
use std::process::ExitCode;

use super::{out, Failure, Global};

/// Arguments of `wippy hash`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The file.
    file: PathBuf,
}

/// Runs `wippy hash`.
pub(crate) fn run(args: Args, _global: &Global) -> Result<ExitCode, Failure> {
    let bytes =
        std::fs::read(&args.file).map_err(|e| Failure::user(format!("cannot read `{}`: {e}", args.file.display())))?;
    out(format!("sha256:{}", wippy::sha256_hex(&bytes)))?;
    Ok(ExitCode::SUCCESS)
}
