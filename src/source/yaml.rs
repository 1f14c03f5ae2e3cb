//! YAML (and JSON, which is YAML) to `serde_json::Value`, recording where every node came from.
//!
//! The loader walks saphyr-parser's event stream with an explicit stack (no recursion, so
//! 10,000-deep nesting cannot overflow the stack), resolves plain scalars the way kubectl does
//! (YAML 1.1: `yes`/`on` are booleans, `0777` is octal), expands `<<:` merge keys, counts alias
//! expansions against a budget (alias bombs), rejects duplicate keys, and records for each node a
//! [`NodeSpan`] keyed by its JSON pointer.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

use super::limits::Limits;

/// Byte range in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ByteSpan {
    pub start: u32,
    pub end: u32,
}

/// Where a node sits in the source: its value and, for mapping entries, its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpan {
    pub key: Option<ByteSpan>,
    pub value: ByteSpan,
}

/// JSON pointer (RFC 6901) -> source span, for one document.
///
/// Stored compactly as (64-bit hash of the pointer, span) sorted by hash: no string per node,
/// 24 bytes per node. The hash is built segment by segment ([`pointer_hash`]), so the loader
/// never formats pointer strings. A hash collision could at worst show a finding at another
/// node of the same document; with 64-bit hashes over a few hundred pointers per document that
/// does not happen in practice.
#[derive(Debug, Default)]
pub struct SpanMap {
    /// (pointer hash, [value start, value end, key start, key end]); no key: `NO_KEY`.
    entries: Box<[(u64, [u32; 4])]>,
}

const NO_KEY: u32 = u32::MAX;

/// Hash of the empty pointer (the document root).
const ROOT_HASH: u64 = 0;

/// Hash of the pointer `parent` + `/` + `segment` (the segment unescaped: a mapping key as
/// written, or a sequence index in decimal).
fn child_hash(parent: u64, segment: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write_u64(parent);
    h.write(segment);
    h.write_u8(0xff); // never in UTF-8: ends the segment
    h.finish()
}

fn index_hash(parent: u64, index: usize) -> u64 {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = index;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    child_hash(parent, &buf[i..])
}

/// Hashes of every prefix of `pointer` that ends at a segment boundary, shortest first:
/// (prefix length, hash). `None` when `pointer` is neither empty nor starts with `/`.
fn prefix_hashes(pointer: &str, mut each: impl FnMut(usize, u64)) -> bool {
    if pointer.is_empty() {
        each(0, ROOT_HASH);
        return true;
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return false;
    };
    each(0, ROOT_HASH);
    let mut h = ROOT_HASH;
    let mut end = 0;
    let mut unescaped = Vec::new();
    for seg in rest.split('/') {
        end += 1 + seg.len();
        h = if seg.contains('~') {
            unescaped.clear();
            unescaped.extend_from_slice(seg.replace("~1", "/").replace("~0", "~").as_bytes());
            child_hash(h, &unescaped)
        } else {
            child_hash(h, seg.as_bytes())
        };
        each(end, h);
    }
    true
}

fn pointer_hash(pointer: &str) -> Option<u64> {
    let mut last = None;
    prefix_hashes(pointer, |_, h| last = Some(h)).then_some(())?;
    last
}

impl SpanMap {
    fn find(&self, h: u64) -> Option<NodeSpan> {
        let i = self.entries.binary_search_by_key(&h, |e| e.0).ok()?;
        let [vs, ve, ks, ke] = self.entries[i].1;
        Some(NodeSpan {
            key: (ks != NO_KEY).then_some(ByteSpan { start: ks, end: ke }),
            value: ByteSpan { start: vs, end: ve },
        })
    }

    pub fn get(&self, pointer: &str) -> Option<NodeSpan> {
        self.find(pointer_hash(pointer)?)
    }

    /// The span of `pointer`, or of its nearest recorded ancestor (a missing field is reported
    /// at the object that should hold it). Returns the matched prefix of `pointer`.
    pub fn nearest<'p>(&self, pointer: &'p str) -> Option<(&'p str, NodeSpan)> {
        let mut prefixes: Vec<(usize, u64)> = Vec::new();
        if !prefix_hashes(pointer, |end, h| prefixes.push((end, h))) {
            // not a pointer (no leading `/`): only the root can match
            return self.find(ROOT_HASH).map(|s| (&pointer[..0], s));
        }
        prefixes
            .iter()
            .rev()
            .find_map(|&(end, h)| Some((&pointer[..end], self.find(h)?)))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Collects a document's spans; reused across the documents of a file.
#[derive(Default)]
struct SpanBuilder {
    entries: Vec<(u64, [u32; 4])>,
}

impl SpanBuilder {
    fn insert(&mut self, hash: u64, span: NodeSpan) {
        let (ks, ke) = span.key.map_or((NO_KEY, NO_KEY), |k| (k.start, k.end));
        self.entries
            .push((hash, [span.value.start, span.value.end, ks, ke]));
    }

    /// Sort by hash; a pointer recorded twice (a repeated `<<` key) keeps its last span.
    fn finish(&mut self) -> SpanMap {
        self.entries.sort_by_key(|e| e.0);
        self.entries.dedup_by(|later, kept| {
            if later.0 == kept.0 {
                *kept = *later;
                true
            } else {
                false
            }
        });
        let map = SpanMap {
            entries: self.entries.as_slice().into(),
        };
        self.entries.clear();
        map
    }
}

/// One YAML document of a file.
#[derive(Debug)]
pub struct Document {
    pub value: Value,
    pub spans: SpanMap,
    /// Where the document starts (for errors about the whole document).
    pub start: ByteSpan,
}

/// A load error with its byte position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub at: ByteSpan,
    pub message: String,
}

/// Escape one JSON-pointer segment.
pub fn push_segment(ptr: &mut String, seg: &str) {
    ptr.push('/');
    if seg.contains(['~', '/']) {
        for c in seg.chars() {
            match c {
                '~' => ptr.push_str("~0"),
                '/' => ptr.push_str("~1"),
                c => ptr.push(c),
            }
        }
    } else {
        ptr.push_str(seg);
    }
}

/// Converts saphyr's character indexes into byte offsets of the original text.
///
/// For non-ASCII text it keeps the byte offset of every [`MARK_EVERY`]th character (1/16 byte
/// per character; a table of every character would take 4 bytes per character, 4x the input)
/// and walks from the last lookup or the nearest mark: events move forward, so the walks add up
/// to one pass over the text.
///
/// The parser may run on a suffix of the text (after a syntax error, from the next document)
/// and on a text with spaces inserted (re-indented quoted scalars, see [`reindent_quoted`]):
/// `base_chars` is the character index where the parser started, `insertions` maps positions
/// of the parsed text back to the original.
struct Offsets<'t> {
    text: &'t str,
    /// `None` when the text is ASCII (index == byte).
    marks: Option<Vec<u32>>,
    /// The last lookup: (character index, byte offset).
    cursor: std::cell::Cell<(usize, usize)>,
    base_chars: usize,
    insertions: &'t [Insertion],
}

/// Spaces inserted into the text at `at` (a byte offset of the new text); `total` counts
/// every space inserted up to and including these.
#[derive(Debug, Clone, Copy)]
struct Insertion {
    at: u32,
    count: u32,
    total: u32,
}

const MARK_EVERY: usize = 64;

impl<'t> Offsets<'t> {
    #[cfg(test)]
    fn new(text: &'t str) -> Self {
        Self::with_insertions(text, &[])
    }

    fn with_insertions(text: &'t str, insertions: &'t [Insertion]) -> Self {
        let marks = (!text.is_ascii()).then(|| {
            text.char_indices()
                .step_by(MARK_EVERY)
                .map(|(b, _)| b as u32)
                .collect()
        });
        Offsets {
            text,
            marks,
            cursor: std::cell::Cell::new((0, 0)),
            base_chars: 0,
            insertions,
        }
    }

    /// Parser indexes count from byte `base` of the text from now on.
    fn rebase(&mut self, base: usize) {
        self.base_chars = 0;
        self.base_chars = self.char_index(base);
    }

    /// Character index of byte `byte` (a character boundary).
    fn char_index(&self, byte: usize) -> usize {
        let Some(marks) = &self.marks else {
            return byte;
        };
        let k = marks
            .partition_point(|&m| m as usize <= byte)
            .saturating_sub(1);
        let start = marks.get(k).map_or(0, |&m| m as usize);
        k * MARK_EVERY + self.text[start..byte].chars().count()
    }

    /// Byte offset in the parsed text of parser character index `char_index`.
    fn parsed_byte(&self, char_index: usize) -> usize {
        let char_index = char_index + self.base_chars;
        let Some(marks) = &self.marks else {
            return char_index.min(self.text.len());
        };
        let (c0, b0) = self.cursor.get();
        let (mut c, mut b) = if char_index >= c0 && char_index - c0 < 2 * MARK_EVERY {
            (c0, b0)
        } else {
            let k = (char_index / MARK_EVERY).min(marks.len().saturating_sub(1));
            (k * MARK_EVERY, marks.get(k).map_or(0, |&m| m as usize))
        };
        for ch in self.text[b..].chars().take(char_index - c) {
            b += ch.len_utf8();
            c += 1;
        }
        self.cursor.set((c, b));
        b
    }

    /// Byte offset in the original text of a byte of the parsed text.
    fn original(&self, b: usize) -> u32 {
        let b = b as u32;
        let i = self.insertions.partition_point(|x| x.at <= b);
        match i.checked_sub(1).map(|i| self.insertions[i]) {
            None => b,
            Some(x) if b < x.at + x.count => x.at - (x.total - x.count),
            Some(x) => b - x.total,
        }
    }

    fn byte(&self, char_index: usize) -> u32 {
        self.original(self.parsed_byte(char_index))
    }

    fn span(&self, s: &Span) -> ByteSpan {
        ByteSpan {
            start: self.byte(s.start.index()),
            end: self.byte(s.end.index()),
        }
    }
}

enum Frame {
    Seq {
        items: Vec<Value>,
        /// pointer hash of this node
        hash: u64,
        anchor: usize,
        start: ByteSpan,
        /// the entry's key when this sequence is a mapping value
        key: Option<ByteSpan>,
    },
    Map {
        map: Map<String, Value>,
        hash: u64,
        anchor: usize,
        start: ByteSpan,
        key: Option<ByteSpan>,
        /// key waiting for its value: (key, key span, is a merge key `<<`)
        pending: Option<(String, ByteSpan, bool)>,
        merges: Vec<Value>,
    },
}

struct Loader<'a> {
    limits: &'a Limits,
    stack: Vec<Frame>,
    spans: SpanBuilder,
    /// anchored values and their depth (nested collections: 0 for a scalar)
    anchors: HashMap<usize, (Value, usize)>,
    /// for each open collection, the depth of its deepest child so far
    depths: Vec<usize>,
    nodes: usize,
    root: Option<Value>,
    last_end: u32,
}

fn err(at: ByteSpan, message: impl Into<String>) -> LoadError {
    LoadError {
        at,
        message: message.into(),
    }
}

/// Parse every document of `text`; the first error, if any (see [`load_all_documents`]).
pub fn load_documents(text: &str, limits: &Limits) -> (Vec<Document>, Option<LoadError>) {
    let (docs, errors) = load_all_documents(text, limits);
    (docs, errors.into_iter().next())
}

/// At most this many quoted scalars of one file are re-indented (each costs a parse of the
/// rest of the file).
const MAX_REINDENTS: usize = 64;

/// Parse every document of `text`. An error belongs to its document: the documents before and
/// after it are still returned, as kubectl reads them (it splits the stream at `---` lines and
/// parses each document on its own). After a syntax error, parsing resumes at the next `---`
/// line.
///
/// Read as go-yaml and libyaml read it: a multi-line quoted scalar whose continuation lines
/// are not indented past their key (Kubernetes e2e style: the closing `]'` at the key's
/// indentation) is accepted. Leading white space of continuation lines is not part of a
/// quoted scalar's value, so those lines are re-indented and parsed again; positions still
/// point into `text`.
pub fn load_all_documents(text: &str, limits: &Limits) -> (Vec<Document>, Vec<LoadError>) {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    // the text the parser reads: `text`, or a copy with re-indented quoted scalars
    let mut owned: Option<String> = None;
    let mut insertions: Vec<Insertion> = Vec::new();
    let mut base = 0usize;
    let mut reindents = 0;
    loop {
        let current: &str = owned.as_deref().unwrap_or(text);
        let mut offsets = Offsets::with_insertions(current, &insertions);
        offsets.rebase(base);
        let end = parse_from(
            &current[base..],
            base,
            &offsets,
            limits,
            &mut docs,
            &mut errors,
        );
        match end {
            SegmentEnd::Done => break,
            SegmentEnd::Syntax {
                error,
                at,
                doc_start,
                fix,
            } => {
                if reindents < MAX_REINDENTS {
                    let fixed = match fix {
                        Fix::QuotedIndent => reindent_quoted(current, at)
                            .map(|ins| apply_insertions(current, &ins, &insertions)),
                        Fix::FlowIndent => reindent_flow_line(current, at)
                            .map(|ins| apply_insertions(current, &ins, &insertions)),
                        Fix::TabAfterColon => {
                            untab_after_colon(current, at).map(|t| (t, insertions.clone()))
                        }
                        Fix::None => None,
                    };
                    if let Some((text, table)) = fixed {
                        reindents += 1;
                        owned = Some(text);
                        insertions = table;
                        base = doc_start;
                        continue;
                    }
                }
                errors.push(error);
                match next_document(current, at.max(base + 1)) {
                    Some(next) => base = next,
                    None => break,
                }
            }
        }
    }
    (docs, errors)
}

/// The byte offset of the first `---` document marker line starting at or after `from`.
fn next_document(text: &str, from: usize) -> Option<usize> {
    let mut i = from.min(text.len());
    // go to the start of the next line unless `from` already starts one
    if i > 0 && text.as_bytes()[i - 1] != b'\n' {
        i += text[i..].find('\n')? + 1;
    }
    loop {
        let rest = &text[i..];
        if rest.starts_with("---")
            && rest[3..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r')
        {
            return Some(i);
        }
        i += rest.find('\n')? + 1;
    }
}

/// Where to insert spaces (byte offset of the parsed text, count) so that the continuation
/// lines of the quoted scalar opening at byte `quote` are indented one column past the quote.
/// `None` when there is no quoted scalar to fix there.
fn reindent_quoted(text: &str, quote: usize) -> Option<Vec<(usize, u32)>> {
    let b = text.as_bytes();
    let q = *b.get(quote)?;
    if q != b'\'' && q != b'"' {
        return None;
    }
    let line_start = text[..quote].rfind('\n').map_or(0, |i| i + 1);
    let need = text[line_start..quote].chars().count() + 1;
    // find the closing quote
    let mut i = quote + 1;
    let mut breaks = Vec::new();
    loop {
        let c = *b.get(i)?;
        match c {
            b'\\' if q == b'"' => {
                // an escaped character; an escaped line break still starts a line
                i += 1;
                match b.get(i) {
                    Some(b'\n') => breaks.push(i + 1),
                    Some(b'\r') if b.get(i + 1) == Some(&b'\n') => {
                        i += 1;
                        breaks.push(i + 1);
                    }
                    _ => {}
                }
            }
            b'\'' if q == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 1,
            c if c == q => break,
            b'\n' => breaks.push(i + 1),
            _ => {}
        }
        i += 1;
    }
    let inserts: Vec<(usize, u32)> = breaks
        .into_iter()
        .filter_map(|start| {
            let indent = b[start..]
                .iter()
                .take_while(|&&c| c == b' ' || c == b'\t')
                .count();
            (indent < need).then(|| (start, (need - indent) as u32))
        })
        .collect();
    (!inserts.is_empty()).then_some(inserts)
}

/// Spaces to insert before the first character of the line holding byte `at` (a token of a
/// flow collection left of its block's indentation) to indent it one column past the line
/// before it. `None` when something other than spaces precedes `at` on its line.
fn reindent_flow_line(text: &str, at: usize) -> Option<Vec<(usize, u32)>> {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    if !text[start..at].bytes().all(|c| c == b' ') || start == 0 {
        return None;
    }
    let indent = at - start;
    let prev = text[..start - 1]
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())?;
    let prev_indent = prev.len() - prev.trim_start_matches(' ').len();
    (prev_indent + 1 > indent).then(|| vec![(start, (prev_indent + 1 - indent) as u32)])
}

/// `text` with `inserts` (byte offset of `text`, number of spaces) applied, and the insertion
/// table (offsets of the new text) updated from `prior` (offsets of `text`).
fn apply_insertions(
    text: &str,
    inserts: &[(usize, u32)],
    prior: &[Insertion],
) -> (String, Vec<Insertion>) {
    let added: u32 = inserts.iter().map(|(_, n)| n).sum();
    let mut out = String::with_capacity(text.len() + added as usize);
    let mut from = 0;
    for &(at, n) in inserts {
        out.push_str(&text[from..at]);
        out.extend(std::iter::repeat_n(' ', n as usize));
        from = at;
    }
    out.push_str(&text[from..]);
    // every insertion in new-text offsets, in order, with running totals
    let shift = |pos: u32| -> u32 {
        pos + inserts
            .iter()
            .filter(|(at, _)| (*at as u32) <= pos)
            .map(|(_, n)| n)
            .sum::<u32>()
    };
    let mut all: Vec<(u32, u32)> = prior.iter().map(|x| (shift(x.at), x.count)).collect();
    let mut before = 0u32;
    for &(at, n) in inserts {
        // inserted spaces of this batch before `at` shift it
        all.push((at as u32 + before, n));
        before += n;
    }
    all.sort_unstable();
    let mut total = 0;
    let table = all
        .into_iter()
        .map(|(at, count)| {
            total += count;
            Insertion { at, count, total }
        })
        .collect();
    (out, table)
}

/// A copy of `text` with the tabs that separate a `:` from its value (right before `at`)
/// turned into spaces: YAML allows them, the parser does not.
fn untab_after_colon(text: &str, at: usize) -> Option<String> {
    let b = text.as_bytes();
    let mut i = at.min(b.len());
    let mut tabs = false;
    while i > 0 && (b[i - 1] == b' ' || b[i - 1] == b'\t') {
        tabs |= b[i - 1] == b'\t';
        i -= 1;
    }
    if !tabs || i == 0 || b[i - 1] != b':' {
        return None;
    }
    let mut out = text.as_bytes().to_vec();
    for c in &mut out[i..at] {
        *c = b' ';
    }
    String::from_utf8(out).ok()
}

/// How parsing a stretch of text ended.
enum SegmentEnd {
    Done,
    /// A syntax error: `at` and `doc_start` are byte offsets of the parsed text; `error`
    /// points into the original text.
    Syntax {
        error: LoadError,
        at: usize,
        doc_start: usize,
        fix: Fix,
    },
}

/// Syntax errors of the parser where go-yaml reads on, and how the text is adjusted for it
/// without changing what it means.
enum Fix {
    /// A continuation line of a quoted scalar not indented past its block: re-indent the
    /// scalar's lines (their leading white space is not part of the value).
    QuotedIndent,
    /// A line of a flow collection left of its block's indentation: re-indent it.
    FlowIndent,
    /// A tab between `:` and its value.
    TabAfterColon,
    None,
}

/// Parse `text` (the parsed text from byte `base` on), appending documents and the errors of
/// documents that fail without breaking the stream (duplicate keys, limits).
fn parse_from(
    text: &str,
    base: usize,
    offsets: &Offsets<'_>,
    limits: &Limits,
    docs: &mut Vec<Document>,
    errors: &mut Vec<LoadError>,
) -> SegmentEnd {
    let mut parser = Parser::new_from_str(text);
    let mut loader: Option<Loader> = None;
    let mut doc_start = ByteSpan::default();
    let mut doc_start_parsed = base;
    let mut spans = SpanBuilder::default();
    loop {
        let (ev, span) = match parser.next_event() {
            None => break,
            Some(Ok(x)) => x,
            Some(Err(e)) => {
                let m = e.marker();
                let parsed_at = offsets.parsed_byte(m.index());
                let at = offsets.original(parsed_at);
                let message = if e.info().contains("recursion limit") {
                    format!(
                        "nesting deeper than {} levels (limit max-depth)",
                        limits.max_depth
                    )
                } else {
                    format!("YAML syntax error: {}", e.info())
                };
                let fix = match e.info() {
                    "invalid indentation in quoted scalar" => Fix::QuotedIndent,
                    "invalid indentation" => Fix::FlowIndent,
                    "':' must be followed by a valid YAML whitespace" => Fix::TabAfterColon,
                    _ => Fix::None,
                };
                return SegmentEnd::Syntax {
                    fix,
                    error: err(ByteSpan { start: at, end: at }, message),
                    at: parsed_at,
                    doc_start: doc_start_parsed,
                };
            }
        };
        let bspan = offsets.span(&span);
        match ev {
            Event::StreamStart | Event::Nothing => {}
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                if docs.len() >= limits.max_documents_per_file {
                    errors.push(err(
                        bspan,
                        format!(
                            "more than {} documents in one file (limit max-documents-per-file)",
                            limits.max_documents_per_file
                        ),
                    ));
                    return SegmentEnd::Done;
                }
                doc_start = bspan;
                doc_start_parsed = offsets.parsed_byte(span.start.index());
                loader = Some(Loader {
                    limits,
                    stack: Vec::new(),
                    spans: std::mem::take(&mut spans),
                    anchors: HashMap::new(),
                    depths: Vec::new(),
                    nodes: 0,
                    root: None,
                    last_end: bspan.end,
                });
            }
            Event::DocumentEnd => {
                if let Some(mut l) = loader.take() {
                    let map = l.spans.finish();
                    spans = l.spans;
                    if let Some(value) = l.root {
                        docs.push(Document {
                            value,
                            spans: map,
                            start: doc_start,
                        });
                    }
                }
            }
            ev => {
                let Some(l) = loader.as_mut() else { continue };
                if let Err(e) = l.event(ev, bspan) {
                    // this document is lost; the stream goes on
                    errors.push(e);
                    loader = None;
                }
            }
        }
    }
    SegmentEnd::Done
}

impl Loader<'_> {
    fn count(&mut self, n: usize, at: ByteSpan) -> Result<(), LoadError> {
        self.nodes += n;
        if self.nodes > self.limits.max_nodes_per_document {
            return Err(err(
                at,
                format!(
                    "document expands to more than {} nodes (limit max-nodes-per-document; an alias bomb?)",
                    self.limits.max_nodes_per_document
                ),
            ));
        }
        Ok(())
    }

    /// Is the next node a mapping key?
    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { pending: None, .. }))
    }

    /// Pointer hash of the next child of the top frame, and its key span when the child is
    /// a mapping value.
    fn enter_child(&self) -> (u64, Option<ByteSpan>) {
        match self.stack.last() {
            Some(Frame::Seq { items, hash, .. }) => (index_hash(*hash, items.len()), None),
            Some(Frame::Map {
                pending: Some((k, ks, _)),
                hash,
                ..
            }) => (child_hash(*hash, k.as_bytes()), Some(*ks)),
            _ => (ROOT_HASH, None),
        }
    }

    fn event(&mut self, ev: Event<'_>, span: ByteSpan) -> Result<(), LoadError> {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, span)?;
                self.last_end = span.end;
                if self.expecting_key() {
                    let merge = style == ScalarStyle::Plain && text == "<<";
                    self.set_key(text.into_owned(), span, merge)?;
                    return Ok(());
                }
                let value =
                    resolve_scalar(&text, style, tag.as_deref()).map_err(|m| err(span, m))?;
                if anchor != 0 {
                    self.anchors.insert(anchor, (value.clone(), 0));
                }
                let (hash, key) = self.enter_child();
                self.spans.insert(hash, NodeSpan { key, value: span });
                self.emit(value, 0);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let is_map = matches!(ev, Event::MappingStart(..));
                self.count(1, span)?;
                if self.expecting_key() {
                    return Err(err(
                        span,
                        "a mapping or sequence used as a mapping key is not supported by Kubernetes",
                    ));
                }
                if self.stack.len() >= self.limits.max_depth {
                    return Err(err(
                        span,
                        format!(
                            "nesting deeper than {} levels (limit max-depth)",
                            self.limits.max_depth
                        ),
                    ));
                }
                let (hash, key) = self.enter_child();
                self.depths.push(0);
                self.stack.push(if is_map {
                    Frame::Map {
                        map: Map::new(),
                        hash,
                        anchor,
                        start: span,
                        key,
                        pending: None,
                        merges: Vec::new(),
                    }
                } else {
                    Frame::Seq {
                        items: Vec::new(),
                        hash,
                        anchor,
                        start: span,
                        key,
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().expect("parser balances start/end events");
                let depth = 1 + self.depths.pop().unwrap_or(0);
                let end = self.last_end.max(span.start.min(self.last_end));
                let (value, hash, anchor, start, key) = match frame {
                    Frame::Seq {
                        items,
                        hash,
                        anchor,
                        start,
                        key,
                    } => (Value::Array(items), hash, anchor, start, key),
                    Frame::Map {
                        mut map,
                        hash,
                        anchor,
                        start,
                        key,
                        merges,
                        ..
                    } => {
                        for m in merges {
                            merge_into(&mut map, m, start)?;
                        }
                        (Value::Object(map), hash, anchor, start, key)
                    }
                };
                let vspan = ByteSpan {
                    start: start.start,
                    end: end.max(start.start),
                };
                self.spans.insert(hash, NodeSpan { key, value: vspan });
                if anchor != 0 {
                    self.anchors.insert(anchor, (value.clone(), depth));
                }
                self.emit(value, depth);
            }
            Event::Alias(id) => {
                let Some((nodes, depth)) = self.anchors.get(&id).map(|(v, d)| (node_count(v), *d))
                else {
                    return Err(err(span, "alias to an unknown anchor"));
                };
                self.count(nodes, span)?;
                // an alias puts the whole anchored value here: aliases of aliases of deep
                // values would nest without bound (and overflow the stack of whoever walks
                // the value recursively: drop, clone, deserialization)
                if self.stack.len() + depth > self.limits.max_depth {
                    return Err(err(
                        span,
                        format!(
                            "nesting deeper than {} levels through this alias (limit max-depth)",
                            self.limits.max_depth
                        ),
                    ));
                }
                let v = self.anchors[&id].0.clone();
                self.last_end = span.end;
                if self.expecting_key() {
                    let k = match v {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".to_string(),
                        _ => {
                            return Err(err(
                                span,
                                "an alias to a mapping or sequence used as a mapping key",
                            ));
                        }
                    };
                    self.set_key(k, span, false)?;
                    return Ok(());
                }
                let (hash, key) = self.enter_child();
                self.spans.insert(hash, NodeSpan { key, value: span });
                self.emit(v, depth);
            }
            _ => {}
        }
        Ok(())
    }

    fn set_key(&mut self, k: String, span: ByteSpan, merge: bool) -> Result<(), LoadError> {
        if k.len() > self.limits.max_key_length {
            return Err(err(
                span,
                format!(
                    "mapping key longer than {} bytes (limit max-key-length)",
                    self.limits.max_key_length
                ),
            ));
        }
        if let Some(Frame::Map { map, pending, .. }) = self.stack.last_mut() {
            if !merge && map.contains_key(&k) {
                return Err(err(span, format!("duplicate mapping key `{k}`")));
            }
            *pending = Some((k, span, merge));
        }
        Ok(())
    }

    /// Hand a finished value of `depth` nested collections to the open collection (or make it
    /// the document).
    fn emit(&mut self, value: Value, depth: usize) {
        if let Some(d) = self.depths.last_mut() {
            *d = (*d).max(depth);
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map {
                map,
                pending,
                merges,
                ..
            }) => {
                if let Some((k, _, merge)) = pending.take() {
                    if merge {
                        merges.push(value);
                    } else {
                        map.insert(k, value);
                    }
                }
            }
        }
    }
}

/// `<<: *base` or `<<: [*a, *b]`: keys already present win; earlier merges win over later.
fn merge_into(map: &mut Map<String, Value>, m: Value, at: ByteSpan) -> Result<(), LoadError> {
    match m {
        Value::Object(o) => {
            for (k, v) in o {
                map.entry(k).or_insert(v);
            }
            Ok(())
        }
        Value::Array(list) => {
            for item in list {
                match item {
                    Value::Object(_) => merge_into(map, item, at)?,
                    _ => return Err(err(at, "a `<<` merge list may only hold mappings")),
                }
            }
            Ok(())
        }
        _ => Err(err(
            at,
            "a `<<` merge key needs a mapping or a list of mappings",
        )),
    }
}

fn node_count(v: &Value) -> usize {
    // iterative, so a deep aliased value cannot overflow the stack
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        n += 1;
        match v {
            Value::Array(a) => stack.extend(a.iter()),
            Value::Object(o) => stack.extend(o.values()),
            _ => {}
        }
    }
    n
}

/// Resolve a scalar as kubectl's YAML reader (go-yaml, YAML 1.1 rules) does.
fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&saphyr_parser::Tag>,
) -> Result<Value, String> {
    if let Some(tag) = tag {
        let suffix = tag.suffix.as_str();
        if tag.is_yaml_core_schema() || tag.handle == "!!" {
            return match suffix {
                "str" | "binary" | "timestamp" => Ok(Value::String(text.to_string())),
                "null" => Ok(Value::Null),
                "bool" | "int" | "float" => match resolve_plain(text) {
                    v @ (Value::Bool(_) | Value::Number(_))
                        if (suffix == "bool") == v.is_boolean() =>
                    {
                        Ok(v)
                    }
                    _ => Err(format!("`{text}` is not a valid !!{suffix}")),
                },
                _ => Ok(Value::String(text.to_string())),
            };
        }
        if tag.handle == "!" && suffix.is_empty() {
            return Ok(Value::String(text.to_string()));
        }
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_string()));
    }
    Ok(resolve_plain(text))
}

pub fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Value::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Value::Bool(false);
        }
        _ => {}
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Value::String(s.to_string());
    }
    if let Some(n) = parse_int(s) {
        return Value::Number(n);
    }
    if let Some(f) = parse_float(s)
        && let Some(n) = Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_string())
}

fn parse_int(s: &str) -> Option<Number> {
    let (neg, body) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let clean: Cow<str> = if body.contains('_') {
        Cow::Owned(body.replace('_', ""))
    } else {
        Cow::Borrowed(body)
    };
    let (radix, digits) = if let Some(h) = clean.strip_prefix("0x") {
        (16, h)
    } else if let Some(b) = clean.strip_prefix("0b") {
        (2, b)
    } else if let Some(o) = clean.strip_prefix("0o") {
        (8, o)
    } else if clean.len() > 1 && clean.starts_with('0') {
        (8, &clean[1..])
    } else {
        (10, &*clean)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some(Number::from((mag as i128).wrapping_neg() as i64))
        } else {
            None
        }
    } else {
        Some(Number::from(mag))
    }
}

fn parse_float(s: &str) -> Option<f64> {
    // YAML 1.1 float: [-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?  (plus plain exponents)
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i = 1;
    }
    let rest = &s[i..];
    if matches!(rest, ".inf" | ".Inf" | ".INF" | ".nan" | ".NaN" | ".NAN") {
        return None; // not representable in JSON: keep as string
    }
    let mut seen_digit = false;
    let mut seen_dot = false;
    let mut seen_exp = false;
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'0'..=b'9' => seen_digit = true,
            b'_' if seen_digit && !seen_exp => {}
            b'.' if !seen_dot && !seen_exp => seen_dot = true,
            b'e' | b'E' if seen_digit && !seen_exp => {
                seen_exp = true;
                if matches!(b.get(j + 1), Some(b'-' | b'+')) {
                    j += 1;
                }
                if !matches!(b.get(j + 1), Some(b'0'..=b'9')) {
                    return None;
                }
            }
            _ => return None,
        }
        j += 1;
    }
    if !seen_digit || !(seen_dot || seen_exp) {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Vec<Document> {
        let (docs, e) = load_documents(text, &Limits::default());
        assert_eq!(e, None);
        docs
    }

    fn load_err(text: &str) -> LoadError {
        load_documents(text, &Limits::default())
            .1
            .expect("an error")
    }

    #[test]
    fn scalars_resolve_like_kubectl() {
        let d = load(
            "a: yes\nb: 'yes'\nc: 0777\nd: 1_000\ne: 1.5\nf: ~\ng: 0x1F\nh: 1.2.3\ni: -3\nj: on\n",
        );
        let v = &d[0].value;
        assert_eq!(v["a"], Value::Bool(true));
        assert_eq!(v["b"], Value::String("yes".into()));
        assert_eq!(v["c"], Value::from(511));
        assert_eq!(v["d"], Value::from(1000));
        assert_eq!(v["e"], Value::from(1.5));
        assert_eq!(v["f"], Value::Null);
        assert_eq!(v["g"], Value::from(31));
        assert_eq!(v["h"], Value::String("1.2.3".into()));
        assert_eq!(v["i"], Value::from(-3));
        assert_eq!(v["j"], Value::Bool(true));
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "kind: Service\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n";
        let d = load(text);
        let s = d[0].spans.get("/spec/clusterIP").unwrap();
        let k = s.key.unwrap();
        assert_eq!(&text[k.start as usize..k.end as usize], "clusterIP");
        assert_eq!(
            &text[s.value.start as usize..s.value.end as usize],
            "10.0.0.1"
        );
        let p = d[0].spans.get("/spec/ports/0/port").unwrap();
        assert_eq!(&text[p.value.start as usize..p.value.end as usize], "80");
        let (found, _) = d[0].spans.nearest("/spec/selector/app").unwrap();
        assert_eq!(found, "/spec");
    }

    #[test]
    fn multibyte_text_gives_byte_offsets() {
        let text = "a: \"é—ü\"\nb: x\n";
        let d = load(text);
        let s = d[0].spans.get("/b").unwrap();
        assert_eq!(&text[s.value.start as usize..s.value.end as usize], "x");
    }

    #[test]
    fn byte_offsets_on_long_non_ascii_text() {
        let text: String = (0..2000)
            .map(|i| format!("k{i}: \"é{}\"\n", "ü".repeat(i % 7)))
            .collect();
        let d = load(&text);
        for i in [0, 1, 63, 64, 65, 999, 1999] {
            let s = d[0].spans.get(&format!("/k{i}")).unwrap();
            let k = s.key.unwrap();
            assert_eq!(&text[k.start as usize..k.end as usize], format!("k{i}"));
            assert_eq!(
                &text[s.value.start as usize..s.value.end as usize],
                format!("\"é{}\"", "ü".repeat(i % 7))
            );
        }
        // lookups out of order
        let o = Offsets::new("aé€😀b");
        assert_eq!(o.byte(4), 10);
        assert_eq!(o.byte(1), 1);
        assert_eq!(o.byte(5), 11);
        assert_eq!(o.byte(99), 11);
        assert_eq!(o.byte(2), 3);
    }

    #[test]
    fn multi_documents_and_empty_ones() {
        let d = load("a: 1\n---\n---\nb: 2\n");
        assert_eq!(d.iter().filter(|d| !d.value.is_null()).count(), 2);
    }

    #[test]
    fn merge_keys_expand_and_explicit_keys_win() {
        let d = load("base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  y: 3\n");
        assert_eq!(d[0].value["m"], serde_json::json!({"x": 1, "y": 3}));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = load_err("a: 1\na: 2\n");
        assert!(e.message.contains("duplicate mapping key `a`"), "{e:?}");
        assert_eq!(e.at.start, 5);
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = load_err(&text);
        assert!(e.message.contains("max-nodes-per-document"), "{e:?}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let e = load_err(&text);
        assert!(e.message.contains("max-depth"), "{e:?}");
        let text = (0..10_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect::<String>();
        let e = load_err(&text);
        assert!(e.message.contains("max-depth"), "{e:?}");
    }

    #[test]
    fn aliases_cannot_nest_deeper_than_the_limit() {
        // each alias sits 100 levels down and stands for a value 100 levels deep: without a
        // depth per anchor, 200 of them nested 20,000 deep and overflowed the stack on drop
        let deep = |inner: &str| format!("{}{inner}{}", "[".repeat(100), "]".repeat(100));
        let mut text = format!("a0: &a0 {}\n", deep("x"));
        for i in 1..200 {
            text.push_str(&format!("a{i}: &a{i} {}\n", deep(&format!("*a{}", i - 1))));
        }
        let e = load_err(&text);
        assert!(
            e.message.contains("through this alias (limit max-depth)"),
            "{e:?}"
        );
        assert_eq!(&text[e.at.start as usize..e.at.end as usize], "*a0");
        // within the limit, an alias of a nested value is fine
        let d = load("a: &a [[1]]\nb: [*a]\n");
        assert_eq!(d[0].value["b"], serde_json::json!([[[1]]]));
    }

    #[test]
    fn long_keys_are_an_error() {
        let key = "k".repeat(5000);
        let e = load_err(&format!("{{\"{key}\": {{a: 1}}}}"));
        assert_eq!(
            e.message,
            "mapping key longer than 4096 bytes (limit max-key-length)"
        );
        assert_eq!(e.at.start, 1);
        load(&format!("? {}\n: 1\n", "k".repeat(4096)));
    }

    #[test]
    fn an_error_belongs_to_its_document() {
        // a duplicate key (helm/charts etcd's Service repeats `metadata`): the other documents
        // of the file are still read
        let text =
            "a: 1\n---\nkind: Service\nmetadata: {name: x}\nmetadata: {name: y}\n---\nb: 2\n";
        let (docs, errors) = load_all_documents(text, &Limits::default());
        assert_eq!(docs.len(), 2, "{docs:?}");
        assert_eq!(docs[1].value["b"], 2);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0]
                .message
                .contains("duplicate mapping key `metadata`")
        );
        assert_eq!(&text[errors[0].at.start as usize..][..8], "metadata");
        // a syntax error: parsing resumes at the next `---` line
        let text = "a: 1\n---\nb: [1, 2\nc: 3\n---\nd: 4\n---\ne: 'open\n---\nf: 6\n";
        let (docs, errors) = load_all_documents(text, &Limits::default());
        let values: Vec<String> = docs.iter().map(|d| d.value.to_string()).collect();
        assert_eq!(values, [r#"{"a":1}"#, r#"{"d":4}"#, r#"{"f":6}"#]);
        assert_eq!(errors.len(), 2, "{errors:?}");
        // positions still point into the text
        let d = docs[2].spans.get("/f").unwrap().value;
        assert_eq!(&text[d.start as usize..d.end as usize], "6");
    }

    #[test]
    fn quoted_scalars_dedented_to_their_key_are_read_as_go_yaml_reads_them() {
        // Kubernetes e2e style: the closing `]'` at the key's indentation
        let text = "metadata:\n  annotations:\n    init: '[\n        {\"a\": 1}\n    ]'\n    after: \"x\n  y\"\n  name: z\n";
        let d = load(text);
        assert_eq!(
            d[0].value["metadata"]["annotations"]["init"],
            "[ {\"a\": 1} ]"
        );
        assert_eq!(d[0].value["metadata"]["annotations"]["after"], "x y");
        // spans after the re-indented lines are positions of the original text
        let s = d[0].spans.get("/metadata/name").unwrap().value;
        assert_eq!(&text[s.start as usize..s.end as usize], "z");
        let s = d[0].spans.get("/metadata/annotations/after").unwrap();
        assert_eq!(
            &text[s.key.unwrap().start as usize..s.key.unwrap().end as usize],
            "after"
        );
        // an escaped line break in a double-quoted scalar, a continuation at column 0
        let d = load("a:\n  k: \"x \\\n  y\n\"\n  l: 'p\nq'\n");
        assert_eq!(d[0].value["a"]["k"], "x y ");
        assert_eq!(d[0].value["a"]["l"], "p q");
    }

    #[test]
    fn flow_lines_left_of_the_block_and_tabs_after_colons_are_read() {
        let text = "a:\n  b: [1,\n 2]\n  c:\tvalue\n  d: x\n";
        let d = load(text);
        assert_eq!(d[0].value["a"]["b"], serde_json::json!([1, 2]));
        assert_eq!(d[0].value["a"]["c"], "value");
        let s = d[0].spans.get("/a/d").unwrap().value;
        assert_eq!(&text[s.start as usize..s.end as usize], "x");
    }

    #[test]
    fn insertions_map_back_to_the_original_text() {
        let (text, table) = apply_insertions("ab\ncd\nef", &[(3, 2), (6, 1)], &[]);
        assert_eq!(text, "ab\n  cd\n ef");
        let (text2, table2) = apply_insertions(&text, &[(0, 1)], &table);
        assert_eq!(text2, " ab\n  cd\n ef");
        let o = Offsets::with_insertions(&text2, &table2);
        // `c` is at 6 in the new text, 3 in the original; `e` 10 -> 6; inside inserted spaces:
        // the line start
        assert_eq!(o.original(6), 3);
        assert_eq!(o.original(10), 6);
        assert_eq!(o.original(4), 3);
        assert_eq!(o.original(1), 0);
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let e = load_err("a: [1\n");
        assert!(e.message.starts_with("YAML syntax error"), "{e:?}");
    }

    #[test]
    fn span_lookup_by_segments() {
        let text = "a~b/c:\n  list: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n'0': zero\n";
        let d = load(text);
        let at = |p: &str| {
            let s = d[0].spans.get(p).unwrap().value;
            &text[s.start as usize..s.end as usize]
        };
        assert_eq!(at("/a~0b~1c/list/11"), "11");
        assert_eq!(at("/a~0b~1c/list/0"), "0");
        assert_eq!(at("/0"), "zero");
        assert!(d[0].spans.get("/a~0b~1c/list/12").is_none());
        assert!(d[0].spans.get("a~0b~1c").is_none());
        let (found, _) = d[0].spans.nearest("/a~0b~1c/list/99/x").unwrap();
        assert_eq!(found, "/a~0b~1c/list");
        let (found, _) = d[0].spans.nearest("not-a-pointer").unwrap();
        assert_eq!(found, "");
        assert_eq!(d[0].spans.nearest("").unwrap().0, "");
    }

    #[test]
    fn pointer_segments_are_escaped() {
        let d = load("metadata:\n  annotations:\n    statelint.io/ignore: x\n");
        assert!(
            d[0].spans
                .get("/metadata/annotations/statelint.io~1ignore")
                .is_some()
        );
    }
}
