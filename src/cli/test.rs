//! `wippy test [filter]`: runs every `function.lua` with `meta.type: test` (whose ID contains the filter)
//! concurrently, each under `--timeout`; one `PASS`/`FAIL` line per test, then `N passed, N failed`; exit 1 on any
//! failure.

use std::process::ExitCode;

use super::{block_on, load, out, Failure, Global};

/// Arguments of `wippy test`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Run only tests whose entry ID contains this.
    filter: Option<String>,
    /// How long one test may take, like `30s` or `500ms`.
    #[arg(long, default_value = "30s")]
    timeout: String,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
}

/// Runs `wippy test`.
pub(crate) fn run(args: Args, global: &Global) -> Result<ExitCode, Failure> {
    let timeout = wippy::parse_duration(&args.timeout)
        .map_err(|e| Failure::user(format!("--timeout: {e}")).hint("write it like `30s` or `500ms`"))?;
    let cluster = super::cluster::config(&args.cluster, global)?;
    let host = load(global)?;
    let ids = host.tests(args.filter.as_deref());
    if ids.is_empty() {
        let matching = args.filter.as_deref().map(|f| format!(" matching `{f}`")).unwrap_or_default();
        out(format!("no tests{matching}: give a `function.lua` entry `meta: {{type: test}}`"))?;
        out("0 passed, 0 failed")?;
        return Ok(ExitCode::SUCCESS);
    }
    let outcomes = block_on(async {
        super::cluster::join_short(&host, cluster.as_ref()).await?;
        Ok::<_, Failure>(host.run_tests(&ids, timeout).await)
    })??;
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    for o in &outcomes {
        let ms = o.elapsed.as_millis();
        if o.passed {
            out(format!("PASS {} ({ms} ms)", o.id))?;
        } else {
            out(format!("FAIL {} ({ms} ms): {}", o.id, o.detail))?;
        }
    }
    out(format!("{} passed, {failed} failed", outcomes.len() - failed))?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
