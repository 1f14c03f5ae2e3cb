//! XML configuration files (ClickHouse and ClickHouse Keeper `config.xml`, `config.d/*.xml`),
//! read with `quick-xml` into a small element tree that keeps, for each element's text, its
//! byte range in the file, so a finding can point at one member.
//!
//! Malformed XML, entity references in a text we read, and documents past the bounds below
//! give `None` or an element whose text is unknown: the lists in them are not checked.

use std::ops::Range;

use quick_xml::Reader;
use quick_xml::events::Event;

/// One element: its name, attributes, own text (trimmed) with its byte range, and children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// The element's own text (CDATA included), trimmed; `None` when it holds an entity or
    /// character reference (`&amp;`), which is not resolved.
    pub text: Option<String>,
    /// Where `text` is in the document (an empty range at the element's end when it has none).
    pub span: Range<usize>,
    pub children: Vec<Element>,
}

impl Element {
    /// The children named `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The last child named `name` (ClickHouse reads the last one of a repeated scalar).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().rfind(|c| c.name == name)
    }

    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Deeper documents are not read (no real configuration nests this deep; dropping a deeper
/// tree would recurse that deep).
const MAX_DEPTH: usize = 64;
/// Documents with more elements are not read.
const MAX_ELEMENTS: usize = 100_000;

/// The root element of `s`; `None` when `s` is not well-formed XML with one root element, or
/// is past the bounds.
pub fn parse(s: &str) -> Option<Element> {
    let mut reader = Reader::from_str(s);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    let mut count = 0usize;
    // a text node: (start, end) of its trimmed bytes, appended to the open element
    let add_text = |stack: &mut Vec<Element>, raw: &str, start: usize, known: bool| {
        let Some(top) = stack.last_mut() else {
            return;
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return;
        }
        let lead = raw.len() - raw.trim_start().len();
        let (s0, e0) = (start + lead, start + lead + trimmed.len());
        match (&mut top.text, known) {
            (_, false) => top.text = None,
            (Some(t), true) if !t.is_empty() => {
                t.push_str(trimmed);
                top.span.end = e0;
            }
            (Some(t), true) => {
                t.push_str(trimmed);
                top.span = s0..e0;
            }
            (None, true) => {}
        }
    };
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event().ok()?;
        let after = reader.buffer_position() as usize;
        let empty = matches!(ev, Event::Empty(_));
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return None;
                }
                let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.ok()?;
                    attrs.push((
                        String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                        String::from_utf8_lossy(&a.value).into_owned(),
                    ));
                }
                let el = Element {
                    name,
                    attrs,
                    text: Some(String::new()),
                    span: after..after,
                    children: Vec::new(),
                };
                if empty {
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(el),
                        None if root.is_none() => root = Some(el),
                        None => return None,
                    }
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                let mut el = stack.pop()?;
                if el.text.as_deref() == Some("") {
                    el.span = before..before;
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return None,
                }
            }
            Event::Text(t) => {
                let raw = std::str::from_utf8(t.as_ref()).ok()?;
                add_text(&mut stack, raw, before, true);
            }
            Event::CData(t) => {
                let raw = std::str::from_utf8(t.as_ref()).ok()?;
                // `<![CDATA[` is 9 bytes
                add_text(&mut stack, raw, before + 9, true);
            }
            Event::GeneralRef(_) => add_text(&mut stack, "&", before, false),
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return None;
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_elements_text_and_where_it_is() {
        let s = "<?xml version=\"1.0\"?>\n<clickhouse>\n  <!-- keepers -->\n  <zookeeper>\n    <node index=\"1\"><host> zk-0.zk </host><port>2181</port></node>\n    <node><host><![CDATA[zk-1.zk]]></host></node>\n  </zookeeper>\n  <empty/>\n</clickhouse>\n";
        let root = parse(s).unwrap();
        assert_eq!(root.name, "clickhouse");
        let zk = root.child("zookeeper").unwrap();
        let nodes: Vec<_> = zk.all("node").collect();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].attr("index"), Some("1"));
        let host = nodes[0].child("host").unwrap();
        assert_eq!(host.text.as_deref(), Some("zk-0.zk"));
        assert_eq!(&s[host.span.clone()], "zk-0.zk");
        let cdata = nodes[1].child("host").unwrap();
        assert_eq!(&s[cdata.span.clone()], "zk-1.zk");
        assert_eq!(root.child("empty").unwrap().text.as_deref(), Some(""));
    }

    #[test]
    fn references_make_the_text_unknown() {
        let root = parse("<a><b>x&amp;y</b><c>&#65;</c></a>").unwrap();
        assert_eq!(root.child("b").unwrap().text, None);
        assert_eq!(root.child("c").unwrap().text, None);
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
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
        let deep = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
        assert_eq!(parse(&deep), None);
        // text after the root is tolerated, a second root is not
        assert!(parse("<a>1</a>\n").is_some());
    }
}
