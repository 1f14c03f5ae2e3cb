//! XML config files (ClickHouse and ClickHouse Keeper `config.xml`, `config.d/*.xml`) into a
//! [`Node`] tree, read with `quick-xml` (which the JUnit output already builds).
//!
//! The tree follows ClickHouse's own mapping between its XML and YAML configs, so that one
//! lookup serves both: the root element stands for the document (its name is dropped, as the
//! YAML form has none); an element with neither attributes nor child elements is a
//! [`Node::Scalar`] of its text; any other element is a [`Node::Map`] of `@attribute` entries,
//! its child elements by name (repeats kept, in order) and `#text` when it has text. Text with
//! an entity or character reference (`&amp;`) is [`Node::Unknown`]. Malformed XML, or a
//! document past the bounds, is `None`: nothing in it is checked.

use std::ops::Range;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::{Key, MAX_DEPTH, MAX_NODES, Node, Scalar};

/// An open element.
struct Frame {
    name: Key,
    attrs: Vec<(Key, Node)>,
    children: Vec<(Key, Node)>,
    /// Its own text (trimmed pieces joined); `None` once a reference makes it unknown.
    text: Option<String>,
    text_span: Option<Range<usize>>,
    start: usize,
}

impl Frame {
    fn open(e: &BytesStart<'_>, start: usize, tag_end: usize) -> Option<Frame> {
        let name = String::from_utf8(e.name().as_ref().to_vec()).ok()?;
        let name_span = start + 1..start + 1 + name.len();
        let mut attrs = Vec::new();
        for a in e.attributes() {
            let a = a.ok()?;
            let k = String::from_utf8(a.key.as_ref().to_vec()).ok()?;
            let v = String::from_utf8(a.value.to_vec()).ok()?;
            let key = Scalar {
                text: format!("@{k}"),
                span: start..tag_end,
            };
            let value = if v.contains('&') {
                Node::Unknown {
                    span: start..tag_end,
                }
            } else {
                Node::Scalar(Scalar {
                    text: v,
                    span: start..tag_end,
                })
            };
            attrs.push((key, value));
        }
        Some(Frame {
            name: Scalar {
                text: name,
                span: name_span,
            },
            attrs,
            children: Vec::new(),
            text: Some(String::new()),
            text_span: None,
            start,
        })
    }

    /// Add a piece of text written at `start`.
    fn text(&mut self, raw: &str, start: usize, known: bool) {
        if !known {
            self.text = None;
            return;
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return;
        }
        let s0 = start + (raw.len() - raw.trim_start().len());
        let span = s0..s0 + trimmed.len();
        if let Some(t) = &mut self.text {
            t.push_str(trimmed);
        }
        self.text_span = Some(match self.text_span.take() {
            Some(prev) => prev.start..span.end,
            None => span,
        });
    }

    /// The element as a node; `end` is where it ends in the text.
    fn close(self, end: usize) -> (Key, Node) {
        let text_node = |span: Range<usize>| match self.text.clone() {
            Some(text) => Node::Scalar(Scalar { text, span }),
            None => Node::Unknown { span },
        };
        let text_span = self.text_span.clone().unwrap_or(end..end);
        let node = if self.attrs.is_empty() && self.children.is_empty() {
            text_node(text_span)
        } else {
            let mut entries = self.attrs;
            entries.extend(self.children);
            if self.text.as_deref() != Some("") {
                let key = Scalar {
                    text: "#text".to_string(),
                    span: text_span.clone(),
                };
                entries.push((key, text_node(text_span)));
            }
            Node::Map {
                entries,
                span: self.start..end,
            }
        };
        (self.name, node)
    }
}

/// Read an XML document: the root element's node (see the module notes). `None`: not
/// well-formed, not one root element, or past [`MAX_DEPTH`]/[`MAX_NODES`].
pub fn parse(text: &str) -> Option<Node> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut count = 0usize;
    loop {
        let before = usize::try_from(reader.buffer_position()).ok()?;
        let ev = reader.read_event().ok()?;
        let after = usize::try_from(reader.buffer_position()).ok()?;
        let closed = match ev {
            // a second root element
            Event::Start(_) | Event::Empty(_) if root.is_some() => return None,
            Event::Start(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_NODES {
                    return None;
                }
                stack.push(Frame::open(&e, before, after)?);
                None
            }
            Event::Empty(e) => {
                count += 1;
                if count > MAX_NODES {
                    return None;
                }
                Some(Frame::open(&e, before, after)?.close(after))
            }
            Event::End(_) => Some(stack.pop()?.close(after)),
            Event::Text(t) => {
                let raw = std::str::from_utf8(t.as_ref()).ok()?;
                match stack.last_mut() {
                    Some(top) => top.text(raw, before, true),
                    None if raw.trim().is_empty() => {}
                    None => return None, // text outside the root
                }
                None
            }
            Event::CData(t) => {
                let raw = std::str::from_utf8(t.as_ref()).ok()?;
                // the text starts after `<![CDATA[`
                stack.last_mut()?.text(raw, before + 9, true);
                None
            }
            Event::GeneralRef(_) => {
                stack.last_mut()?.text("", before, false);
                None
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => None,
        };
        if let Some((key, node)) = closed {
            match stack.last_mut() {
                Some(parent) => parent.children.push((key, node)),
                None => root = Some(node),
            }
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

    fn scalar<'a>(n: &'a Node, key: &str) -> &'a Scalar {
        n.get(key).and_then(Node::as_scalar).unwrap()
    }

    #[test]
    fn elements_attributes_text_and_where_they_are() {
        let s = "<?xml version=\"1.0\"?>\n<clickhouse>\n  <!-- keepers -->\n  <zookeeper>\n    <node index=\"1\"><host> zk-0.zk </host><port>2181</port></node>\n    <node><host><![CDATA[zk-1.zk]]></host></node>\n  </zookeeper>\n  <empty/>\n  <p from_env=\"PORT\"/>\n</clickhouse>\n";
        let root = parse(s).unwrap();
        let nodes = lookup(&root, "zookeeper.node");
        assert_eq!(nodes.len(), 2);
        assert_eq!(scalar(nodes[0], "@index").text, "1");
        let host = scalar(nodes[0], "host");
        assert_eq!(host.text, "zk-0.zk");
        assert_eq!(&s[host.span.clone()], "zk-0.zk");
        let cdata = scalar(nodes[1], "host");
        assert_eq!(&s[cdata.span.clone()], "zk-1.zk");
        assert_eq!(scalar(&root, "empty").text, "");
        assert_eq!(scalar(root.get("p").unwrap(), "@from_env").text, "PORT");
        // text next to attributes
        let r = parse("<a><b x=\"1\">t</b></a>").unwrap();
        assert_eq!(scalar(r.get("b").unwrap(), "#text").text, "t");
    }

    #[test]
    fn references_are_unknown() {
        let root = parse("<a><b>x&amp;y</b><c>&#65;</c><d v=\"&lt;\"/></a>").unwrap();
        assert!(matches!(root.get("b"), Some(Node::Unknown { .. })));
        assert!(matches!(root.get("c"), Some(Node::Unknown { .. })));
        assert!(root.get("d").unwrap().has_unknown());
    }

    #[test]
    fn garbage_is_none_without_panic() {
        for s in [
            "",
            "<",
            "<a>",
            "<a></b>",
            "</a>",
            "<a/><b/>",
            "<a x=></a>",
            "not xml at all",
            "<a><b></a></b>",
            "\u{0}\u{ffff}<a>\u{10ffff}</a",
            "<a><![CDATA[x</a>",
            "<a>1</a>tail",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
        let deep = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
        assert_eq!(parse(&deep), None);
        assert!(parse("<a>1</a>\n").is_some());
    }
}
