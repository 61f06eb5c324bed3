//! `wippy run`: commands (`meta.command` of process entries) run as processes on the terminal host.
//!
//! Lives beside `main.rs` as a module of the binary, not of the library: it decides exit codes and writes to the
//! terminal.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use supervision::{EventKind, ExitKind, SupervisorEvent};
use wippy::registry::fields::closest;
use wippy::registry::kinds::{EntryKind, LuaRole, WasmRole};
use wippy::value::{json, Value};
use wippy::{EntryId, Event, Host};

/// A runnable command.
pub(crate) struct CommandInfo {
    pub(crate) name: String,
    pub(crate) short: Option<String>,
    pub(crate) entry: EntryId,
}

/// Every command of the project, sorted by name.
pub(crate) fn commands(host: &Host) -> Vec<CommandInfo> {
    let mut out: Vec<CommandInfo> = host
        .registry()
        .entries
        .values()
        .filter_map(|e| {
            match &e.kind {
                EntryKind::Wasm(w) if w.role == WasmRole::Process => w.command.as_ref(),
                EntryKind::Lua(l) if l.role == LuaRole::Process => l.command.as_ref(),
                _ => None,
            }
            .map(|c| CommandInfo { name: c.name.clone(), short: c.short.clone(), entry: e.id.clone() })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `wippy run list`: one line per command, names aligned.
pub(crate) fn render_list(commands: &[CommandInfo]) -> String {
    if commands.is_empty() {
        return "no commands: give a process entry `meta.command: {name: NAME, short: ...}`\n".to_owned();
    }
    let width = commands.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut s = String::new();
    for c in commands {
        s.push_str(&format!("{:width$}  {}\n", c.name, c.short.as_deref().unwrap_or(""), width = width));
    }
    s
}

pub(crate) fn unknown_command(name: &str, commands: &[CommandInfo]) -> anyhow::Error {
    let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
    let hint = match closest(name, &names) {
        Some(c) => format!("did you mean `{c}`?"),
        None if names.is_empty() => "the project declares no commands".to_owned(),
        None => format!("the commands are: {}", names.join(", ")),
    };
    anyhow::anyhow!("no command `{name}`\n  hint: {hint}")
}

/// Checks that the project has a `terminal.host` and a `process.host`; returns the terminal host's ID.
pub(crate) fn required_hosts(host: &Host) -> anyhow::Result<String> {
    let entries = &host.registry().entries;
    let terminal = entries.values().find(|e| matches!(e.kind, EntryKind::TerminalHost(_)));
    let process_host = entries.values().find(|e| matches!(e.kind, EntryKind::ProcessHost(_)));
    match (terminal, process_host) {
        (Some(t), Some(_)) => Ok(t.id.to_string()),
        (None, _) => bail!(
            "the project has no `terminal.host` entry, which CLI commands run on\n  hint: add an entry `- name: terminal` with `kind: terminal.host` to an `_index.yaml`"
        ),
        (_, None) => bail!(
            "the project has no `process.host` entry, which CLI commands need\n  hint: add an entry `- name: processes` with `kind: process.host` to an `_index.yaml`"
        ),
    }
}

/// Command-line words as arguments: a `string` parameter takes the word as it is; other parameters parse it as
/// JSON (falling back to the string); a single `list<string>` parameter takes all words. A process without declared
/// parameter types (a `process.lua`) gets every word as a string, as the spec says; it converts them itself.
fn arguments(host: &Host, entry: &str, words: &[String]) -> Vec<Value> {
    let Some(params) = host.process_params(entry) else {
        return words.iter().map(|w| Value::from(w.as_str())).collect();
    };
    if let [(_, ty)] = params.as_slice() {
        if ty == "list<string>" {
            return vec![Value::List(words.iter().map(|w| Value::from(w.as_str())).collect())];
        }
    }
    words
        .iter()
        .enumerate()
        .map(|(i, w)| match params.get(i) {
            Some((_, ty)) if ty == "string" => Value::from(w.as_str()),
            _ => json::parse_arg(w),
        })
        .collect()
}

/// Spawns `entry` on the terminal host, monitored, and waits for its EXIT. Ctrl-C cancels it.
pub(crate) async fn run_process(
    host: &Host,
    entry: &str,
    terminal: &str,
    words: &[String],
) -> anyhow::Result<Result<Value, String>> {
    let mut client = host.client();
    let args = arguments(host, entry, words);
    let pid = match client.spawn_monitored(entry, terminal, args).await {
        Ok(pid) => pid,
        Err(e) => return Ok(Err(e.to_string())),
    };
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
                return Ok(match e.error {
                    None => Ok(e.value),
                    Some(Value::Str(s)) => Err(s),
                    Some(other) => Err(other.to_string()),
                });
            }
            Some(_) => continue,
            None => bail!("the command's process vanished without an EXIT"),
        }
    }
}

/// One line for a supervision event, as `wippy start` prints it.
pub(crate) fn render_event(e: &SupervisorEvent) -> String {
    let who = e.child.as_deref().unwrap_or(&e.supervisor);
    let what = match &e.kind {
        EventKind::Starting => "starting".to_owned(),
        EventKind::Started => "running".to_owned(),
        EventKind::StartFailed(why) => format!("failed to start: {why}"),
        EventKind::Exited(ExitKind::Normal) => "exited normally".to_owned(),
        EventKind::Exited(ExitKind::Shutdown) => "shut down".to_owned(),
        EventKind::Exited(ExitKind::Abnormal(why)) => format!("crashed: {why}"),
        EventKind::RestartScheduled { delay, attempt } => {
            format!("restarting in {:.2}s (attempt {})", delay.as_secs_f64(), attempt + 1)
        }
        EventKind::Stopping => "stopping".to_owned(),
        EventKind::Stopped { killed: false } => "stopped".to_owned(),
        EventKind::Stopped { killed: true } => "killed: it did not stop within its stop_timeout".to_owned(),
        EventKind::GaveUp(why) => format!("gave up: {why}"),
    };
    format!("[{}] {who}: {what}", e.supervisor)
}

/// `wippy start`: runs the deployment until Ctrl-C or SIGTERM, printing what the supervisors do.
pub(crate) async fn start(host: &Host) -> anyhow::Result<ExitCode> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut deployment = host.start_services().await?;
    let started = deployment.states().await;
    eprintln!("wippy: deployment running ({} services and supervisors); Ctrl-C or SIGTERM stops it", started.len());
    loop {
        tokio::select! {
            e = deployment.next_event() => match e {
                Some(e) => eprintln!("{}", render_event(&e)),
                None => break,
            },
            _ = tokio::signal::ctrl_c() => { eprintln!("wippy: interrupted, stopping"); break; }
            _ = terminate.recv() => { eprintln!("wippy: SIGTERM, stopping"); break; }
        }
    }
    deployment.stop().await;
    while let Some(e) = deployment.try_event() {
        eprintln!("{}", render_event(&e));
    }
    let left = host.processes().count();
    if left == 0 {
        eprintln!("wippy: stopped; no processes left");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("wippy: stopped, but {left} processes are still alive");
        Ok(ExitCode::FAILURE)
    }
}

/// `wippy test`: one line per test, then `N passed, N failed`; exit 1 on any failure.
pub(crate) async fn test(host: &Host, filter: Option<&str>, timeout: Duration) -> anyhow::Result<ExitCode> {
    let ids = wippy::testing::tests(host, filter);
    if ids.is_empty() {
        println!(
            "no tests{}: give a `function.lua` entry `meta: {{type: test}}`",
            filter.map(|f| format!(" matching `{f}`")).unwrap_or_default()
        );
        println!("0 passed, 0 failed");
        return Ok(ExitCode::SUCCESS);
    }
    let outcomes = wippy::testing::run(host, &ids, timeout).await;
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    for o in &outcomes {
        let ms = o.elapsed.as_millis();
        if o.passed {
            println!("PASS {} ({ms} ms)", o.id);
        } else {
            println!("FAIL {} ({ms} ms): {}", o.id, o.detail);
        }
    }
    println!("{} passed, {failed} failed", outcomes.len() - failed);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
