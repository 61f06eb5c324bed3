//! The commands of the `wippy` binary, one file each, all of the same shape: an `Args` struct (clap) and
//! `run(args, &Global) -> Result<ExitCode, Failure>`.
//!
//! This module holds what they share: the global flags, loading a project, the async runtime, writing results,
//! and [`Failure`], which renders an error with its hints and carries the exit code (1 for the user's input or a
//! guest, 2 for the host itself).

mod admin;
mod call;
mod check;
mod cluster;
mod hash;
pub(crate) mod logging;
mod run;
mod start;
mod test;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use wippy::{Hinted, Host, HostBuilder, LoadError, Value};

/// The command line.
#[derive(Parser)]
#[command(name = "wippy", version, about = "A process host for WebAssembly and Lua")]
pub(crate) struct Cli {
    /// The project folder.
    #[arg(short = 'C', long = "project", global = true, default_value = ".")]
    project: PathBuf,
    /// Debug logs (RUST_LOG is honoured too).
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    /// Export the spans of calls, processes and messages to an OTLP/HTTP collector (`http://HOST:4318`).
    #[arg(long, global = true, value_name = "ENDPOINT")]
    pub(crate) otlp: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call a function entry; arguments are JSON, or strings when they are not JSON. Prints the result as JSON.
    Call(call::Args),
    /// Load and validate the project, verify hashes and compile everything; print every problem.
    Check(check::Args),
    /// Print the `sha256:` hash of a file, as the `hash` field wants it.
    Hash(hash::Args),
    /// Show the processes of a running node (`wippy start --admin`): state, age, mailbox, memory, CPU.
    Ps(admin::PsArgs),
    /// Run a command (`meta.command` of a process entry) on the terminal host; `wippy run list` lists them.
    Run(run::Args),
    /// Start the hosts and the auto_start services and supervisors; run until Ctrl-C or SIGTERM, then stop them in
    /// reverse dependency order.
    Start(start::Args),
    /// Run the Lua tests: every `function.lua` with `meta.type: test` (whose ID contains FILTER).
    Test(test::Args),
}

/// The flags every command sees.
pub(crate) struct Global {
    /// The project folder.
    pub(crate) project: PathBuf,
}

/// Runs the command line.
pub(crate) fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let global = Global { project: cli.project };
    match cli.command {
        Command::Call(a) => call::run(a, &global),
        Command::Check(a) => check::run(a, &global),
        Command::Hash(a) => hash::run(a, &global),
        Command::Ps(a) => admin::ps(a, &global),
        Command::Run(a) => run::run(a, &global),
        Command::Start(a) => start::run(a, &global),
        Command::Test(a) => test::run(a, &global),
    }
}

/// Why a command failed: the message, its hints, and whose fault it was.
pub(crate) struct Failure {
    message: String,
    hints: Vec<String>,
    code: u8,
}

impl Failure {
    /// The user's input or a guest failed: exit 1.
    pub(crate) fn user(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), hints: Vec::new(), code: 1 }
    }

    /// The host itself failed: exit 2.
    pub(crate) fn host(message: impl Into<String>) -> Failure {
        Failure { message: message.into(), hints: Vec::new(), code: 2 }
    }

    /// A library error with its hint: the user's input or a guest failed.
    pub(crate) fn of(e: &dyn Hinted) -> Failure {
        Failure { message: e.to_string(), hints: e.hint().into_iter().collect(), code: 1 }
    }

    /// Adds a hint.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hints.push(hint.into());
        self
    }

    /// Prints `error: ...` and the hints to stderr; returns the exit code.
    pub(crate) fn report(&self) -> ExitCode {
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "error: {}", self.message);
        for h in &self.hints {
            let _ = writeln!(err, "hint: {h}");
        }
        ExitCode::from(self.code)
    }
}

/// A project that does not load: its one problem, or every problem (one `error:` line each, with its hint)
/// followed by their count.
pub(crate) fn report_load_error(e: &LoadError) -> Failure {
    if let [d] = e.diagnostics.as_slice() {
        return Failure { message: d.to_string(), hints: d.hint.iter().cloned().collect(), code: 1 };
    }
    for d in &e.diagnostics {
        Failure { message: d.to_string(), hints: d.hint.iter().cloned().collect(), code: 1 }.report();
    }
    Failure::user(format!("{} problem(s) found", e.diagnostics.len()))
}

/// Instance slots for short-lived commands: enough for any command, cheap to set up (the full pool for 100,000
/// processes takes a third of a second to reserve). `WIPPY_INSTANCE_SLOTS` overrides it.
const CLI_INSTANCE_SLOTS: u32 = 4096;

/// Loads the project with the small instance pool of short commands.
fn load(global: &Global) -> Result<Host, Failure> {
    let slots = instance_slots_from_env()?.unwrap_or(CLI_INSTANCE_SLOTS);
    builder(global)?.instance_slots(slots).build().map_err(|e| report_load_error(&e))
}

/// The host builder of every command: the project, and `WIPPY_MEMORY_BUDGET` if it is set.
pub(crate) fn builder(global: &Global) -> Result<HostBuilder, Failure> {
    let mut b = HostBuilder::new(&global.project);
    if let Ok(text) = std::env::var("WIPPY_MEMORY_BUDGET") {
        match wippy::parse_byte_size(&text) {
            Some(n) if n >= 1 << 20 => b = b.memory_budget(n),
            _ => {
                return Err(Failure::user(format!(
                    "environment variable `WIPPY_MEMORY_BUDGET` must be a size of at least 1MiB, got `{text}`"
                ))
                .hint("write it like `4GiB` or `512MiB`, or unset it for half the machine's memory"))
            }
        }
    }
    Ok(b)
}

/// `WIPPY_INSTANCE_SLOTS` if it is set: a whole number from 1 to 1,000,000, or an error naming it.
pub(crate) fn instance_slots_from_env() -> Result<Option<u32>, Failure> {
    let Ok(text) = std::env::var("WIPPY_INSTANCE_SLOTS") else { return Ok(None) };
    match text.trim().parse::<u32>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(Some(n)),
        _ => Err(Failure::user(format!(
            "environment variable `WIPPY_INSTANCE_SLOTS` must be a whole number from 1 to 1000000, got `{text}`"
        ))
        .hint("unset it to size the instance pool from the project")),
    }
}

/// Command-line words as values (`Value::from_arg`); a word that starts like JSON but is not is the user's error.
pub(crate) fn arg_value(i: usize, word: &str) -> Result<Value, Failure> {
    Value::from_arg(word).map_err(|e| {
        Failure::user(format!("argument {} (`{word}`) is not valid JSON: {e}", i + 1)).hint(
            "quote JSON for the shell (`'{\"a\": 1}'`); a word that does not start with `{`, `[` or `\"` is a string",
        )
    })
}

/// How long a command waits, once its work is done, for the runtime's tasks to wind down before it exits anyway.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs a command's work on a fresh async runtime. Whatever is still running when the work is done (a process the
/// command left behind) gets [`SHUTDOWN_GRACE`] to wind down: nothing left over can keep the command from exiting.
fn block_on<T>(work: impl std::future::Future<Output = T>) -> Result<T, Failure> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::host(format!("cannot start the async runtime: {e}")))?;
    let out = rt.block_on(work);
    rt.shutdown_timeout(SHUTDOWN_GRACE);
    Ok(out)
}

/// Writes a line to stdout; a failure to write is the host's (exit 2).
fn out(line: impl std::fmt::Display) -> Result<(), Failure> {
    writeln!(std::io::stdout().lock(), "{line}").map_err(|e| Failure::host(format!("cannot write to stdout: {e}")))
}

/// Prints a value as indented JSON.
fn print_value(v: &Value) -> Result<(), Failure> {
    out(v.to_json_pretty())
}
