//! `--format human`: rustc-style diagnostics with codespan-reporting.

use std::io::Write;

use std::collections::HashMap;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic, Label, LabelStyle};
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::termcolor::{Ansi, NoColor, WriteColor};
use codespan_reporting::term::{self, Config};

use super::Report;
use crate::object::FileId;
use crate::rules::{Finding, Severity};
use crate::source::Sources;

/// A source line up to this many bytes is shown whole.
const MAX_LINE: usize = 240;
/// On a longer line (minified JSON, a 1 MB string), this many bytes are shown on each side of
/// the labelled text...
const CONTEXT: usize = 60;
/// ...and an underline covers at most this many bytes.
const MAX_LABEL: usize = 120;
/// Labels of one diagnostic on one long line must fit in this many bytes; others become notes.
const MAX_WINDOW: usize = 400;

/// The loaded files as codespan sees them for one diagnostic: a long line is cut to a window
/// around that diagnostic's labels, so a finding on a minified 1 MB JSON line prints a few
/// hundred bytes, not the whole line (and thousands of such findings stay linear). Lines and
/// columns in the header are those of the whole file.
struct View<'a> {
    sources: &'a Sources,
    /// (file, line) -> labelled byte range on that line
    windows: HashMap<(usize, usize), (usize, usize)>,
}

impl<'a> View<'a> {
    fn new(sources: &'a Sources) -> Self {
        View {
            sources,
            windows: HashMap::new(),
        }
    }

    fn text(&self, file: usize) -> &'a str {
        &self.sources.get(FileId(file)).text
    }

    /// Clamp a label's range to the text, char boundaries and [`MAX_LABEL`] on one line;
    /// record its window. `None` when it does not fit next to the labels already shown on a
    /// long line.
    fn place(&mut self, file: usize, range: Range<usize>) -> Option<Range<usize>> {
        let src = self.sources.get(FileId(file));
        let text = src.text.as_str();
        let end = floor_char(text, range.end.min(text.len()));
        let start = floor_char(text, range.start.min(end));
        let (l0, l1) = (src.line_index(start), src.line_index(end));
        let end = if l0 == l1 && end - start > MAX_LABEL {
            floor_char(text, start + MAX_LABEL)
        } else {
            end
        };
        let points: Vec<(usize, usize, usize)> = if l0 == l1 {
            vec![(l0, start, end)]
        } else {
            vec![(l0, start, start), (l1, end, end)]
        };
        let long = |line: usize| {
            src.line_range(line)
                .is_some_and(|r| r.end - r.start > MAX_LINE)
        };
        let merged: Vec<((usize, usize), (usize, usize))> = points
            .iter()
            .map(|&(line, lo, hi)| {
                let w = match self.windows.get(&(file, line)) {
                    Some(&(a, b)) => (a.min(lo), b.max(hi)),
                    None => (lo, hi),
                };
                ((file, line), w)
            })
            .collect();
        if merged
            .iter()
            .any(|&((_, line), (a, b))| long(line) && b - a > MAX_WINDOW)
        {
            return None;
        }
        self.windows.extend(merged);
        Some(start..end)
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

impl<'a> Files<'a> for View<'a> {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, FilesError> {
        Ok(&self.sources.get(FileId(id)).name)
    }

    fn source(&'a self, id: usize) -> Result<&'a str, FilesError> {
        Ok(self.text(id))
    }

    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, FilesError> {
        Ok(self.sources.get(FileId(id)).line_index(byte_index))
    }

    fn line_range(&'a self, id: usize, line_index: usize) -> Result<Range<usize>, FilesError> {
        let src = self.sources.get(FileId(id));
        let full = src.line_range(line_index).ok_or(FilesError::LineTooLarge {
            given: line_index,
            max: src.line_count() - 1,
        })?;
        if full.end - full.start <= MAX_LINE {
            return Ok(full);
        }
        let text = self.text(id);
        let (lo, hi) = self
            .windows
            .get(&(id, line_index))
            .copied()
            .unwrap_or((full.start, full.start));
        let start = floor_char(text, lo.saturating_sub(CONTEXT).max(full.start));
        let end = ceil_char(text, (hi + CONTEXT).min(full.end));
        Ok(start..end)
    }

    fn column_number(
        &'a self,
        id: usize,
        _line_index: usize,
        byte_index: usize,
    ) -> Result<usize, FilesError> {
        let byte = byte_index.min(u32::MAX as usize) as u32;
        Ok(self.sources.get(FileId(id)).line_col(byte).1)
    }
}

pub fn write(r: &Report<'_>, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
    if color {
        let mut w = Ansi::new(out);
        render(r, &mut w)
    } else {
        let mut w = NoColor::new(out);
        render(r, &mut w)
    }
}

fn render(r: &Report<'_>, w: &mut dyn WriteColor) -> std::io::Result<()> {
    let config = Config::default();
    let emit = |w: &mut dyn WriteColor, view: &View<'_>, d: &Diagnostic<usize>| {
        term::emit_to_write_style(w, &config, view, d).map_err(std::io::Error::other)
    };
    let inputs = r
        .errors
        .iter()
        .map(|e| (e, Diagnostic::error()))
        .chain(r.warnings.iter().map(|e| (e, Diagnostic::warning())));
    for (e, d) in inputs {
        let mut view = View::new(r.sources);
        let mut d = d.with_message(format!("{}: {}", e.file, e.message));
        if let Some(loc) = r.error_location(e) {
            let file = loc.file_id.0;
            let start = loc.span.start as usize;
            let end = (loc.span.end as usize).max(start + 1);
            d = d.with_message(e.message.clone());
            if let Some(range) = view.place(file, start..end) {
                d = d.with_labels(vec![Label::primary(file, range)]);
            }
            d.notes.extend(rendered_from(&loc));
        }
        emit(w, &view, &d)?;
    }
    let render_finding = |w: &mut dyn WriteColor, f: &Finding, suppressed: bool| {
        let mut view = View::new(r.sources);
        let mut d = match f.severity {
            Severity::Error => Diagnostic::error(),
            Severity::Warning => Diagnostic::warning(),
        }
        .with_code(format!("{}/{}", f.rule.code, f.rule.slug))
        .with_message(f.message.clone());
        let mut labels = Vec::new();
        let mut rendered_note = None;
        match r.locate(&f.at) {
            Some(loc) => {
                rendered_note = rendered_from(&loc);
                // the node may sit in a companion (a Service's clusterIP): name both objects
                let text = if f.at.object.key == f.object.key {
                    format!("in {}", f.object.key)
                } else {
                    format!("in {}, for {}", f.at.object.key, f.object.key)
                };
                match view.place(loc.file_id.0, span_range(&loc)) {
                    Some(range) => labels.push(
                        Label::new(LabelStyle::Primary, loc.file_id.0, range).with_message(text),
                    ),
                    None => d.notes.push(text),
                }
            }
            None => {
                let mut text = if f.at.object.key == f.object.key {
                    format!("in {}", f.object.key)
                } else {
                    format!("in {}, for {}", f.at.object.key, f.object.key)
                };
                if let Some(at) = r.cluster_at(&f.at) {
                    text.push_str(&format!(" {}", at.describe()));
                }
                d.notes.push(text);
            }
        }
        for (a, text) in &f.notes {
            let placed = r.locate(a).and_then(|loc| {
                let range = view.place(loc.file_id.0, span_range(&loc));
                if range.is_none() {
                    d.notes
                        .push(format!("{text} ({}:{}:{})", loc.file, loc.line, loc.column));
                    return Some(());
                }
                labels.push(
                    Label::new(LabelStyle::Secondary, loc.file_id.0, range?)
                        .with_message(text.clone()),
                );
                Some(())
            });
            if placed.is_none() {
                match r.cluster_at(a) {
                    Some(at) if a.object.key != f.at.object.key => {
                        d.notes
                            .push(format!("{text} ({}, {})", a.object.key, at.describe()))
                    }
                    Some(at) if !at.field.is_empty() => {
                        d.notes.push(format!("{text} (at {})", at.field))
                    }
                    _ => d.notes.push(text.clone()),
                }
            }
        }
        d = d.with_labels(labels);
        if let Some(role) = &f.role {
            d.notes.push(format!("role: {}", role.describe()));
        }
        if !f.help.is_empty() {
            d.notes.push(format!("help: {}", f.help));
        }
        d.notes.extend(rendered_note);
        if suppressed {
            let why = f
                .object
                .ignore_reason
                .clone()
                .unwrap_or_else(|| "no reason given".into());
            d.notes
                .push(format!("suppressed by statelint.io/ignore: {why}"));
        }
        emit(w, &view, &d)
    };
    for (f, _) in r.sorted_findings() {
        render_finding(w, f, false)?;
    }
    if r.show_suppressed {
        for f in &r.outcome.suppressed {
            render_finding(w, f, true)?;
        }
    }
    let s = &r.summary;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if let Some(ns) = s.namespaces {
        return writeln!(
            w,
            "{}: {}, {} ({} suppressed), {} in {}, {}, {}",
            if s.errors > 0 || !r.errors.is_empty() {
                "failed"
            } else {
                "audited"
            },
            plural(s.errors, "error"),
            plural(s.warnings, "warning"),
            s.suppressed,
            plural(r.errors.len(), "unreadable object"),
            plural(ns, "namespace"),
            plural(s.objects, "object"),
            plural(s.statefulsets, "StatefulSet"),
        );
    }
    writeln!(
        w,
        "{}: {}, {} ({} suppressed), {} in {}, {}, {}",
        if s.errors > 0 || !r.errors.is_empty() {
            "failed"
        } else {
            "checked"
        },
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        s.suppressed,
        plural(r.errors.len(), "input error"),
        if s.empty_files > 0 {
            format!("{} ({} empty)", plural(s.files, "file"), s.empty_files)
        } else {
            plural(s.files, "file")
        },
        plural(s.objects, "object"),
        plural(s.statefulsets, "StatefulSet"),
    )
}

/// The note under a diagnostic on rendered input: the repository file and line it came from,
/// and the command that rendered what the snippet shows.
fn rendered_from(loc: &super::Location) -> Option<String> {
    let at = loc.rendered.as_ref()?;
    Some(format!(
        "note: rendered from {}:{}:{} by `{}` (the snippet shows the rendered manifest)",
        loc.file, loc.line, loc.column, at.command
    ))
}

fn span_range(loc: &super::Location) -> std::ops::Range<usize> {
    let start = loc.span.start as usize;
    let end = (loc.span.end as usize).max(start);
    start..end
}
