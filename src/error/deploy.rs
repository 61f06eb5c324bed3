//! Errors of deployments and CLI commands.

/// Why a deployment could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    /// The entry is not a service or supervisor.
    #[error("`{0}` is not a `process.service` or `process.supervisor` entry")]
    NotSupervised(String),
    /// The root supervisor did not start.
    #[error("the deployment did not start: {0}")]
    Start(String),
}

/// Why a command (`meta.command` of a process entry) cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No process entry declares the command.
    #[error("no command `{name}`")]
    Unknown {
        /// The name asked for.
        name: String,
        /// A close command name.
        suggestion: Option<String>,
        /// Every command name.
        known: Vec<String>,
    },
    /// The project lacks an entry that commands need.
    #[error("the project has no `{kind}` entry, which CLI commands {need}")]
    MissingHost {
        /// `terminal.host` or `process.host`.
        kind: &'static str,
        /// What commands need it for.
        need: &'static str,
    },
}

impl CommandError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            CommandError::Unknown { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            CommandError::Unknown { known, .. } if known.is_empty() => "the project declares no commands".to_owned(),
            CommandError::Unknown { known, .. } => format!("the commands are: {}", known.join(", ")),
            CommandError::MissingHost { kind: "terminal.host", .. } => {
                "add an entry `- name: terminal` with `kind: terminal.host` to an `_index.yaml`".to_owned()
            }
            CommandError::MissingHost { .. } => {
                "add an entry `- name: processes` with `kind: process.host` to an `_index.yaml`".to_owned()
            }
        })
    }
}
