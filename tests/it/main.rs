//! The integration tests, in one binary to keep link time down.

mod admin;
mod architecture;
mod calls;
mod capabilities;
mod cli;
mod cluster;
mod hardening;
mod lua;
mod lua_contract;
mod lua_runtime;
mod processes;
mod registry;
mod supervisors;
mod support;
mod values;
