//! `fs.directory` and `env.variable`: folders and environment variables that other entries refer to.

use std::path::{Path, PathBuf};

use crate::registry::fields::{describe, Fields, Sink};
use crate::registry::yaml::NodeKind;

/// `fs.directory`: a folder on the host.
#[derive(Debug, Clone)]
pub(crate) struct FsDirectory {
    /// The folder, resolved against the project root.
    pub directory: PathBuf,
    /// Create the folder when it is missing.
    pub auto_init: bool,
    /// Unix mode for a created folder.
    pub mode: u32,
}

/// `env.variable`: an OS environment variable.
#[derive(Debug, Clone)]
pub(crate) struct EnvVariable {
    /// The OS variable name.
    pub variable: String,
    /// The value used when the variable is not set.
    pub default: Option<String>,
    /// Whether a missing variable (and no default) is an error.
    pub required: bool,
}

pub(super) fn parse_fs_directory(root: &Path, f: &mut Fields<'_>, sink: &mut Sink<'_>) -> Option<FsDirectory> {
    let directory = f.required_string("directory", sink);
    let auto_init = f.bool("auto_init", sink).unwrap_or(false);
    let mode = match f.node("mode") {
        None => 0o755,
        Some(n) => {
            let text = match &n.kind {
                NodeKind::Str(s) => s.clone(),
                NodeKind::Int(i) => i.to_string(),
                _ => String::new(),
            };
            match u32::from_str_radix(text.trim_start_matches("0o"), 8) {
                Ok(m) if m <= 0o7777 => m,
                _ => {
                    sink.error_hint(
                        n.pos,
                        format!("field `mode` is not an octal file mode: {}", describe(n)),
                        "write it like `\"0755\"`",
                    );
                    0o755
                }
            }
        }
    };
    let (dir, _) = directory?;
    let p = Path::new(&dir);
    let directory = if p.is_absolute() { p.to_path_buf() } else { root.join(p) };
    Some(FsDirectory { directory, auto_init, mode })
}

pub(super) fn parse_env_variable(name: &str, f: &mut Fields<'_>, sink: &mut Sink<'_>) -> EnvVariable {
    let variable = f.string("variable", sink).map_or_else(|| name.to_uppercase().replace(['-', '.'], "_"), |(v, _)| v);
    let default = f.node("default").map(|n| match &n.kind {
        NodeKind::Str(s) => s.clone(),
        _ => n.to_value().to_string(),
    });
    let required = f.bool("required", sink).unwrap_or(false);
    EnvVariable { variable, default, required }
}
