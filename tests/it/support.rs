//! Test helpers: temporary projects written from YAML templates, and hosts built with a small instance pool and a
//! compiled-code cache shared by the whole test run (so each component compiles once per run, not once per test).

use std::path::{Path, PathBuf};

use wippy::{Host, HostBuilder, LoadError};

/// The folder of the committed test binaries.
pub(crate) fn wasm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wasm")
}

/// The SHA-256 of a committed test binary.
pub(crate) fn sha(file: &str) -> String {
    let bytes = std::fs::read(wasm_dir().join(file)).expect("fixture wasm exists");
    wippy::sha256_hex(&bytes)
}

/// A project in a temporary folder. `{wasm}` in the YAML becomes the fixture folder, `{sha:NAME}` the hash of
/// `NAME` in it.
pub(crate) struct Project {
    /// The temporary project folder.
    pub(crate) dir: tempfile::TempDir,
}

impl Project {
    pub(crate) fn new(yaml: &str) -> Project {
        Project::with_files(&[("src/_index.yaml", yaml)])
    }

    pub(crate) fn with_files(files: &[(&str, &str)]) -> Project {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().expect("has parent")).expect("mkdir");
            std::fs::write(full, expand(text)).expect("write");
        }
        Project { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn build(&self) -> Result<Host, LoadError> {
        builder(self.path()).build()
    }

    pub(crate) fn host(&self) -> Host {
        match self.build() {
            Ok(h) => h,
            Err(e) => panic!("project should load:\n{e}"),
        }
    }
}

/// Replaces `{wasm}` and `{sha:NAME}` placeholders.
pub(crate) fn expand(text: &str) -> String {
    let mut out = text.replace("{wasm}", &wasm_dir().display().to_string());
    while let Some(start) = out.find("{sha:") {
        let end = out[start..].find('}').expect("closing brace") + start;
        let name = out[start + 5..end].to_owned();
        out.replace_range(start..=end, &sha(&name));
    }
    out
}

/// A host builder with test settings: a small pool and the shared cache.
pub(crate) fn builder(project: &Path) -> HostBuilder {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wippy-test-cache");
    HostBuilder::new(project).instance_slots(512).code_cache(Some(cache))
}

/// The YAML of one WASM function entry over a fixture binary.
pub(crate) fn wasm_fn(name: &str, file: &str, method: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    kind: function.wasm\n    fs: wasm\n    path: /{file}\n    hash: sha256:{{sha:{file}}}\n    method: \"{method}\"\n{extra}"
    )
}

/// A project with the fixture folder as `t:wasm` and the given entries.
pub(crate) fn functions(entries: &[String]) -> Project {
    let mut yaml =
        String::from("namespace: t\nentries:\n  - name: wasm\n    kind: fs.directory\n    directory: \"{wasm}\"\n");
    for e in entries {
        yaml.push_str(e);
    }
    Project::new(&yaml)
}

/// An error as the CLI shows it: the bare message, then its hint on a `hint:` line.
pub(crate) fn shown(e: &dyn wippy::Hinted) -> String {
    match e.hint() {
        Some(h) => format!("{e}\nhint: {h}"),
        None => e.to_string(),
    }
}

/// Every problem of a project that does not load, as the CLI shows them.
pub(crate) fn shown_load(e: &LoadError) -> String {
    let lines: Vec<String> = e
        .diagnostics
        .iter()
        .map(|d| match &d.hint {
            Some(h) => format!("{d}\nhint: {h}"),
            None => d.to_string(),
        })
        .collect();
    lines.join("\n")
}

/// The stderr lines of a child process, read on a thread of their own, so a test can wait for a line with a
/// deadline instead of blocking on a pipe.
pub(crate) struct StderrLines {
    rx: std::sync::mpsc::Receiver<String>,
    /// Every line read so far.
    pub(crate) seen: Vec<String>,
}

impl StderrLines {
    /// Takes the child's piped stderr.
    pub(crate) fn of(child: &mut std::process::Child) -> StderrLines {
        use std::io::BufRead;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        StderrLines { rx, seen: Vec::new() }
    }

    /// Reads until a line contains `needle`; fails the test if none comes within 20 s.
    pub(crate) fn wait_for(&mut self, needle: &str) {
        loop {
            match self.rx.recv_timeout(std::time::Duration::from_secs(20)) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(_) => panic!("no line with `{needle}` in time; saw:\n{}", self.seen.join("\n")),
            }
        }
    }
}
