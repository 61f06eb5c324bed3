//! `wippy call ns:entry [args...]`: calls a function; each argument is JSON, or a string when it is not JSON (text
//! starting with `{`, `[` or `"` must be valid JSON);
//! prints the result as JSON. A failed call exits 1 with the error and its hints.

use std::process::ExitCode;

use wippy::Value;

use super::{block_on, load, print_value, Failure, Global};

/// Arguments of `wippy call`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// The function entry, `namespace:name`.
    entry: String,
    /// Arguments.
    #[arg(allow_hyphen_values = true)]
    args: Vec<String>,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
}

/// Runs `wippy call`.
pub(crate) fn run(args: Args, global: &Global) -> Result<ExitCode, Failure> {
    let cluster = super::cluster::config(&args.cluster, global)?;
    let host = load(global)?;
    let values =
        args.args.iter().enumerate().map(|(i, a)| super::arg_value(i, a)).collect::<Result<Vec<Value>, _>>()?;
    let result = block_on(async {
        super::cluster::join_short(&host, cluster.as_ref()).await?;
        host.call(&args.entry, values).await.map_err(|e| Failure::of(&e))
    })??;
    print_value(&result)?;
    Ok(ExitCode::SUCCESS)
}
