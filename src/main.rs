//! The `wippy` command line: a thin layer over the library (`docs/cli.md`).
//!
//! Library code returns typed errors; the CLI renders them as `error: <message>` followed by one `hint: ...` line
//! per hint, and decides the exit code: 0 success, 1 the user's input or a guest failed (a project that does not
//! load, a failed call, an error EXIT, failing tests, a bad argument), 2 the host itself failed (it could not start
//! its runtime, write its output, or it panicked).

use std::panic::AssertUnwindSafe;
use std::process::ExitCode;

use clap::Parser;

mod cli;

/// mimalloc instead of glibc's malloc: spawning a process allocates and frees many small objects, and glibc's
/// allocator was a fifth of the spawn profile (see BENCHMARKS.md). Embedders choose their own allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Guest traps are ordinary errors in a process host, not host bugs: do not capture a host backtrace for each one
/// (with `RUST_BACKTRACE=1` set, every trap would pay for a stack walk). Panics keep their backtraces; setting
/// `RUST_LIB_BACKTRACE` explicitly overrides this.
fn quiet_error_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // Single-threaded here: nothing else reads the environment yet.
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
}

fn main() -> ExitCode {
    quiet_error_backtraces();
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // `--help` and `--version` print to stdout and succeed; a bad argument is the user's input: exit 1.
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(1) } else { ExitCode::SUCCESS };
        }
    };
    let telemetry = match cli::logging::init(args.verbose, args.otlp.as_deref()) {
        Ok(t) => t,
        Err(failure) => return failure.report(),
    };
    let code = match std::panic::catch_unwind(AssertUnwindSafe(|| cli::run(args))) {
        Ok(Ok(code)) => code,
        Ok(Err(failure)) => failure.report(),
        // The panic message was printed by the panic hook.
        Err(_) => cli::Failure::host("internal error: the host panicked (this is a bug in wippy)").report(),
    };
    telemetry.shutdown();
    code
}
