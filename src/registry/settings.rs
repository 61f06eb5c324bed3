//! The project's `.wippy.yaml` (Wippy's settings file, SPEC §8, §9): the blocks we read (`cluster`, `admin`), with every
//! problem positioned like registry files; every other top-level section (`logger`, `profiler`, `registry`,
//! `relay`, ...) is accepted and named once in a debug log. A project without the file has default settings.

use std::path::Path;
use std::time::Duration;

use super::fields::{Fields, Sink};
use super::yaml::{self, Node};
use super::{Diagnostic, Origin};
use crate::error::LoadError;

/// The settings file's name, in the project folder.
pub(crate) const SETTINGS_FILE: &str = ".wippy.yaml";

/// The `cluster` block, as written (checked for types and ranges; the CLI turns it into a cluster config).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterSettings {
    /// `enabled`.
    pub enabled: bool,
    /// `name`: this node's name.
    pub name: Option<String>,
    /// `listen`: `host:port` (ours).
    pub listen: Option<String>,
    /// `membership.join_addrs`, split at commas.
    pub join: Vec<String>,
    /// `membership.secret_key`.
    pub secret_key: Option<String>,
    /// `membership.secret_file`, relative to the project folder.
    pub secret_file: Option<String>,
    /// `membership.failure_timeout` (ours).
    pub failure_timeout: Option<Duration>,
}

/// The `admin` block (SPEC §9), as written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdminSettings {
    /// `address`: `host:port`.
    pub address: Option<String>,
    /// `token`: the bearer token.
    pub token: Option<String>,
    /// `token_file`, relative to the project folder.
    pub token_file: Option<String>,
}

/// The settings of a project.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// The `cluster` block, when the file has one.
    pub cluster: Option<ClusterSettings>,
    /// The `admin` block, when the file has one.
    pub admin: Option<AdminSettings>,
}

/// Reads `.wippy.yaml` in `project`; default settings when there is none.
pub fn load_settings(project: &Path) -> Result<Settings, LoadError> {
    let path = project.join(SETTINGS_FILE);
    if !path.exists() {
        return Ok(Settings::default());
    }
    let origin = Origin {
        file: super::project::display_path(&path).as_path().into(),
        dir: project.into(),
        pos: yaml::Pos { line: 1, col: 1 },
    };
    let text = crate::files::read_text(&path)
        .map_err(|e| LoadError::one(Diagnostic::new(Some(origin.clone()), None, e.to_string())))?;
    let root = yaml::parse(&text).map_err(|e| {
        let d = Diagnostic::new(Some(origin.at(e.pos)), None, format!("invalid YAML: {}", e.message));
        LoadError::one(match e.hint {
            Some(h) => d.with_hint(h),
            None => d,
        })
    })?;
    let mut out = Vec::new();
    let mut sink = Sink { origin, entry: None, out: &mut out };
    let settings = read(&root, &mut sink);
    if out.is_empty() {
        Ok(settings)
    } else {
        Err(LoadError { diagnostics: out })
    }
}

fn read(root: &Node, sink: &mut Sink<'_>) -> Settings {
    let mut settings = Settings::default();
    let Some(map) = root.as_map() else {
        if !matches!(root.kind, yaml::NodeKind::Null) {
            sink.error(root.pos, format!("{SETTINGS_FILE} must be a mapping, got a {}", root.type_name()));
        }
        return settings;
    };
    for (k, v) in map {
        match k.as_str() {
            Some("cluster") => settings.cluster = read_cluster(v, sink),
            Some("admin") => settings.admin = read_admin(v, sink),
            Some(other) => tracing::debug!("{SETTINGS_FILE}: section `{other}` is not used by this host"),
            None => sink.error(k.pos, "a top-level key must be a string"),
        }
    }
    settings
}

/// The field `name` as a socket address `ip:port` (`example` in the hint when it is not one).
fn address(f: &mut Fields<'_>, name: &'static str, example: &str, sink: &mut Sink<'_>) -> Option<String> {
    let (text, pos) = f.string(name, sink)?;
    if text.parse::<std::net::SocketAddr>().is_ok() {
        return Some(text);
    }
    sink.error_hint(pos, format!("`{name}` must be an address `ip:port`, got `{text}`"), format!("like `{example}`"));
    None
}

fn read_admin(node: &Node, sink: &mut Sink<'_>) -> Option<AdminSettings> {
    let mut f = Fields::new(node, "`admin`", sink)?;
    let mut a = AdminSettings { address: address(&mut f, "address", "127.0.0.1:9100", sink), ..Default::default() };
    a.token = f.string("token", sink).map(|(s, _)| s);
    a.token_file = f.string("token_file", sink).map(|(s, _)| s);
    f.finish(sink);
    Some(a)
}

fn read_cluster(node: &Node, sink: &mut Sink<'_>) -> Option<ClusterSettings> {
    let mut f = Fields::new(node, "`cluster`", sink)?;
    let mut c = ClusterSettings {
        enabled: f.bool("enabled", sink).unwrap_or(false),
        name: f.string("name", sink).map(|(s, _)| s),
        listen: address(&mut f, "listen", "127.0.0.1:7946", sink),
        ..ClusterSettings::default()
    };
    if let Some(m) = f.node("membership") {
        if let Some(mut mf) = Fields::new(m, "`cluster.membership`", sink) {
            if let Some((addrs, _)) = mf.string("join_addrs", sink) {
                c.join = addrs.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
            }
            c.secret_key = mf.string("secret_key", sink).map(|(s, _)| s);
            c.secret_file = mf.string("secret_file", sink).map(|(s, _)| s);
            c.failure_timeout =
                mf.duration_in("failure_timeout", Duration::from_millis(100)..=Duration::from_secs(3600), sink);
            mf.finish(sink);
        }
    }
    f.finish(sink);
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Settings, LoadError> {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(SETTINGS_FILE), text).expect("write");
        load_settings(dir.path())
    }

    #[test]
    fn reads_the_cluster_block_and_accepts_other_sections() {
        let s = load(
            "logger: {level: info}\nrelay: {}\ncluster:\n  enabled: true\n  name: a\n  listen: 127.0.0.1:7000\n  membership:\n    join_addrs: \"10.0.0.1:7946, 10.0.0.2:7946\"\n    secret_key: k\n    failure_timeout: 2s\n",
        )
        .expect("loads");
        let c = s.cluster.expect("a cluster block");
        assert!(c.enabled);
        assert_eq!(c.join, vec!["10.0.0.1:7946", "10.0.0.2:7946"]);
        assert_eq!((c.secret_key.as_deref(), c.failure_timeout), (Some("k"), Some(Duration::from_secs(2))));
        assert_eq!(load("").expect("empty is fine"), Settings::default());
    }

    #[test]
    fn problems_are_positioned() {
        let e = load("cluster:\n  enabled: yes please\n  listen: nowhere\n  membership:\n    secret: x\n")
            .expect_err("bad");
        let text = e.to_string();
        assert!(text.contains(".wippy.yaml:2:"), "{text}");
        assert!(text.contains(".wippy.yaml:3:") && text.contains("`listen` must be an address"), "{text}");
        assert!(text.contains(".wippy.yaml:5:5") && text.contains("unknown field `secret`"), "{text}");
    }

    #[test]
    fn reads_the_admin_block() {
        let s = load("admin:\n  address: 0.0.0.0:9100\n  token_file: admin.token\n").expect("loads");
        let a = s.admin.expect("an admin block");
        assert_eq!((a.address.as_deref(), a.token_file.as_deref()), (Some("0.0.0.0:9100"), Some("admin.token")));
        let e = load("admin:\n  address: everywhere\n  port: 3\n").expect_err("bad");
        let text = e.to_string();
        assert!(text.contains(".wippy.yaml:2:") && text.contains("`address` must be an address"), "{text}");
        assert!(text.contains(".wippy.yaml:3:3") && text.contains("unknown field `port`"), "{text}");
    }
}
