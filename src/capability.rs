//! The capability vocabulary (`docs/capabilities.md`): the groups of host interfaces an entry's `imports`
//! can grant, and how interface names map to them.
//!
//! A leaf: the registry parses `imports` into [`Group`]s, the WASM engine links exactly those groups and stubs the
//! rest, and a denied call names the group to add.

use std::fmt;

/// A capability group that an entry's `imports` can grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// `wasi:io`: error, streams.
    WasiIo,
    /// `wasi:poll`: `wasi:io/poll`.
    WasiPoll,
    /// `wasi:clocks`: wall and monotonic clocks.
    WasiClocks,
    /// `wasi:cli`: environment, exit, stdio, terminals.
    WasiCli,
    /// `wasi:filesystem`: types and preopens.
    WasiFilesystem,
    /// `wasi:random`: random, insecure, insecure-seed.
    WasiRandom,
    /// `wasi:sockets`: tcp, udp, ip-name-lookup.
    WasiSockets,
    /// `wasi:http`: outgoing-handler, types.
    WasiHttp,
    /// WASI preview 1 for core modules.
    Wasi1,
    /// `wippy:process`: process primitives.
    WippyProcess,
    /// `wippy:runtime/funcs`: calling registry functions.
    Funcs,
}

impl Group {
    /// Every group, in the order of the table in `docs/capabilities.md`.
    pub const ALL: &'static [Group] = &[
        Group::WasiIo,
        Group::WasiPoll,
        Group::WasiClocks,
        Group::WasiCli,
        Group::WasiFilesystem,
        Group::WasiRandom,
        Group::WasiSockets,
        Group::WasiHttp,
        Group::Wasi1,
        Group::WippyProcess,
        Group::Funcs,
    ];

    /// The canonical name, as written in `imports`.
    pub fn name(self) -> &'static str {
        match self {
            Group::WasiIo => "wasi:io",
            Group::WasiPoll => "wasi:poll",
            Group::WasiClocks => "wasi:clocks",
            Group::WasiCli => "wasi:cli",
            Group::WasiFilesystem => "wasi:filesystem",
            Group::WasiRandom => "wasi:random",
            Group::WasiSockets => "wasi:sockets",
            Group::WasiHttp => "wasi:http",
            Group::Wasi1 => "wasi1",
            Group::WippyProcess => "wippy:process",
            Group::Funcs => "funcs",
        }
    }

    /// Parses a name from `imports`: case-insensitive, `@version` ignored, a full interface name selects its group
    /// (`wasi:io/poll` -> `wasi:poll`).
    pub fn parse(name: &str) -> Option<Group> {
        let lower = name.trim().to_ascii_lowercase();
        let bare = lower.split('@').next().unwrap_or("");
        match bare {
            "wasi1" | "wasi_snapshot_preview1" | "wasi_unstable" | "wasi:preview1" => return Some(Group::Wasi1),
            "funcs" | "wippy:runtime" => return Some(Group::Funcs),
            "wasi:poll" => return Some(Group::WasiPoll),
            _ => {}
        }
        Group::for_interface(bare)
    }

    /// The group that provides a component import such as `wasi:io/poll@0.2.3` or `wasi:cli/stdout@0.2.0`;
    /// `None` for interfaces no group provides.
    pub fn for_interface(name: &str) -> Option<Group> {
        let bare = name.split('@').next().unwrap_or("");
        let (package, iface) = bare.split_once('/').unwrap_or((bare, ""));
        Some(match package {
            "wasi:io" if iface == "poll" => Group::WasiPoll,
            "wasi:io" if matches!(iface, "" | "error" | "streams") => Group::WasiIo,
            "wasi:clocks" => Group::WasiClocks,
            "wasi:cli" => Group::WasiCli,
            "wasi:filesystem" => Group::WasiFilesystem,
            "wasi:random" => Group::WasiRandom,
            "wasi:sockets" => Group::WasiSockets,
            "wasi:http" => Group::WasiHttp,
            "wippy:process" => Group::WippyProcess,
            "wippy:runtime" if matches!(iface, "" | "funcs" | "context") => Group::Funcs,
            _ => return None,
        })
    }

    /// The group that provides a core-module import module (`wasi_snapshot_preview1`).
    pub fn for_core_module(module: &str) -> Option<Group> {
        matches!(module, "wasi_snapshot_preview1" | "wasi_unstable").then_some(Group::Wasi1)
    }
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(Group::parse("wasi:io"), Some(Group::WasiIo));
        assert_eq!(Group::parse("WASI:IO@0.2.3"), Some(Group::WasiIo));
        assert_eq!(Group::parse("wasi:io/poll"), Some(Group::WasiPoll));
        assert_eq!(Group::parse("wasi:poll"), Some(Group::WasiPoll));
        assert_eq!(Group::parse("wasi:cli/stdout@0.2.0"), Some(Group::WasiCli));
        assert_eq!(Group::parse("wasi_snapshot_preview1"), Some(Group::Wasi1));
        assert_eq!(Group::parse("wippy:runtime/funcs"), Some(Group::Funcs));
        assert_eq!(Group::parse("wasi:gpu"), None);
        for g in Group::ALL {
            assert_eq!(Group::parse(g.name()), Some(*g));
        }
    }
}
