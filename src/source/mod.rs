//! Reading input: find files, read them safely, parse every document with spans, flatten
//! `kind: List`, and turn documents into [`Object`]s.

pub mod limits;
pub mod render;
pub mod yaml;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rayon::prelude::*;
use serde_json::Value;

pub use limits::Limits;
use yaml::ByteSpan;

use crate::object::{FileId, Object, Origin};

/// One input file (or stdin) and its text.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as given or found (`-` for stdin).
    pub name: String,
    pub text: String,
    /// Set when the text is the output of `helm template` or Kustomize: where its documents
    /// came from.
    pub rendered: Option<Arc<render::RenderInfo>>,
    index: OnceLock<LineIndex>,
}

/// Byte offset -> line and column in O(log n), whatever the text: many findings on one long
/// line (a 1 MB single-line JSON) must not cost a scan of the line each.
#[derive(Debug)]
struct LineIndex {
    line_starts: Vec<u32>,
    /// For non-ASCII text: characters before byte `k * CHUNK`, for each k.
    chars_before_chunk: Option<Vec<u32>>,
}

const CHUNK: usize = 4096;

impl LineIndex {
    fn new(text: &str) -> Self {
        let b = text.as_bytes();
        let line_starts = std::iter::once(0)
            .chain(
                // `\n`, `\r\n`, and a lone `\r` (old Mac files) break lines, as in YAML
                b.iter()
                    .enumerate()
                    .filter(|&(i, &c)| c == b'\n' || (c == b'\r' && b.get(i + 1) != Some(&b'\n')))
                    .map(|(i, _)| i as u32 + 1),
            )
            .collect();
        let chars_before_chunk = (!text.is_ascii()).then(|| {
            let mut n = 0u32;
            let mut out = Vec::with_capacity(b.len() / CHUNK + 1);
            for chunk in b.chunks(CHUNK) {
                out.push(n);
                n += count_chars(chunk);
            }
            out.push(n);
            out
        });
        LineIndex {
            line_starts,
            chars_before_chunk,
        }
    }

    /// Characters of `text` before byte `byte`.
    fn chars_before(&self, text: &str, byte: usize) -> usize {
        match &self.chars_before_chunk {
            None => byte,
            Some(t) => {
                let k = byte / CHUNK;
                t[k] as usize + count_chars(&text.as_bytes()[k * CHUNK..byte]) as usize
            }
        }
    }
}

/// UTF-8 characters in `b` (bytes that do not continue a character).
fn count_chars(b: &[u8]) -> u32 {
    b.iter().filter(|&&c| (c as i8) >= -0x40).count() as u32
}

impl SourceFile {
    pub fn new(name: String, text: String) -> Self {
        SourceFile {
            name,
            text,
            rendered: None,
            index: OnceLock::new(),
        }
    }

    fn index(&self) -> &LineIndex {
        self.index.get_or_init(|| LineIndex::new(&self.text))
    }

    /// 0-based index of the line that holds byte `byte`.
    pub fn line_index(&self, byte: usize) -> usize {
        let starts = &self.index().line_starts;
        match starts.binary_search(&(byte.min(u32::MAX as usize) as u32)) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// Byte range of 0-based line `line`, with its line break; `None` past the last line.
    pub fn line_range(&self, line: usize) -> Option<std::ops::Range<usize>> {
        let starts = &self.index().line_starts;
        let start = *starts.get(line)? as usize;
        let end = starts
            .get(line + 1)
            .map_or(self.text.len(), |&e| e as usize);
        Some(start..end)
    }

    /// Number of lines (a text without a line break has one).
    pub fn line_count(&self) -> usize {
        self.index().line_starts.len()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, byte: u32) -> (usize, usize) {
        let index = self.index();
        let starts = &index.line_starts;
        let line = match starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = starts[line] as usize;
        let mut end = (byte as usize).min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let col = index.chars_before(&self.text, end) - index.chars_before(&self.text, start);
        (line + 1, col + 1)
    }
}

/// Every file read, addressed by [`FileId`].
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId(self.files.len() - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0]
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(i), f))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// An input error: a file, maybe a position in it, and what is wrong.
#[derive(Debug, Clone)]
pub struct InputError {
    /// File name as shown to the user.
    pub file: String,
    /// Which loaded file, when its text was read (for line/column).
    pub file_id: Option<FileId>,
    pub at: Option<ByteSpan>,
    pub message: String,
}

/// What one run read: the files, the objects and the input errors.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: Sources,
    pub objects: Vec<Arc<Object>>,
    pub errors: Vec<InputError>,
    /// Problems in the input that check nothing wrong in it and change no exit code (an
    /// unknown rule in `statelint.io/ignore`); every format shows them.
    pub warnings: Vec<InputError>,
}

/// What to read: plain files, and chart or Kustomize folders to render.
#[derive(Debug, Default)]
pub struct Inputs {
    pub files: Vec<PathBuf>,
    pub roots: Vec<render::Root>,
}

/// Find the manifest files under `paths` (files are taken as given; folders are walked
/// recursively for `*.yaml`, `*.yml`, `*.json`, honouring `.gitignore` and skipping hidden
/// entries). `-` is stdin and is returned as is. Helm charts and Kustomize folders are not
/// walked: they are returned as roots to render, and a path inside one (a template, a values
/// file, a patch) stands for the folder that encloses it.
pub fn discover_inputs(paths: &[PathBuf], errors: &mut Vec<InputError>) -> Inputs {
    let mut inputs = Inputs::default();
    let mut seen_roots = std::collections::HashSet::new();
    let mut add_root = |inputs: &mut Inputs, root: render::Root| {
        let key = std::fs::canonicalize(&root.dir).unwrap_or_else(|_| root.dir.clone());
        if seen_roots.insert(key) {
            inputs.roots.push(root);
        }
    };
    for p in paths {
        if p.as_os_str() == "-" {
            inputs.files.push(p.clone());
            continue;
        }
        if !p.exists() {
            errors.push(InputError {
                file: p.display().to_string(),
                file_id: None,
                at: None,
                message: "no such file or folder".into(),
            });
            continue;
        }
        if let Some(root) = render::enclosing_root(p) {
            add_root(&mut inputs, root);
            continue;
        }
        if p.is_file() {
            inputs.files.push(p.clone());
            continue;
        }
        let mut found = Vec::new();
        let roots = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = roots.clone();
        let walk = ignore::WalkBuilder::new(p)
            .hidden(true)
            .git_ignore(true)
            .git_global(false)
            .git_exclude(true)
            .require_git(false)
            .parents(true)
            .filter_entry(move |e| {
                if e.depth() > 0
                    && e.file_type().is_some_and(|t| t.is_dir())
                    && let Some(kind) = render::root_kind(e.path())
                {
                    seen.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(render::Root::new(kind, e.path()));
                    return false;
                }
                true
            })
            .build();
        for entry in walk {
            match entry {
                Ok(e) => {
                    let path = e.path();
                    if e.file_type().is_some_and(|t| t.is_file()) && is_manifest(path) {
                        found.push(path.to_path_buf());
                    }
                }
                Err(e) => errors.push(InputError {
                    file: p.display().to_string(),
                    file_id: None,
                    at: None,
                    message: format!("cannot walk folder: {e}"),
                }),
            }
        }
        found.sort();
        inputs.files.extend(found);
        let mut roots = std::mem::take(&mut *roots.lock().unwrap_or_else(|e| e.into_inner()));
        roots.sort_by(|a, b| a.dir.cmp(&b.dir));
        for r in roots {
            add_root(&mut inputs, r);
        }
    }
    render::drop_bases(&mut inputs.roots);
    inputs
}

/// The plain manifest files under `paths` ([`discover_inputs`] without the folders to render).
pub fn discover(paths: &[PathBuf], errors: &mut Vec<InputError>) -> Vec<PathBuf> {
    discover_inputs(paths, errors).files
}

fn is_manifest(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// A file that could not be decoded: where, why, and its text as far as it can be shown.
pub struct DecodeError {
    pub at: Option<ByteSpan>,
    pub message: String,
    pub lossy_text: String,
}

/// Read a file (or stdin for `-`) as UTF-8 text within the size limit.
pub fn read_text(path: &Path, limits: &Limits) -> Result<String, DecodeError> {
    let mut bytes = Vec::new();
    let cap = limits.max_file_size;
    let fail = |e: std::io::Error| DecodeError {
        at: None,
        message: format!("cannot read: {e}"),
        lossy_text: String::new(),
    };
    if path.as_os_str() == "-" {
        // `< file`: stdin is the file itself, and its size is known before reading
        #[cfg(unix)]
        if let Ok(meta) = std::fs::metadata("/dev/stdin")
            && meta.is_file()
            && meta.len() > cap
        {
            return Err(too_large(Some(meta.len()), limits));
        }
        let (chunks, total) = read_chunks(&mut std::io::stdin().lock(), cap + 1).map_err(fail)?;
        if total > cap {
            return Err(too_large(None, limits));
        }
        bytes = chunks.concat();
    } else {
        let mut f = std::fs::File::open(path).map_err(fail)?;
        // a regular file that is too large is rejected from its size, unread
        if let Ok(meta) = f.metadata()
            && meta.is_file()
            && meta.len() > cap
        {
            return Err(too_large(Some(meta.len()), limits));
        }
        // a pipe or a file that grows while read: never hold more than the limit + 1 byte;
        // one allocation of the right size (+1 so read_to_end sees the end at once)
        let len = f.metadata().map_or(0, |m| m.len()).min(cap + 1);
        bytes.reserve_exact(len as usize + 1);
        (&mut f)
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(fail)?;
    }
    decode_text(bytes, limits)
}

/// Read at most `max` bytes of a stream of unknown size, in 1 MiB chunks: growing one buffer
/// reallocates it again and again, and the allocator keeps the old blocks for a while, so a
/// pipe just over the limit cost several times the limit.
fn read_chunks(r: &mut dyn Read, max: u64) -> std::io::Result<(Vec<Vec<u8>>, u64)> {
    const CHUNK: usize = 1 << 20;
    let mut chunks = Vec::new();
    let mut total = 0u64;
    while total < max {
        let mut chunk = Vec::with_capacity(CHUNK);
        let want = (CHUNK as u64).min(max - total);
        let n = r.take(want).read_to_end(&mut chunk)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        chunks.push(chunk);
    }
    Ok((chunks, total))
}

fn too_large(size: Option<u64>, limits: &Limits) -> DecodeError {
    const MIB: u64 = 1024 * 1024;
    let size = match size {
        Some(n) if n >= MIB => format!("{} MiB, ", n.div_ceil(MIB)),
        Some(n) => format!("{n} bytes, "),
        None => String::new(),
    };
    let limit = if limits.max_file_size >= MIB && limits.max_file_size.is_multiple_of(MIB) {
        format!("{} MiB", limits.max_file_size / MIB)
    } else {
        format!("{} bytes", limits.max_file_size)
    };
    DecodeError {
        at: None,
        message: format!(
            "file too large ({size}more than the {limit} limit max-file-size): split it into \
             smaller files"
        ),
        lossy_text: String::new(),
    }
}

/// Check size, binary content and UTF-8 of raw input.
pub fn decode_text(bytes: Vec<u8>, limits: &Limits) -> Result<String, DecodeError> {
    if bytes.len() as u64 > limits.max_file_size {
        // read_text stops at limit + 1 bytes: the real size is then unknown
        let known = bytes.len() as u64 > limits.max_file_size + 1;
        return Err(too_large(known.then_some(bytes.len() as u64), limits));
    }
    let (at, message) = if let Some(i) = memchr_nul(&bytes) {
        (i, "binary file (NUL byte): not a YAML or JSON manifest")
    } else {
        match String::from_utf8(bytes) {
            Ok(mut s) => {
                if s.starts_with('\u{feff}') {
                    s.replace_range(0..3, "");
                }
                return Ok(s);
            }
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let bytes = e.into_bytes();
                return Err(DecodeError {
                    at: Some(ByteSpan {
                        start: at as u32,
                        end: at as u32,
                    }),
                    message: "invalid UTF-8: manifests must be UTF-8 text".into(),
                    lossy_text: String::from_utf8_lossy(&bytes).into_owned(),
                });
            }
        }
    };
    Err(DecodeError {
        at: Some(ByteSpan {
            start: at as u32,
            end: at as u32,
        }),
        message: message.into(),
        lossy_text: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

fn memchr_nul(b: &[u8]) -> Option<usize> {
    // `<[u8]>::contains` is core's word-at-a-time memchr; find the position only for binaries
    if !b.contains(&0) {
        return None;
    }
    b.iter().position(|&c| c == 0)
}

/// Parse one file's text into objects; errors are returned next to the objects that did load.
pub fn parse_file(
    file: FileId,
    text: &str,
    default_namespace: &str,
    limits: &Limits,
) -> (Vec<Object>, Vec<(Option<ByteSpan>, String)>) {
    let (docs, load_errors) = yaml::load_all_documents(text, limits);
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for doc in docs {
        let spans = Arc::new(doc.spans);
        let mut push = |value: Value, prefix: String, objects: &mut Vec<Object>| {
            let origin = Origin {
                file,
                spans: spans.clone(),
                prefix: prefix.clone(),
            };
            match Object::from_value(value, Some(origin), default_namespace) {
                Ok(Some(o)) => objects.push(o),
                Ok(None) => {}
                Err(e) => {
                    let at = spans
                        .nearest(&format!("{prefix}{}", e.pointer))
                        .map(|(_, s)| s.value)
                        .or(Some(doc.start));
                    errors.push((at, e.message));
                }
            }
        };
        let is_list = doc
            .value
            .get("kind")
            .and_then(Value::as_str)
            .is_some_and(|k| k.ends_with("List"))
            && doc.value.get("items").is_some_and(Value::is_array);
        if is_list {
            let Value::Object(mut m) = doc.value else {
                unreachable!()
            };
            if let Some(Value::Array(items)) = m.remove("items") {
                for (i, item) in items.into_iter().enumerate() {
                    push(item, format!("/items/{i}"), &mut objects);
                }
            }
        } else {
            push(doc.value, String::new(), &mut objects);
        }
        if objects.len() > limits.max_objects_per_file {
            errors.push((
                Some(doc.start),
                format!(
                    "more than {} objects in one file (limit max-objects)",
                    limits.max_objects_per_file
                ),
            ));
            objects.truncate(limits.max_objects_per_file);
            break;
        }
    }
    for e in load_errors {
        errors.push((Some(e.at), e.message));
    }
    (objects, errors)
}

/// Read and parse the plain files under `paths` (in parallel), appending to `loaded`; charts
/// and Kustomize folders among them are not read (see [`discover_inputs`], [`load_roots`]).
pub fn load_paths(
    paths: &[PathBuf],
    default_namespace: &str,
    limits: &Limits,
    loaded: &mut Loaded,
) -> Vec<Arc<Object>> {
    let files = discover(paths, &mut loaded.errors);
    load_files(&files, default_namespace, limits, loaded)
}

/// Read and parse `files` (in parallel), appending to `loaded`.
pub fn load_files(
    files: &[PathBuf],
    default_namespace: &str,
    limits: &Limits,
    loaded: &mut Loaded,
) -> Vec<Arc<Object>> {
    let base = loaded.sources.len();
    let results: Vec<_> = files
        .par_iter()
        .enumerate()
        .map(|(i, path)| {
            load_one(
                FileId(base + i),
                display_name(path),
                read_text(path, limits),
                default_namespace,
                limits,
            )
        })
        .collect();
    collect(results, loaded)
}

/// Render chart and Kustomize folders (in parallel) and parse what they print, appending to
/// `loaded`. A folder that cannot be rendered (no tool, a broken template, a missing
/// dependency) is one input error; the other folders and files are still checked.
pub fn load_roots(
    roots: &[render::Root],
    config: &render::RenderConfig,
    default_namespace: &str,
    limits: &Limits,
    loaded: &mut Loaded,
) -> Vec<Arc<Object>> {
    let results: Vec<_> = roots
        .par_iter()
        .map(|r| render::render(r, config, default_namespace, limits))
        .collect();
    let mut objects = Vec::new();
    for (root, result) in roots.iter().zip(results) {
        match result {
            Ok(rendered) => {
                let id = FileId(loaded.sources.len());
                let (objs, errs) = parse_file(id, &rendered.text, default_namespace, limits);
                let info = Arc::new(rendered.info);
                let mut file = SourceFile::new(
                    format!("{} (rendered by {})", info.root, info.tool),
                    rendered.text,
                );
                file.rendered = Some(info.clone());
                for (at, message) in errs {
                    let keys = at.map(|s| render::keys_at(&file.text, s.start as usize));
                    let keys: Vec<&str> = keys.iter().flatten().map(String::as_str).collect();
                    let pos = info.position(at.map_or(0, |s| s.start), &keys, None);
                    loaded.errors.push(InputError {
                        file: pos.file,
                        file_id: Some(id),
                        at,
                        message: format!("in the output of `{}`: {message}", info.command),
                    });
                }
                loaded.sources.add(file);
                objects.extend(objs.into_iter().map(Arc::new));
            }
            Err(e) => match e.at {
                Some((name, text, line, column)) => {
                    let file = SourceFile::new(name.clone(), text);
                    let at = file.line_range(line.saturating_sub(1)).map(|r| {
                        let line_text = &file.text[r.clone()];
                        let byte = line_text
                            .char_indices()
                            .nth(column.saturating_sub(1))
                            .map_or(r.start, |(i, _)| r.start + i);
                        yaml::ByteSpan {
                            start: byte as u32,
                            end: byte as u32,
                        }
                    });
                    let id = loaded.sources.add(file);
                    loaded.errors.push(InputError {
                        file: name,
                        file_id: Some(id),
                        at,
                        message: e.message,
                    });
                }
                None => loaded.errors.push(InputError {
                    file: render::show(&root.dir),
                    file_id: None,
                    at: None,
                    message: e.message,
                }),
            },
        }
    }
    objects
}

/// Load in-memory inputs `(name, bytes)` as if they were files (fuzzing, tests, webhook).
pub fn load_bytes(
    inputs: Vec<(String, Vec<u8>)>,
    default_namespace: &str,
    limits: &Limits,
    loaded: &mut Loaded,
) -> Vec<Arc<Object>> {
    let base = loaded.sources.len();
    let results = inputs
        .into_iter()
        .enumerate()
        .map(|(i, (name, bytes))| {
            let text = decode_text(bytes, limits);
            load_one(FileId(base + i), name, text, default_namespace, limits)
        })
        .collect();
    collect(results, loaded)
}

type FileResult = (SourceFile, Vec<Object>, Vec<(Option<ByteSpan>, String)>);

fn load_one(
    id: FileId,
    name: String,
    text: Result<String, DecodeError>,
    default_namespace: &str,
    limits: &Limits,
) -> FileResult {
    match text {
        Ok(text) => {
            let (objects, errors) = parse_file(id, &text, default_namespace, limits);
            (SourceFile::new(name, text), objects, errors)
        }
        Err(e) => (
            SourceFile::new(name, e.lossy_text),
            Vec::new(),
            vec![(e.at, e.message)],
        ),
    }
}

fn collect(results: Vec<FileResult>, loaded: &mut Loaded) -> Vec<Arc<Object>> {
    let mut objects = Vec::new();
    for (file, objs, errs) in results {
        let name = file.name.clone();
        let id = loaded.sources.add(file);
        for (at, message) in errs {
            loaded.errors.push(InputError {
                file: name.clone(),
                file_id: Some(id),
                at,
                message,
            });
        }
        objects.extend(objs.into_iter().map(Arc::new));
    }
    objects
}

fn display_name(p: &Path) -> String {
    if p.as_os_str() == "-" {
        return "-".into();
    }
    let s = p.display().to_string();
    s.strip_prefix("./").map(String::from).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_in_characters() {
        let f = SourceFile::new("x".into(), "ab\nçé: x\r\n\nz".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        let x = f.text.find('x').unwrap() as u32;
        assert_eq!(f.line_col(x), (2, 5));
        assert_eq!(f.line_col(f.text.len() as u32), (4, 2));
        assert_eq!(f.line_count(), 4);
        assert_eq!(f.line_range(1), Some(3..12));
        assert_eq!(f.line_range(4), None);
    }

    #[test]
    fn lone_carriage_returns_break_lines() {
        let f = SourceFile::new("x".into(), "a: 1\rb: 2\r\nc: 3\n".into());
        assert_eq!(f.line_col(5), (2, 1));
        assert_eq!(f.line_col(11), (3, 1));
        assert_eq!(f.line_count(), 4);
    }

    #[test]
    fn columns_on_a_long_non_ascii_line() {
        // chunk boundaries of the character index fall inside multi-byte characters
        let text = "é".repeat(10_000) + "x";
        let f = SourceFile::new("x".into(), text.clone());
        assert_eq!(f.line_col(text.len() as u32 - 1), (1, 10_001));
        assert_eq!(f.line_col(4097), (1, 2049)); // inside a character: its start
    }

    #[test]
    fn size_limit_does_not_read_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.yaml");
        std::fs::File::create(&p).unwrap().set_len(1 << 40).unwrap(); // 1 TiB, sparse
        let e = read_text(&p, &Limits::default()).err().unwrap();
        assert!(
            e.message
                .contains("1048576 MiB, more than the 64 MiB limit max-file-size"),
            "{}",
            e.message
        );
    }

    #[test]
    fn pipes_are_read_up_to_the_limit() {
        let mut r = std::io::repeat(b'a');
        let (chunks, total) = read_chunks(&mut r, 3 << 20).unwrap();
        assert_eq!(total, 3 << 20);
        assert_eq!(chunks.len(), 3);
    }
}
