//! The live supervision tree of a deployment (`/api/supervision`, SPEC §9): each supervisor asked for its children
//! in turn (`which_children`), each service matched to its current process through the name it is registered
//! under. A supervisor busy starting or stopping a child answers only when it is done: one that does not answer
//! within [`ASK_TIMEOUT`] is shown in the state `busy`, without children, rather than blocking the reader.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use supervision::{ChildKind, ChildState, SupervisorHandle};

use super::ROOT;
use crate::process::System;

/// How long a supervisor may take to list its children.
const ASK_TIMEOUT: Duration = Duration::from_millis(500);

/// One node of the supervision tree.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SupervisionNode {
    /// The entry (the root is `wippy:root`).
    pub id: String,
    /// `supervisor` or `service`.
    pub kind: &'static str,
    /// `starting`, `running`, `stopping`, `stopped`, `exited` or `failed`; `busy` for a supervisor that did not
    /// list its children in time.
    pub state: &'static str,
    /// How often it was restarted.
    pub restarts: u32,
    /// The PID of a service's current process.
    pub pid: Option<String>,
    /// Its children, in start order.
    pub children: Vec<SupervisionNode>,
}

/// A handle to read a deployment's tree while it runs; cheap to clone.
#[derive(Clone)]
pub struct SupervisionView {
    pub(super) root: SupervisorHandle,
    pub(super) system: Arc<System>,
}

fn state_name(s: ChildState) -> &'static str {
    match s {
        ChildState::Starting => "starting",
        ChildState::Running => "running",
        ChildState::Stopping => "stopping",
        ChildState::Stopped => "stopped",
        ChildState::Exited => "exited",
        ChildState::Failed => "failed",
    }
}

impl SupervisionView {
    /// The tree now.
    pub async fn tree(&self) -> SupervisionNode {
        let mut root = SupervisionNode {
            id: ROOT.to_owned(),
            kind: "supervisor",
            state: "running",
            restarts: 0,
            pid: None,
            children: Vec::new(),
        };
        if !self.children(self.root.clone(), &mut root.children).await {
            root.state = "busy";
        }
        root
    }

    /// Fills in the supervisor path and restart count of every process that is a service of the tree (found by
    /// the service name it is registered under).
    pub async fn annotate(&self, procs: &mut [crate::process::ProcessInfo]) {
        type Services = std::collections::HashMap<String, (Vec<String>, u32)>;
        fn walk(n: &SupervisionNode, path: &mut Vec<String>, out: &mut Services) {
            path.push(n.id.clone());
            if let Some(pid) = &n.pid {
                out.insert(pid.clone(), (path.clone(), n.restarts));
            }
            n.children.iter().for_each(|c| walk(c, path, out));
            path.pop();
        }
        let tree = self.tree().await;
        let mut services = Services::new();
        walk(&tree, &mut Vec::new(), &mut services);
        for p in procs.iter_mut() {
            if let Some((path, restarts)) = services.get(&p.pid) {
                p.supervisor = path.clone();
                p.restarts = *restarts;
            }
        }
    }

    fn children<'a>(
        &'a self,
        sup: SupervisorHandle,
        out: &'a mut Vec<SupervisionNode>,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'a>> {
        Box::pin(async move {
            let Ok(Ok(children)) = tokio::time::timeout(ASK_TIMEOUT, sup.which_children()).await else { return false };
            for c in children {
                let supervisor = matches!(c.kind, ChildKind::Supervisor);
                let mut node = SupervisionNode {
                    pid: (!supervisor && c.state == ChildState::Running)
                        .then(|| self.system.lookup(&c.id).map(|p| p.as_str().to_owned()))
                        .flatten(),
                    id: c.id,
                    kind: if supervisor { "supervisor" } else { "service" },
                    state: state_name(c.state),
                    restarts: c.restarts,
                    children: Vec::new(),
                };
                if let (true, Some(cell)) = (supervisor, &c.cell) {
                    if !self.children(SupervisorHandle::from_cell(cell.clone()), &mut node.children).await {
                        node.state = "busy";
                    }
                }
                out.push(node);
            }
            true
        })
    }
}
