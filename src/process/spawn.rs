//! Spawning: the path from an entry ID to a running process.
//!
//! The program and the process host are looked up and the arguments converted by the program before anything is
//! created (a bad spawn costs nothing); an identity is opened, which reserves a slot on the host
//! (`max_processes`, `queue_size`); the actor is spawned, which runs Init; only then is the identity published,
//! attached to its parent (monitor, link) and sent Step. A PID is never visible before its process exists.

use std::sync::Arc;

use super::actor::{ProcArgs, ProcMsg, ProcessActor};
use super::lifecycle::Identity;
use super::remote::RemoteSpawn;
use super::{Pid, SpawnOptions, System};
use crate::error::{CallError, ProcessError};
use crate::id::EntryId;
use crate::registry::fields::closest;
use crate::security::SecurityContext;
use crate::value::Value;

/// Told a new process's PID before it runs.
pub(crate) type Announce<'a> = Box<dyn FnOnce(&Pid) + Send + 'a>;

/// Everything a spawn needs.
pub(crate) struct SpawnRequest<'a> {
    /// The process entry.
    pub(crate) entry: &'a str,
    /// The process host to run on.
    pub(crate) host: &'a str,
    /// The arguments of the method.
    pub(crate) args: Vec<Value>,
    /// The security context the process runs under.
    pub(crate) context: Arc<SecurityContext>,
    /// The parent, and how the child attaches to it.
    pub(crate) parent: Option<(&'a Pid, SpawnOptions)>,
    /// A ractor supervisor the actor is linked to (a deployment's service).
    pub(crate) supervisor: Option<ractor::ActorCell>,
    /// A name the process is registered under before it runs.
    pub(crate) name: Option<&'a str>,
    /// The `funcs` call depth it starts at.
    pub(crate) depth: u32,
    /// Told the PID after the child is attached and before it runs (the cluster answers a remote spawn here, so
    /// the answer reaches the parent's node before anything the child does).
    pub(crate) announce: Option<Announce<'a>>,
}

impl<'a> SpawnRequest<'a> {
    /// A spawn of `entry` on `host` with `args`, under `context`.
    pub(crate) fn new(entry: &'a str, host: &'a str, args: Vec<Value>, context: Arc<SecurityContext>) -> Self {
        SpawnRequest {
            entry,
            host,
            args,
            context,
            parent: None,
            supervisor: None,
            name: None,
            depth: 0,
            announce: None,
        }
    }

    /// Starts the process `depth` levels deep in `funcs` calls.
    pub(crate) fn at_depth(mut self, depth: u32) -> Self {
        self.depth = depth;
        self
    }

    /// Links the actor to a ractor `supervisor` and registers the process as `name` before it runs.
    pub(crate) fn supervised_by(mut self, supervisor: ractor::ActorCell, name: &'a str) -> Self {
        self.supervisor = Some(supervisor);
        self.name = Some(name);
        self
    }

    /// Attaches the child to `parent` as `opts` say.
    pub(crate) fn child_of(mut self, parent: &'a Pid, opts: SpawnOptions) -> Self {
        self.parent = Some((parent, opts));
        self
    }
}

impl System {
    /// Spawns a process here or, when its host names another node (`b@app:processes`), on that node; returns its
    /// PID. A host naming this node is a local spawn.
    pub(crate) async fn spawn_anywhere(self: &Arc<Self>, mut req: SpawnRequest<'_>) -> Result<Pid, ProcessError> {
        if let Some((node, bare)) = req.host.split_once('@') {
            if self.node() != Some(node) {
                if node.is_empty() || !node.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')) {
                    let hint = "a host on another node is written `node@namespace:host`".to_owned();
                    return Err(ProcessError::UnknownHost { host: req.host.to_owned(), hint });
                }
                let Some(remote) = self.remote() else {
                    return Err(ProcessError::NoConnection { node: node.to_owned() });
                };
                let spawn = RemoteSpawn {
                    node: node.to_owned(),
                    host: bare.to_owned(),
                    entry: req.entry.to_owned(),
                    args: req.args,
                    context: req.context,
                    parent: req.parent.map(|(p, o)| (p.clone(), o)),
                };
                return remote.spawn(spawn).await;
            }
            req.host = bare;
        }
        self.spawn(req).await.map(|(pid, _)| pid)
    }

    /// Spawns a process on this host; returns its PID and its actor.
    ///
    /// With a supervisor, the actor is linked to it, so the supervisor receives the actor's exit as a supervision
    /// event: no reason for a normal exit, `error: ...` for an error or a termination, `shutdown: ...` when someone
    /// ended it with a reason starting with `shutdown`.
    pub(crate) async fn spawn(
        self: &Arc<Self>,
        req: SpawnRequest<'_>,
    ) -> Result<(Pid, ractor::ActorCell), ProcessError> {
        let SpawnRequest { entry, host, args, context, parent, supervisor, name, depth, announce } = req;
        let host = host.split_once('@').filter(|(n, _)| self.node() == Some(*n)).map_or(host, |(_, h)| h);
        let (entry_id, program) = self.program_entry(entry).ok_or_else(|| self.not_a_process(entry))?;
        let host = self.host(host)?;
        let launch = program.prepare(args).map_err(ProcessError::Arguments)?;
        let (identity, inbox) = Identity::open(self, entry_id.clone(), Some(host), context, depth)?;
        let pid = identity.pid().clone();
        let record = identity.record().clone();
        // At ERROR level so the log lines of the process carry it whatever the log level; the OTLP exporter sees it
        // as the process's root span.
        let span = tracing::error_span!("process", pid = %pid, entry = %entry_id);
        let args = ProcArgs { identity, span, launch, inbox };
        let spawned = match supervisor {
            Some(sup) => ractor::Actor::spawn_linked(None, ProcessActor, args, sup).await,
            None => ractor::Actor::spawn(None, ProcessActor, args).await,
        };
        let actor = match spawned {
            Ok((actor, _join)) => actor,
            // Init failed: the identity was dropped unpublished. Otherwise Init published it.
            Err(e) => return Err(ProcessError::Init(init_error(e, entry))),
        };
        if let Some(name) = name {
            if let Err(e) = self.register(name, pid.as_str()) {
                tracing::warn!(pid = %pid, error = %e, "could not register the process under `{name}`");
            }
        }
        if let Some((parent, opts)) = parent {
            self.attach(parent, &record, opts);
        }
        if let Some(announce) = announce {
            announce(&pid);
        }
        crate::telemetry::Totals::bump(&self.telemetry().totals.spawned);
        // Step. A send to a stopped actor fails only when it was killed in between; its Close already ran.
        let _ = actor.cast(ProcMsg::Step);
        Ok((pid, actor.get_cell()))
    }

    fn not_a_process(&self, id: &str) -> ProcessError {
        if let Some(e) = self.registry().get(id) {
            return ProcessError::NotAProcess { id: id.to_owned(), kind: e.kind.name() };
        }
        let ids: Vec<&str> = self.program_ids().map(EntryId::as_str).collect();
        ProcessError::UnknownEntry { id: id.to_owned(), suggestion: closest(id, &ids).map(str::to_owned) }
    }
}

fn init_error(e: ractor::SpawnErr, entry: &str) -> CallError {
    if let ractor::SpawnErr::StartupFailed(inner) = &e {
        if let Some(c) = inner.downcast_ref::<Box<CallError>>() {
            return (**c).clone();
        }
        if let Some(c) = inner.downcast_ref::<CallError>() {
            return c.clone();
        }
    }
    CallError::Instantiate {
        entry: EntryId::parse(entry).unwrap_or_else(|_| EntryId::from_parts("unknown", "entry")),
        message: e.to_string(),
    }
}
