//! A small YAML tree whose every node knows its line and column, built from `saphyr-parser` events.
//!
//! Registry diagnostics must point at `file:line:col` of the offending key or value, and must report every problem
//! in a file at once. A serde deserializer stops at the first error, so the registry reads this tree instead and
//! checks fields by hand ([`super::fields`]). Plain scalars resolve by the YAML 1.2 core schema (`null`, `true`,
//! `42`, `0x2a`, `1.5`); quoted scalars are always strings. Anchors and aliases work (an alias is a copy).

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
}

/// How deep YAML may nest before the reader refuses it (the tree is built recursively).
pub(crate) const MAX_YAML_DEPTH: usize = 256;

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
    let mut builder = Builder { parser: Parser::new_from_str(text), anchors: HashMap::new(), depth: 0 };
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
                        message: "more than one YAML document in the file; keep one document per `_index.yaml`".into(),
                    });
                }
                root = Some(builder.node(other, span)?);
            }
        }
    }
    Ok(root.unwrap_or(Node { kind: NodeKind::Null, pos: Pos { line: 1, col: 1 } }))
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
    depth: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), SyntaxError> {
        match self.parser.next() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => Err(SyntaxError {
                pos: Pos { line: e.marker().line(), col: e.marker().col() + 1 },
                message: e.info().to_owned(),
            }),
            None => Ok((Event::StreamEnd, Span::default())),
        }
    }

    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Node, SyntaxError> {
        let at = pos(&span);
        self.depth += 1;
        if self.depth > MAX_YAML_DEPTH {
            return Err(SyntaxError { pos: at, message: format!("YAML nests deeper than {MAX_YAML_DEPTH} levels") });
        }
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let kind = if style == ScalarStyle::Plain && !forced_string {
                    resolve_plain(&text)
                } else {
                    NodeKind::Str(text.into_owned())
                };
                (Node { kind, pos: at }, anchor)
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (ev, sp) = self.next()?;
                    match ev {
                        Event::SequenceEnd => break,
                        Event::StreamEnd => {
                            return Err(SyntaxError { pos: at, message: "unterminated sequence".into() })
                        }
                        ev => items.push(self.node(ev, sp)?),
                    }
                }
                (Node { kind: NodeKind::Seq(items), pos: at }, anchor)
            }
            Event::MappingStart(anchor, _) => {
                let mut entries = Vec::new();
                loop {
                    let (ev, sp) = self.next()?;
                    let key = match ev {
                        Event::MappingEnd => break,
                        Event::StreamEnd => {
                            return Err(SyntaxError { pos: at, message: "unterminated mapping".into() })
                        }
                        ev => self.node(ev, sp)?,
                    };
                    let (ev, sp) = self.next()?;
                    let value = self.node(ev, sp)?;
                    entries.push((key, value));
                }
                (Node { kind: NodeKind::Map(entries), pos: at }, anchor)
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| SyntaxError { pos: at, message: "alias refers to an unknown anchor".into() })?;
                (Node { pos: at, ..node }, 0)
            }
            _ => return Err(SyntaxError { pos: at, message: "unexpected YAML event".into() }),
        };
        self.depth -= 1;
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
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
    fn versions_stay_strings() {
        let doc = parse("version: \"1.0\"\nv2: 1.0.3\n").expect("valid");
        assert_eq!(doc.get("version").map(|n| &n.kind), Some(&NodeKind::Str("1.0".into())));
        assert_eq!(doc.get("v2").map(|n| &n.kind), Some(&NodeKind::Str("1.0.3".into())));
    }
}
