//! `wippy start`: starts the hosts and every `auto_start` service and supervisor (and what they `require`) under
//! supervision, prints what the supervisors do, and on Ctrl-C or SIGTERM stops everything in reverse dependency
//! order. Exits 0 when every process stopped. With cluster flags (or `cluster.enabled` in `.wippy.yaml`) the host
//! first joins the cluster and prints its node name, its address and every node that joins or leaves. With
//! `--admin ADDR` (or `admin.address` in `.wippy.yaml`) it serves metrics, the process API and the dashboard there. A second Ctrl-C or SIGTERM during the stop exits at once (code 2),
//! without waiting for the processes that are still stopping.

use std::process::ExitCode;

use wippy::{Admin, AdminConfig, ClusterConfig, EventKind, ExitKind, Host, NodeEvent, SupervisorEvent};

use super::admin::AdminArgs;
use super::cluster::ClusterArgs;
use super::{block_on, Failure, Global};

/// Arguments of `wippy start`.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    admin: AdminArgs,
}

/// Runs `wippy start`.
pub(crate) fn run(args: Args, global: &Global) -> Result<ExitCode, Failure> {
    let cluster = super::cluster::config(&args.cluster, global)?;
    let admin = super::admin::config(&args.admin, global)?;
    // A long-running deployment gets the full instance pool its process hosts ask for.
    let host = super::builder(global)?.metrics(admin.is_some()).build().map_err(|e| super::report_load_error(&e))?;
    block_on(serve(&host, cluster, admin))?
}

/// One line for a supervision event.
fn render_event(e: &SupervisorEvent) -> String {
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

/// Runs the deployment until Ctrl-C or SIGTERM.
async fn serve(host: &Host, cluster: Option<ClusterConfig>, admin: Option<AdminConfig>) -> Result<ExitCode, Failure> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate =
        signal(SignalKind::terminate()).map_err(|e| Failure::host(format!("cannot listen for SIGTERM: {e}")))?;
    // Listening from the start, so a second Ctrl-C that comes right after the first is not missed.
    let mut interrupt =
        signal(SignalKind::interrupt()).map_err(|e| Failure::host(format!("cannot listen for Ctrl-C: {e}")))?;
    let mut members = match &cluster {
        Some(config) => {
            let c = host.join_cluster(config).await.map_err(|e| Failure::of(&e))?;
            eprintln!("wippy: node `{}` listening on {}", c.node(), c.listen_addr());
            Some(c.events())
        }
        None => None,
    };
    let admin = match admin {
        Some(config) => {
            let a = Admin::start(host.clone(), config).await.map_err(|e| Failure::of(&e))?;
            eprintln!("wippy: admin endpoint and dashboard on http://{}/", a.local_addr());
            Some(a)
        }
        None => None,
    };
    let mut deployment = host.start_services().await.map_err(|e| Failure::of(&e))?;
    if let Some(a) = &admin {
        a.show(deployment.view());
    }
    let started = deployment.states().await;
    eprintln!("wippy: deployment running ({} services and supervisors); Ctrl-C or SIGTERM stops it", started.len());
    loop {
        tokio::select! {
            e = deployment.next_event() => match e {
                Some(e) => eprintln!("{}", render_event(&e)),
                None => break,
            },
            Some(e) = async { members.as_mut()?.recv().await.ok() }, if members.is_some() => match e {
                NodeEvent::Up(n) => eprintln!("wippy: node `{n}` joined"),
                NodeEvent::Down(n) => eprintln!("wippy: node `{n}` left"),
            },
            _ = interrupt.recv() => { eprintln!("wippy: interrupted, stopping (again to exit at once)"); break; }
            _ = terminate.recv() => { eprintln!("wippy: SIGTERM, stopping (again to exit at once)"); break; }
        }
    }
    {
        let stop = deployment.stop();
        tokio::pin!(stop);
        let again = tokio::select! {
            _ = &mut stop => None,
            _ = interrupt.recv() => Some("interrupted again"),
            _ = terminate.recv() => Some("SIGTERM again"),
        };
        if let Some(why) = again {
            eprintln!("wippy: {why}: exiting now, without waiting for {} processes", host.process_count());
            std::process::exit(2);
        }
    }
    while let Some(e) = deployment.try_event() {
        eprintln!("{}", render_event(&e));
    }
    if cluster.is_some() {
        end_cluster_work(host).await;
    }
    let left = host.process_count();
    if left == 0 {
        eprintln!("wippy: stopped; no processes left");
        Ok(ExitCode::SUCCESS)
    } else {
        Err(Failure::host(format!("stopped, but {left} processes are still alive")))
    }
}

/// On a cluster node: ends the processes outside the deployment (started here by this or other nodes), so their
/// monitors get EXIT, and leaves the cluster.
async fn end_cluster_work(host: &Host) {
    // Processes other nodes started here (or the deployment's own children) are not part of the deployment:
    // on a cluster node they are expected, so they end now and their monitors get EXIT.
    let n = host.terminate_all("terminated: the node stopped");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while host.process_count() > 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    if n > 0 {
        eprintln!("wippy: terminated {n} processes outside the deployment (started here by this or other nodes)");
    }
    if let Some(c) = host.cluster() {
        c.leave();
    }
}
