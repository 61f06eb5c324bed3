//! `wippy run <command> [args...]`, `wippy run list` and `wippy run -x ns:entry [args...]`: a process entry run on
//! the terminal host (real stdin, stdout and stderr), monitored until its EXIT. Ctrl-C cancels it.
//!
//! Arguments follow the method's parameter types: a `string` parameter takes the word as it is, other parameters
//! parse it as JSON (falling back to the string), a single `list<string>` parameter takes all words; a process
//! without declared types (a `process.lua`) gets every word as a string. A non-nil return value is printed as
//! JSON after the process's own output; an error EXIT exits 1 with its error.

use std::process::ExitCode;
use std::time::Duration;

use wippy::{Command, Event, Host, Value};

use super::{block_on, load, out, print_value, Failure, Global};

/// Arguments of `wippy run`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Run this process entry instead of a named command.
    #[arg(short = 'x', long = "entry", value_name = "NS:ENTRY")]
    entry: Option<String>,
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
    /// The command name (or `list`), then its arguments.
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    args: Vec<String>,
}

/// Runs `wippy run`.
pub(crate) fn run(args: Args, global: &Global) -> Result<ExitCode, Failure> {
    let cluster = super::cluster::config(&args.cluster, global)?;
    let host = load(global)?;
    let (entry, words) = match args.entry {
        Some(e) => (e, args.args),
        None => {
            let Some((name, rest)) = args.args.split_first() else {
                return Err(Failure::user("which command?")
                    .hint("`wippy run list` shows them, `wippy run NAME [ARGS...]` runs one"));
            };
            if name == "list" && rest.is_empty() {
                print_list(&host.commands())?;
                return Ok(ExitCode::SUCCESS);
            }
            let command = host.command(name).map_err(|e| Failure::of(&e))?;
            (command.entry.to_string(), rest.to_vec())
        }
    };
    let terminal = host.terminal_host().map_err(|e| Failure::of(&e))?;
    let value = block_on(async {
        super::cluster::join_short(&host, cluster.as_ref()).await?;
        run_process(&host, &entry, terminal.as_str(), &words).await
    })??;
    if !value.is_nil() {
        print_value(&value)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `wippy run list`: one line per command, names aligned.
fn print_list(commands: &[Command]) -> Result<(), Failure> {
    if commands.is_empty() {
        return out("no commands: give a process entry `meta.command: {name: NAME, short: ...}`");
    }
    let width = commands.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in commands {
        out(format!("{:width$}  {}", c.name, c.short.as_deref().unwrap_or(""), width = width).trim_end())?;
    }
    Ok(())
}

/// Command-line words as arguments of the entry's method (see the module docs).
fn arguments(host: &Host, entry: &str, words: &[String]) -> Result<Vec<Value>, Failure> {
    let Some(params) = host.process_params(entry) else {
        return Ok(words.iter().map(|w| Value::from(w.as_str())).collect());
    };
    if let [(_, ty)] = params.as_slice() {
        if ty == "list<string>" {
            return Ok(vec![Value::List(words.iter().map(|w| Value::from(w.as_str())).collect())]);
        }
    }
    words
        .iter()
        .enumerate()
        .map(|(i, w)| match params.get(i) {
            Some((_, ty)) if ty == "string" => Ok(Value::from(w.as_str())),
            _ => super::arg_value(i, w),
        })
        .collect()
}

/// Spawns `entry` on the terminal host, monitored, and waits for its EXIT: its value, or its error as a failure.
async fn run_process(host: &Host, entry: &str, terminal: &str, words: &[String]) -> Result<Value, Failure> {
    let mut client = host.client();
    let args = arguments(host, entry, words)?;
    let pid = client.spawn_monitored(entry, terminal, args).await.map_err(|e| Failure::of(&e))?;
    let mut interrupted = false;
    loop {
        let event = tokio::select! {
            e = client.next_event() => e,
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                let _ = client.cancel(&pid, "interrupted", Some(Duration::from_secs(2)));
                continue;
            }
        };
        match event {
            Some(Event::Exit(e)) if e.from == pid => {
                return match e.error {
                    None => Ok(e.value),
                    Some(Value::Str(s)) => Err(Failure::user(s)),
                    Some(other) => Err(Failure::user(other.to_string())),
                };
            }
            Some(_) => continue,
            None => return Err(Failure::host("the command's process vanished without an EXIT")),
        }
    }
}
