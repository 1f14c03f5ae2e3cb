//! YAML (and JSON) config files into a [`Node`] tree, with the byte span of every scalar.
//!
//! Walks saphyr-parser's events with an explicit stack (no recursion). Anchors are not
//! followed: an alias is [`Node::Unknown`], and so is a `<<` merge. Only a file of one
//! document is read; several documents, a syntax error or a limit passed make the whole file
//! unknown (`None`).

use std::ops::Range;

use saphyr_parser::{Event, Parser, Span};

use super::{Key, MAX_DEPTH, MAX_NODES, Node, Scalar};

/// Byte offsets of parser character indexes.
struct Bytes {
    /// byte offset of each character, when the text is not ASCII (plus the end)
    chars: Option<Vec<usize>>,
    len: usize,
}

impl Bytes {
    fn new(text: &str) -> Self {
        let chars = (!text.is_ascii()).then(|| {
            text.char_indices()
                .map(|(b, _)| b)
                .chain([text.len()])
                .collect()
        });
        Bytes {
            chars,
            len: text.len(),
        }
    }

    fn byte(&self, index: usize) -> usize {
        match &self.chars {
            Some(c) => c.get(index).copied().unwrap_or(self.len),
            None => index.min(self.len),
        }
    }

    fn range(&self, s: &Span) -> Range<usize> {
        self.byte(s.start.index())..self.byte(s.end.index())
    }
}

enum Frame {
    List {
        items: Vec<Node>,
        start: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        key: Option<Key>,
        start: usize,
    },
}

/// Read one YAML or JSON document. `None`: not readable (see the module notes).
pub fn parse(text: &str) -> Option<Node> {
    let bytes = Bytes::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    let mut nodes = 0usize;
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.ok()?;
        let range = bytes.range(&span);
        let done = match ev {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return None;
                }
                continue;
            }
            Event::StreamEnd => break,
            Event::Scalar(value, ..) => Node::Scalar(Scalar {
                text: value.into_owned(),
                span: range,
            }),
            Event::Alias(_) => Node::Unknown { span: range },
            Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(Frame::List {
                    items: Vec::new(),
                    start: range.start,
                });
                continue;
            }
            Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return None;
                }
                stack.push(Frame::Map {
                    entries: Vec::new(),
                    key: None,
                    start: range.start,
                });
                continue;
            }
            Event::SequenceEnd => match stack.pop()? {
                Frame::List { items, start } => Node::List {
                    items,
                    span: start..range.end.max(start),
                },
                Frame::Map { .. } => return None,
            },
            Event::MappingEnd => match stack.pop()? {
                Frame::Map {
                    entries,
                    key: None,
                    start,
                } => Node::Map {
                    entries,
                    span: start..range.end.max(start),
                },
                _ => return None,
            },
            _ => continue,
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return None;
        }
        match stack.last_mut() {
            None => root = Some(done),
            Some(Frame::List { items, .. }) => items.push(done),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => match done {
                    Node::Scalar(k) => *key = Some(k),
                    // a complex key (`? [a, b]`) or an alias as key: no setting has one
                    other => {
                        *key = Some(Scalar {
                            text: String::new(),
                            span: other.span(),
                        })
                    }
                },
                Some(k) => {
                    // `<<: *defaults` brings keys this reader does not follow
                    let v = if k.text == "<<" {
                        Node::Unknown { span: done.span() }
                    } else {
                        done
                    };
                    entries.push((k, v));
                }
            },
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

#[cfg(test)]
mod tests {
    use super::super::lookup;
    use super::*;

    fn scalar<'a>(n: &'a Node, path: &str) -> &'a Scalar {
        lookup(n, path)[0].as_scalar().unwrap()
    }

    #[test]
    fn spans_are_byte_ranges_of_the_written_scalars() {
        let t =
            "# ünïcode\ncluster.name: \"é\"\ndiscovery.seed_hosts:\n  - es-0.es\n  - 'es-1.es'\n";
        let n = parse(t).unwrap();
        let s = scalar(&n, "cluster.name");
        assert_eq!(s.text, "é");
        assert_eq!(&t[s.span.clone()], "\"é\"");
        let Node::List { items, .. } = lookup(&n, "discovery.seed_hosts")[0] else {
            panic!()
        };
        let spans: Vec<&str> = items
            .iter()
            .map(|i| &t[i.as_scalar().unwrap().span.clone()])
            .collect();
        assert_eq!(spans, ["es-0.es", "'es-1.es'"]);
    }

    #[test]
    fn json_is_read() {
        let t = r#"{"bootstrap_expect": 3, "retry_join": ["c-0.c", "provider=k8s x=y"]}"#;
        let n = parse(t).unwrap();
        let s = scalar(&n, "bootstrap_expect");
        assert_eq!((s.text.as_str(), &t[s.span.clone()]), ("3", "3"));
        let Node::List { items, .. } = lookup(&n, "retry_join")[0] else {
            panic!()
        };
        assert_eq!(&t[items[0].span()], "\"c-0.c\"");
    }

    #[test]
    fn block_and_flow_lists() {
        for t in [
            "a:\n- x\n- y\n",
            "a:\n  - x\n  - y\n",
            "a: [x, y]\n",
            "a: [\n  x,\n  y\n]\n",
        ] {
            let n = parse(t).unwrap();
            let Node::List { items, .. } = lookup(&n, "a")[0] else {
                panic!("{t}")
            };
            assert_eq!(items.len(), 2, "{t}");
            assert_eq!(&t[items[1].span()], "y");
        }
    }

    #[test]
    fn unreadable_text_is_unknown() {
        for t in [
            "a: [x, y",
            "a: b: c",
            "{\"a\": ",
            "a: 1\n---\na: 2\n",
            "key: \"unterminated",
        ] {
            assert_eq!(parse(t), None, "{t}");
        }
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(parse(&deep), None);
        let many = format!("[{}]", "1,".repeat(MAX_NODES + 1));
        assert_eq!(parse(&many), None);
        // aliases and merges are not followed
        let n = parse("d: &d [a]\nx: *d\ny:\n  <<: {z: 1}\n").unwrap();
        assert!(matches!(lookup(&n, "x")[0], Node::Unknown { .. }));
        assert!(lookup(&n, "y.z").is_empty());
        assert!(lookup(&n, "y")[0].has_unknown());
        assert_eq!(parse(""), None);
    }
}
