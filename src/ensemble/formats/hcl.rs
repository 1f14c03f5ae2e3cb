//! HCL (Consul and Vault `*.hcl`) and the NATS server config format (`nats.conf`, a relaxed
//! JSON with `=`/`:`/blank separators, bare strings and `$VAR` references) into a [`Node`]
//! tree. One small reader serves both, reading only what the ensemble rules need: bodies of
//! `key = value` / `key: value` / `key value` entries, blocks (`cluster { }`, HCL labels as
//! nested keys the way HCL's JSON form writes them: `storage "raft" { }` is
//! `storage.raft`), lists and scalars, with the span of every scalar.
//!
//! Values the reader cannot know are [`Node::Unknown`]: HCL interpolations (`"${...}"`),
//! expressions and function calls, heredocs, NATS `$VAR` references. Text it cannot read
//! (an unclosed block or string, a stray token) is `None`.

use super::{Key, MAX_DEPTH, MAX_NODES, Node, Scalar};

struct Reader<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    nodes: usize,
}

/// Read an HCL or NATS config text. `None`: not readable, or past the bounds.
pub fn parse(text: &str) -> Option<Node> {
    let mut r = Reader {
        s: text,
        b: text.as_bytes(),
        i: 0,
        nodes: 0,
    };
    r.blank(true);
    // NATS accepts a whole file wrapped in braces (its Helm chart renders it so)
    let node = if r.peek() == Some(b'{') {
        r.i += 1;
        let n = r.body(0, Some(b'}'))?;
        r.blank(true);
        n
    } else {
        r.body(0, None)?
    };
    (r.i >= r.b.len()).then_some(node)
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skip blanks and comments (`#`, `//`, `/* */`); newlines too when `newlines`.
    fn blank(&mut self, newlines: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\r' => self.i += 1,
                b'\n' if newlines => self.i += 1,
                b'#' => self.line_end(),
                b'/' if self.b.get(self.i + 1) == Some(&b'/') => self.line_end(),
                b'/' if self.b.get(self.i + 1) == Some(&b'*') => {
                    match self.s[self.i + 2..].find("*/") {
                        Some(j) => self.i += 2 + j + 2,
                        None => self.i = self.b.len(),
                    }
                }
                _ => break,
            }
        }
    }

    fn line_end(&mut self) {
        match self.s[self.i..].find('\n') {
            Some(j) => self.i += j,
            None => self.i = self.b.len(),
        }
    }

    fn count(&mut self) -> Option<()> {
        self.nodes += 1;
        (self.nodes <= MAX_NODES).then_some(())
    }

    /// Entries up to `close` (or the end of the text).
    fn body(&mut self, depth: usize, close: Option<u8>) -> Option<Node> {
        if depth >= MAX_DEPTH {
            return None;
        }
        let start = self.i;
        let mut entries: Vec<(Key, Node)> = Vec::new();
        loop {
            self.blank(true);
            while matches!(self.peek(), Some(b',' | b';')) {
                self.i += 1;
                self.blank(true);
            }
            match (self.peek(), close) {
                (None, None) => break,
                (None, Some(_)) => return None,
                (Some(c), Some(cl)) if c == cl => {
                    self.i += 1;
                    break;
                }
                _ => {}
            }
            self.count()?;
            let key = self.key()?;
            self.blank(false);
            // HCL block labels: `storage "raft" {`, `service "a" "b" {`
            let mut labels = Vec::new();
            while self.peek() == Some(b'"') {
                let save = self.i;
                let l = self.quoted()?;
                self.blank(false);
                if !matches!(self.peek(), Some(b'"' | b'{')) {
                    self.i = save;
                    break;
                }
                labels.push(l);
            }
            let value = match self.peek() {
                Some(b'=' | b':') => {
                    self.i += 1;
                    self.blank(true);
                    self.value(depth + 1)?
                }
                Some(b'{') => {
                    self.i += 1;
                    self.body(depth + 1, Some(b'}'))?
                }
                // NATS `key value`
                Some(c) if c != b'\n' && c != b'}' && labels.is_empty() => self.value(depth + 1)?,
                _ => return None,
            };
            // labels nest: `storage "raft" { body }` -> storage: { raft: body }
            let mut value = value;
            for l in labels.into_iter().rev() {
                let span = l.span.start..value.span().end;
                value = Node::Map {
                    entries: vec![(l, value)],
                    span,
                };
            }
            entries.push((key, value));
        }
        Some(Node::Map {
            entries,
            span: start..self.i,
        })
    }

    fn key(&mut self) -> Option<Key> {
        if matches!(self.peek(), Some(b'"' | b'\'')) {
            return self.quoted();
        }
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace()
                || matches!(
                    c,
                    b'=' | b':' | b'{' | b'}' | b'[' | b']' | b',' | b'"' | b'#' | b';'
                )
            {
                break;
            }
            self.i += 1;
        }
        (self.i > start).then(|| Scalar {
            text: self.s[start..self.i].to_string(),
            span: start..self.i,
        })
    }

    /// A quoted string (`"..."` with escapes, or NATS `'...'`); the span includes the quotes.
    fn quoted(&mut self) -> Option<Scalar> {
        let q = self.peek()?;
        let start = self.i;
        self.i += 1;
        let mut text = String::new();
        loop {
            let rest = &self.s[self.i..];
            let j = rest.find([q as char, '\\', '\n'])?;
            text.push_str(&rest[..j]);
            self.i += j;
            match self.b[self.i] {
                b'\\' if q == b'"' => {
                    let c = self.s[self.i + 1..].chars().next()?;
                    text.push(match c {
                        'n' => '\n',
                        't' => '\t',
                        c => c,
                    });
                    self.i += 1 + c.len_utf8();
                }
                b'\\' => {
                    text.push('\\');
                    self.i += 1;
                }
                b'\n' => return None,
                _ => {
                    self.i += 1;
                    break;
                }
            }
        }
        Some(Scalar {
            text,
            span: start..self.i,
        })
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth >= MAX_DEPTH {
            return None;
        }
        self.count()?;
        let start = self.i;
        match self.peek()? {
            b'"' | b'\'' => {
                let s = self.quoted()?;
                // an HCL interpolation or directive is not known
                if s.text.contains("${") || s.text.contains("%{") {
                    return Some(Node::Unknown { span: s.span });
                }
                Some(Node::Scalar(s))
            }
            b'{' => {
                self.i += 1;
                self.body(depth, Some(b'}'))
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.blank(true);
                    while self.peek() == Some(b',') {
                        self.i += 1;
                        self.blank(true);
                    }
                    match self.peek()? {
                        b']' => {
                            self.i += 1;
                            break;
                        }
                        _ => items.push(self.value(depth + 1)?),
                    }
                }
                Some(Node::List {
                    items,
                    span: start..self.i,
                })
            }
            b'<' if self.s[self.i..].starts_with("<<") => {
                // a heredoc: skip to its closing marker
                let line = self.s[self.i..].find('\n')? + self.i;
                let marker = self.s[self.i + 2..line].trim_start_matches('-').trim();
                if marker.is_empty() {
                    return None;
                }
                let mut at = line + 1;
                loop {
                    let end = self.s[at..].find('\n').map_or(self.b.len(), |j| at + j);
                    if self.s[at..end].trim() == marker {
                        self.i = end;
                        break;
                    }
                    if end >= self.b.len() {
                        return None;
                    }
                    at = end + 1;
                }
                Some(Node::Unknown {
                    span: start..self.i,
                })
            }
            _ => {
                // a bare word: up to a blank, a separator or a closing bracket
                while let Some(c) = self.peek() {
                    if c.is_ascii_whitespace() || matches!(c, b',' | b']' | b'}' | b';' | b'#') {
                        break;
                    }
                    if c == b'(' {
                        // a function call (HCL `file("x")`): skip to its `)`
                        let j = self.s[self.i..].find(')')?;
                        self.i += j + 1;
                        return Some(Node::Unknown {
                            span: start..self.i,
                        });
                    }
                    self.i += 1;
                }
                if self.i == start {
                    return None;
                }
                let text = &self.s[start..self.i];
                if text.contains('$') {
                    return Some(Node::Unknown {
                        span: start..self.i,
                    });
                }
                Some(Node::Scalar(Scalar {
                    text: text.to_string(),
                    span: start..self.i,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::lookup;
    use super::*;

    fn texts(text: &str, nodes: &[&Node]) -> Vec<String> {
        nodes
            .iter()
            .flat_map(|n| match n {
                Node::List { items, .. } => items.iter().collect(),
                n => vec![*n],
            })
            .map(|n| match n {
                Node::Scalar(s) => format!("{}@{}", s.text, &text[s.span.clone()]),
                Node::Unknown { .. } => "?".into(),
                _ => "{}".into(),
            })
            .collect()
    }

    #[test]
    fn consul_hcl() {
        let t = "# servers\nserver = true\nbootstrap_expect = 3\nretry_join = [\"c-0.c-hs\", \"c-1.c-hs\",\n  \"c-2.c-hs\", # last\n]\nports { serf_lan = 8301 }\n";
        let n = parse(t).unwrap();
        assert_eq!(texts(t, &lookup(&n, "bootstrap_expect")), ["3@3"]);
        assert_eq!(
            texts(t, &lookup(&n, "retry_join")),
            [
                "c-0.c-hs@\"c-0.c-hs\"",
                "c-1.c-hs@\"c-1.c-hs\"",
                "c-2.c-hs@\"c-2.c-hs\""
            ]
        );
        assert_eq!(texts(t, &lookup(&n, "ports.serf_lan")), ["8301@8301"]);
    }

    #[test]
    fn vault_raft_blocks_and_labels() {
        let t = "storage \"raft\" {\n  path = \"/vault/data\"\n  retry_join {\n    leader_api_addr = \"http://v-0.v-internal:8200\"\n  }\n  retry_join {\n    leader_api_addr = \"http://v-1.v-internal:8200\"\n  }\n  retry_join { leader_api_addr = \"http://${HOSTNAME}:8200\" }\n}\nlistener \"tcp\" { address = \"[::]:8200\" }\n";
        let n = parse(t).unwrap();
        let got = texts(t, &lookup(&n, "storage.raft.retry_join.leader_api_addr"));
        assert_eq!(
            got[0],
            "http://v-0.v-internal:8200@\"http://v-0.v-internal:8200\""
        );
        assert_eq!(got.len(), 3);
        assert_eq!(got[2], "?");
        assert!(lookup(&n, "storage.consul").is_empty());
    }

    #[test]
    fn nats_conf() {
        let t = "{\n  \"cluster\": {\n    \"name\": \"nats\",\n    \"routes\": [\n      \"nats://n-0.n-hs:6222\",\n      nats://n-1.n-hs:6222\n      nats://$POD.n-hs:6222\n    ]\n  },\n  \"jetstream\": { \"max_file_store\": 10Gi },\n  \"server_name\": $SERVER_NAME\n}\n";
        let n = parse(t).unwrap();
        assert_eq!(
            texts(t, &lookup(&n, "cluster.routes")),
            [
                "nats://n-0.n-hs:6222@\"nats://n-0.n-hs:6222\"",
                "nats://n-1.n-hs:6222@nats://n-1.n-hs:6222",
                "?"
            ]
        );
        // `key value`, `key: value`, `key = value`, and blocks without `=`
        let t = "port 4222\ncluster {\n  routes = [nats://a:6222, nats://b:6222]\n}\nleafnodes: { port: 7422 }\n/* c */ include ./auth.conf\n";
        let n = parse(t).unwrap();
        assert_eq!(texts(t, &lookup(&n, "port")), ["4222@4222"]);
        assert_eq!(texts(t, &lookup(&n, "cluster.routes")).len(), 2);
        assert_eq!(texts(t, &lookup(&n, "leafnodes.port")), ["7422@7422"]);
    }

    #[test]
    fn unknowns_and_garbage() {
        let t = "a = file(\"x.txt\")\nb = <<EOT\nhello\nEOT\nc = \"${var.x}\"\n";
        let n = parse(t).unwrap();
        for k in ["a", "b", "c"] {
            assert!(matches!(lookup(&n, k)[..], [Node::Unknown { .. }]), "{k}");
        }
        for s in [
            "a = ",
            "a = [1, 2",
            "a { b = 1",
            "a = \"unclosed",
            "{ a = 1",
            "a = 1 }",
            "= 1",
            "a = <<EOT\nno end",
            "a = f(",
            "\"\\",
        ] {
            assert_eq!(parse(s), None, "{s:?}");
        }
        let deep = "a { ".repeat(10_000);
        assert_eq!(parse(&deep), None);
        let deep = "a = ".to_string() + &"[".repeat(10_000);
        assert_eq!(parse(&deep), None);
        assert!(parse("").is_some());
        assert!(parse("# only a comment").is_some());
    }
}

#[cfg(test)]
mod never_panics {
    use proptest::prelude::*;

    proptest! {
        /// Any text: a tree or `None`, never a panic (HCL/NATS and XML readers).
        #[test]
        fn on_any_text(s in "[ -~\\n\\t\u{e9}\u{1F600}{}\\[\\]=:\"'#/*<>&;$!-]{0,200}") {
            let _ = super::parse(&s);
            let _ = super::super::xml::parse(&s);
        }
    }
}
