//! Logging and tracing for the binary: log lines on stderr (`-v`, `RUST_LOG`), and with `--otlp ENDPOINT` the
//! spans of calls, processes and messages (SPEC §9) exported over OTLP/HTTP (protobuf) to a collector.
//!
//! The two have separate filters: logs stay at `warn` unless asked, while the exporter sees `wippy`'s spans at
//! `info` (the call, process, send and receive spans). Spans are batched on the SDK's own thread and flushed when
//! the command ends ([`Telemetry::shutdown`], at most [`FLUSH_TIMEOUT`]); an unreachable collector costs the
//! dropped batches and one warning, never the command.

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::Failure;

/// How long the end of a command waits for the last spans to reach the collector.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Keeps the exporter alive; [`Telemetry::shutdown`] flushes it.
pub(crate) struct Telemetry(Option<SdkTracerProvider>);

impl Telemetry {
    /// Flushes the spans still batched.
    pub(crate) fn shutdown(self) {
        if let Some(p) = self.0 {
            if let Err(e) = p.shutdown_with_timeout(FLUSH_TIMEOUT) {
                eprintln!("warning: could not send the last spans to the OTLP collector: {e}");
            }
        }
    }
}

/// The traces URL for `endpoint`: as given when it names a path, else `/v1/traces` on it.
fn traces_url(endpoint: &str) -> Result<String, Failure> {
    let bad = || {
        Failure::user(format!("`--otlp` must be an http:// URL of an OTLP collector, got `{endpoint}`"))
            .hint("like `http://127.0.0.1:4318` (the OTLP/HTTP port); spans go to its /v1/traces")
    };
    let rest = endpoint.strip_prefix("http://").ok_or_else(bad)?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(bad());
    }
    Ok(match rest.split_once('/') {
        Some((_, path)) if !path.is_empty() => endpoint.to_owned(),
        _ => format!("{}/v1/traces", endpoint.trim_end_matches('/')),
    })
}

/// Sets up logging, and the OTLP exporter when `otlp` names a collector.
pub(crate) fn init(verbose: bool, otlp: Option<&str>) -> Result<Telemetry, Failure> {
    // ractor_cluster warns on every session that closes, which a node leaving does: `wippy start` reports that.
    let default = if verbose { "wippy=debug,info" } else { "warn,ractor_cluster=error" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_filter(filter);
    let Some(endpoint) = otlp else {
        let _ = tracing_subscriber::registry().with(logs).try_init();
        return Ok(Telemetry(None));
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_url(endpoint)?)
        .with_timeout(FLUSH_TIMEOUT)
        .build()
        .map_err(|e| Failure::user(format!("cannot set up the OTLP exporter for `{endpoint}`: {e}")))?;
    let resource = opentelemetry_sdk::Resource::builder().with_service_name("wippy").build();
    let provider = SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource).build();
    let spans =
        tracing_opentelemetry::layer().with_tracer(provider.tracer("wippy")).with_filter(EnvFilter::new("wippy=info"));
    let _ = tracing_subscriber::registry().with(logs).with(spans).try_init();
    Ok(Telemetry(Some(provider)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_gets_the_traces_path_unless_it_has_one() {
        assert_eq!(traces_url("http://127.0.0.1:4318").ok(), Some("http://127.0.0.1:4318/v1/traces".to_owned()));
        assert_eq!(traces_url("http://c:4318/").ok(), Some("http://c:4318/v1/traces".to_owned()));
        assert_eq!(traces_url("http://c:4318/x/traces").ok(), Some("http://c:4318/x/traces".to_owned()));
        assert!(
            traces_url("https://c:4318").is_err() && traces_url("c:4318").is_err() && traces_url("http://").is_err()
        );
    }
}
