//! The `wippy` command line: a thin layer over [`wippy::Host`] (SPEC §7).
//!
//! Library code returns typed errors; this is the one place that adds context with `anyhow` and decides exit codes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use wippy::value::json;
use wippy::{Host, HostBuilder, Value};

mod cli;

/// mimalloc instead of glibc's malloc: spawning a process allocates and frees many small objects, and glibc's
/// allocator was a fifth of the spawn profile (see BENCHMARKS.md). Embedders choose their own allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "wippy", version, about = "A process host for WebAssembly")]
struct Cli {
    /// The project folder.
    #[arg(short = 'C', long = "project", global = true, default_value = ".")]
    project: PathBuf,
    /// Debug logs (RUST_LOG is honoured too).
    #[arg(short, long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call a function entry; arguments are JSON, or strings when they are not JSON. Prints the result as JSON.
    Call {
        /// The function entry, `namespace:name`.
        entry: String,
        /// Arguments.
        #[arg(allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Load and validate the project, verify hashes and compile everything; print every problem.
    Check,
    /// Print the `sha256:` hash of a file, as the `hash` field wants it.
    Hash {
        /// The file.
        file: PathBuf,
    },
    /// Run the Lua tests: every `function.lua` with `meta.type: test` (whose ID contains FILTER).
    Test {
        /// Run only tests whose entry ID contains this.
        filter: Option<String>,
        /// How long one test may take, like `30s` or `500ms`.
        #[arg(long, default_value = "30s")]
        timeout: String,
    },
    /// Start the hosts and the auto_start services and supervisors; run until Ctrl-C or SIGTERM, then stop them in
    /// reverse dependency order.
    Start,
    /// Run a command (`meta.command` of a process entry) on the terminal host; `wippy run list` lists them.
    Run {
        /// Run this process entry instead of a named command.
        #[arg(short = 'x', long = "entry", value_name = "NS:ENTRY")]
        entry: Option<String>,
        /// The command name (or `list`), then its arguments.
        #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
        args: Vec<String>,
    },
}

fn init_logging(verbose: bool) {
    let default = if verbose { "wippy=debug,info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

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
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

/// Instance slots for short-lived commands: enough for any command, cheap to set up (the full pool for 100,000
/// processes takes a third of a second to reserve). `WIPPY_INSTANCE_SLOTS` overrides it.
const CLI_INSTANCE_SLOTS: u32 = 4096;

fn builder(project: &PathBuf) -> HostBuilder {
    let slots = std::env::var("WIPPY_INSTANCE_SLOTS").ok().and_then(|s| s.parse().ok()).unwrap_or(CLI_INSTANCE_SLOTS);
    HostBuilder::new(project).instance_slots(slots)
}

fn load(project: &PathBuf) -> anyhow::Result<Host> {
    builder(project).build().map_err(|e| anyhow::anyhow!("{e}"))
}

fn print_value(v: &Value) {
    match serde_json::to_string_pretty(&json::to_json(v)) {
        Ok(s) => println!("{s}"),
        Err(_) => println!("{v}"),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Hash { file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read `{}`", file.display()))?;
            println!("sha256:{}", wippy::runtime::binary::sha256_hex(&bytes));
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => match builder(&cli.project).build() {
            Ok(host) => {
                println!("ok: {} entries checked", host.registry().entries.len());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                for d in &e.diagnostics {
                    eprintln!("error: {d}");
                }
                eprintln!("{} problem(s) found", e.diagnostics.len());
                Ok(ExitCode::FAILURE)
            }
        },
        Command::Run { entry, args } => run_command(&cli.project, entry, args),
        Command::Test { filter, timeout } => {
            let timeout = wippy::duration::parse(&timeout).map_err(|e| anyhow::anyhow!("--timeout: {e}"))?;
            let host = load(&cli.project)?;
            let rt = runtime()?;
            rt.block_on(cli::test(&host, filter.as_deref(), timeout))
        }
        Command::Start => {
            // A long-running deployment gets the full instance pool its process hosts ask for.
            let host = HostBuilder::new(&cli.project).build().map_err(|e| anyhow::anyhow!("{e}"))?;
            let rt = runtime()?;
            rt.block_on(cli::start(&host))
        }
        Command::Call { entry, args } => {
            let host = load(&cli.project)?;
            let args: Vec<Value> = args.iter().map(|a| json::parse_arg(a)).collect();
            let rt = runtime()?;
            match rt.block_on(host.call(&entry, args)) {
                Ok(v) => {
                    print_value(&v);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

/// `wippy run`: `list`, a named command, or `-x ns:entry`.
fn run_command(project: &PathBuf, entry: Option<String>, args: Vec<String>) -> anyhow::Result<ExitCode> {
    let host = load(project)?;
    let commands = cli::commands(&host);
    let (entry, args) = match entry {
        Some(e) => (e, args),
        None => {
            let Some((name, rest)) = args.split_first() else {
                anyhow::bail!("which command? `wippy run list` shows them, `wippy run NAME [ARGS...]` runs one");
            };
            if name == "list" && rest.is_empty() {
                print!("{}", cli::render_list(&commands));
                return Ok(ExitCode::SUCCESS);
            }
            let found =
                commands.iter().find(|c| c.name == *name).ok_or_else(|| cli::unknown_command(name, &commands))?;
            (found.entry.to_string(), rest.to_vec())
        }
    };
    let terminal = cli::required_hosts(&host)?;
    let rt = runtime()?;
    let outcome = rt.block_on(cli::run_process(&host, &entry, &terminal, &args))?;
    match outcome {
        Ok(value) => {
            if !value.is_nil() {
                print_value(&value);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}
