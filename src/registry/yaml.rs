//! A small YAML tree whose every node knows its line and column, built from `saphyr-parser` events.
//!
//! Registry diagnostics must point at `file:line:col` of the offending key or value, and must report every problem
//! in a file at once. A serde deserializer stops at the first error, so the registry reads this tree instead and
//! checks fields by hand ([`super::fields`]). Plain scalars resolve by the YAML 1.2 core schema (`null`, `true`,
//! `42`, `0x2a`, `1.5`); quoted scalars are always strings. Anchors and aliases work (an alias is a copy), bounded
//! (SPEC §10): the copies of one file add at most [`MAX_ALIAS_NODES`] nodes and at most [`ALIAS_GROWTH`] times the
//! file's own size, so a "billion laughs" file is an error, not a runaway. Merge keys (`<<: *base`) work as in
//! YAML 1.1 and Go's yaml (keys written in the mapping win); a key written twice in one mapping is an error.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

pub(crate) use crate::id::Pos;
use crate::value::{Map, Value};

/// One YAML node and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    /// What the node holds.
    pub kind: NodeKind,
    /// Where the node starts.
    pub pos: Pos,
}

/// The content of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeKind {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string (any quoted scalar, or a plain scalar that is not a null, bool or number).
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order, keys as nodes so their positions are known.
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyntaxError {
    /// Where the parser stopped.
    pub pos: Pos,
    /// What the parser said.
    pub message: String,
    /// What to do about it, when the reader knows better than "check the indentation".
    pub hint: Option<&'static str>,
}

/// How deep YAML may nest before the reader refuses it (the tree is built recursively).
pub(crate) const MAX_YAML_DEPTH: usize = 256;

/// How many nodes the aliases of one file may add in all (each alias adds a copy of its anchor's nodes).
pub(crate) const MAX_ALIAS_NODES: usize = 10_000;

/// How many times its own size the copies the aliases of one file make may add up to.
pub(crate) const ALIAS_GROWTH: usize = 10;

impl Node {
    /// A short name of the node's type for messages (`string`, `mapping`, ...).
    pub(crate) fn type_name(&self) -> &'static str {
        match self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "bool",
            NodeKind::Int(_) => "integer",
            NodeKind::Float(_) => "float",
            NodeKind::Str(_) => "string",
            NodeKind::Seq(_) => "list",
            NodeKind::Map(_) => "mapping",
        }
    }

    /// The string of a [`NodeKind::Str`].
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries of a [`NodeKind::Map`].
    pub(crate) fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Looks a key up in a mapping.
    pub(crate) fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)
    }

    /// Converts the node into a [`Value`] (keys that are not strings are rendered as text).
    pub(crate) fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Nil,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::Int(*i),
            NodeKind::Float(f) => Value::Float(*f),
            NodeKind::Str(s) => Value::Str(s.clone()),
            NodeKind::Seq(items) => Value::List(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| {
                        let key = match &k.kind {
                            NodeKind::Str(s) => s.clone(),
                            _ => k.to_value().to_string(),
                        };
                        (key, v.to_value())
                    })
                    .collect::<Map>(),
            ),
        }
    }
}

fn pos(span: &Span) -> Pos {
    Pos { line: span.start.line(), col: span.start.col() + 1 }
}

/// Parses one YAML document. An empty file gives a `Null` node.
pub(crate) fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        depth: 0,
        nodes: 0,
        alias_nodes: 0,
        alias_len: 0,
        max_alias_len: text.len().saturating_mul(ALIAS_GROWTH),
    };
    let mut root = None;
    loop {
        let (event, span) = builder.next()?;
        match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {}
            Event::StreamEnd => break,
            other => {
                if root.is_some() {
                    return Err(SyntaxError {
                        pos: pos(&span),
                        message: "more than one YAML document in the file".into(),
                        hint: Some("keep one document per `_index.yaml`"),
                    });
                }
                root = Some(builder.node(other, span)?.0);
            }
        }
    }
    Ok(root.unwrap_or(Node { kind: NodeKind::Null, pos: Pos { line: 1, col: 1 } }))
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Anchored>,
    depth: usize,
    /// Nodes built so far, copies included.
    nodes: usize,
    /// Nodes and source characters the aliases copied so far.
    alias_nodes: usize,
    alias_len: usize,
    max_alias_len: usize,
}

/// An anchored node with its size: its nodes and the source characters it spans.
struct Anchored {
    node: Node,
    nodes: usize,
    len: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), SyntaxError> {
        match self.parser.next() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(SyntaxError {
                pos: Pos { line: e.marker().line(), col: e.marker().col() + 1 },
                message: e.info().to_owned(),
                hint: None,
            }),
            None => Ok((Event::StreamEnd, Span::default())),
        }
    }

    /// The node `event` starts, and the source index where it ends.
    fn node(&mut self, event: Event<'a>, span: Span) -> Result<(Node, usize), SyntaxError> {
        let at = pos(&span);
        self.depth += 1;
        if self.depth > MAX_YAML_DEPTH {
            return Err(SyntaxError {
                pos: at,
                message: format!("YAML nests deeper than {MAX_YAML_DEPTH} levels"),
                hint: None,
            });
        }
        let first = self.nodes;
        self.nodes += 1;
        let (node, anchor, end) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let kind = if style == ScalarStyle::Plain && !forced_string {
                    resolve_plain(&text)
                } else {
                    NodeKind::Str(text.into_owned())
                };
                (Node { kind, pos: at }, anchor, span.end.index())
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                let end = loop {
                    let (ev, sp) = self.next()?;
                    match ev {
                        Event::SequenceEnd => break sp.end.index(),
                        Event::StreamEnd => {
                            return Err(SyntaxError { pos: at, message: "unterminated sequence".into(), hint: None })
                        }
                        ev => items.push(self.node(ev, sp)?.0),
                    }
                };
                (Node { kind: NodeKind::Seq(items), pos: at }, anchor, end)
            }
            Event::MappingStart(anchor, _) => {
                let (entries, end) = self.mapping(at)?;
                (Node { kind: NodeKind::Map(entries), pos: at }, anchor, end)
            }
            Event::Alias(id) => {
                let a = self.anchors.get(&id).ok_or_else(|| SyntaxError {
                    pos: at,
                    message: "alias refers to an unknown anchor".into(),
                    hint: None,
                })?;
                self.alias_nodes = self.alias_nodes.saturating_add(a.nodes);
                self.alias_len = self.alias_len.saturating_add(a.len);
                if self.alias_nodes > MAX_ALIAS_NODES || self.alias_len > self.max_alias_len {
                    return Err(SyntaxError {
                        pos: at,
                        message: format!(
                            "the aliases of this file expand past the bound of {MAX_ALIAS_NODES} copied nodes or \
                             {ALIAS_GROWTH} times the file's size"
                        ),
                        hint: Some("write the repeated parts out, or anchor smaller ones"),
                    });
                }
                self.nodes += a.nodes;
                (Node { pos: at, ..a.node.clone() }, 0, span.end.index())
            }
            _ => return Err(SyntaxError { pos: at, message: "unexpected YAML event".into(), hint: None }),
        };
        self.depth -= 1;
        if anchor > 0 {
            let (nodes, len) = (self.nodes - first, end.saturating_sub(span.start.index()));
            self.anchors.insert(anchor, Anchored { node: node.clone(), nodes, len });
        }
        Ok((node, end))
    }

    /// The entries of a mapping (its start event read), with merge keys applied, and where it ends.
    #[allow(clippy::type_complexity)]
    fn mapping(&mut self, at: Pos) -> Result<(Vec<(Node, Node)>, usize), SyntaxError> {
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut merged: Vec<(Node, Node)> = Vec::new();
        let mut seen: HashMap<String, Pos> = HashMap::new();
        let end = loop {
            let (ev, sp) = self.next()?;
            let merge = matches!(&ev, Event::Scalar(t, ScalarStyle::Plain, _, None) if t == "<<");
            let key = match ev {
                Event::MappingEnd => break sp.end.index(),
                Event::StreamEnd => {
                    return Err(SyntaxError { pos: at, message: "unterminated mapping".into(), hint: None })
                }
                ev => self.node(ev, sp)?.0,
            };
            let (ev, sp) = self.next()?;
            let value = self.node(ev, sp)?.0;
            if merge {
                let sources = match value.kind {
                    NodeKind::Map(m) => vec![m],
                    NodeKind::Seq(items) if items.iter().all(|i| matches!(i.kind, NodeKind::Map(_))) => items
                        .into_iter()
                        .filter_map(|i| match i.kind {
                            NodeKind::Map(m) => Some(m),
                            _ => None,
                        })
                        .collect(),
                    _ => {
                        return Err(SyntaxError {
                            pos: value.pos,
                            message: "a merge key `<<` takes a mapping or a list of mappings".into(),
                            hint: Some("write `<<: *base` with `base` anchoring a mapping"),
                        })
                    }
                };
                merged.extend(sources.into_iter().flatten());
                continue;
            }
            if let NodeKind::Str(k) = &key.kind {
                if let Some(first) = seen.insert(k.clone(), key.pos) {
                    return Err(SyntaxError {
                        pos: key.pos,
                        message: format!(
                            "the key `{k}` appears twice in this mapping (first at line {}, column {})",
                            first.line, first.col
                        ),
                        hint: Some("keep one of them"),
                    });
                }
            }
            entries.push((key, value));
        };
        // Keys written in the mapping win over merged ones; among merged mappings, the first wins.
        for (k, v) in merged {
            if let NodeKind::Str(name) = &k.kind {
                if seen.contains_key(name) {
                    continue;
                }
                seen.insert(name.clone(), k.pos);
            }
            entries.push((k, v));
        }
        Ok((entries, end))
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn resolve_plain(text: &str) -> NodeKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return NodeKind::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return NodeKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeKind::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return NodeKind::Int(i);
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(oct, 8) {
            return NodeKind::Int(i);
        }
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return NodeKind::Int(i);
        }
    }
    let looks_numeric = digits.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_numeric {
        if let Ok(f) = text.parse::<f64>() {
            return NodeKind::Float(f);
        }
    }
    NodeKind::Str(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_scalars() {
        let doc = parse("namespace: app\nentries:\n  - name: a\n    n: 0x10\n    f: 1.5\n    q: '42'\n    z: ~\n")
            .expect("valid");
        let entries = doc.get("entries").expect("entries");
        assert_eq!(entries.pos, Pos { line: 3, col: 3 });
        let NodeKind::Seq(items) = &entries.kind else { panic!("seq") };
        let e = &items[0];
        assert_eq!(e.get("n").map(|n| &n.kind), Some(&NodeKind::Int(16)));
        assert_eq!(e.get("f").map(|n| &n.kind), Some(&NodeKind::Float(1.5)));
        assert_eq!(e.get("q").map(|n| &n.kind), Some(&NodeKind::Str("42".into())));
        assert_eq!(e.get("z").map(|n| &n.kind), Some(&NodeKind::Null));
        let (key, _) = &e.as_map().expect("map")[1];
        assert_eq!(key.pos, Pos { line: 4, col: 5 });
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n").expect_err("unterminated");
        assert!(err.pos.line >= 1, "{err:?}");
    }

    #[test]
    fn aliases_copy() {
        let doc = parse("base: &b {x: 1}\nother: *b\n").expect("valid");
        assert_eq!(doc.get("other").and_then(|o| o.get("x")).map(|n| &n.kind), Some(&NodeKind::Int(1)));
    }

    #[test]
    fn aliases_are_bounded() {
        // Nine levels of ten aliases each: 10^9 nodes if expanded.
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let err = parse(&doc).expect_err("bounded");
        assert!(err.message.contains("10000 copied nodes"), "{err:?}");
        assert!(err.pos.line >= 3, "{err:?}");
        // A few small aliases are fine.
        assert!(parse("base: &b {x: 1, y: 2}\none: *b\ntwo: *b\n").is_ok());
    }

    #[test]
    fn merge_keys_and_duplicates() {
        let doc = parse("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n").expect("valid");
        let other = doc.get("other").expect("other");
        assert_eq!(other.get("x").map(|n| &n.kind), Some(&NodeKind::Int(1)));
        assert_eq!(other.get("y").map(|n| &n.kind), Some(&NodeKind::Int(3)));
        assert_eq!(other.as_map().map(<[_]>::len), Some(2));
        let err = parse("namespace: a\nentries: []\nnamespace: b\n").expect_err("duplicate");
        assert_eq!(err.pos, Pos { line: 3, col: 1 });
        assert!(err.message.contains("`namespace` appears twice") && err.message.contains("line 1"), "{err:?}");
        let err = parse("a:\n  <<: 3\n").expect_err("bad merge");
        assert!(err.message.contains("merge key"), "{err:?}");
    }

    #[test]
    fn versions_stay_strings() {
        let doc = parse("version: \"1.0\"\nv2: 1.0.3\n").expect("valid");
        assert_eq!(doc.get("version").map(|n| &n.kind), Some(&NodeKind::Str("1.0".into())));
        assert_eq!(doc.get("v2").map(|n| &n.kind), Some(&NodeKind::Str("1.0.3".into())));
    }
}
