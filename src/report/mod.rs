//! Turning findings and input errors into output: human (codespan-reporting), json, sarif,
//! junit, github.

use std::io::Write;

use crate::rules::{Anchor, Finding, Outcome, Severity};
use crate::source::yaml::ByteSpan;
use crate::source::{InputError, Sources};

pub mod github;
pub mod human;
pub mod json;
pub mod junit;
pub mod sarif;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
    Github,
}

/// Everything a run produced.
pub struct Report<'a> {
    pub sources: &'a Sources,
    pub outcome: &'a Outcome,
    pub errors: &'a [InputError],
    pub summary: Summary,
    /// List suppressed findings too (human format).
    pub show_suppressed: bool,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub files: usize,
    pub objects: usize,
    pub statefulsets: usize,
    pub errors: usize,
    pub warnings: usize,
    pub suppressed: usize,
}

/// A resolved position: file name, byte span, 1-based line and column.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: String,
    pub file_id: crate::object::FileId,
    pub span: ByteSpan,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl Report<'_> {
    pub fn new<'a>(
        sources: &'a Sources,
        outcome: &'a Outcome,
        errors: &'a [InputError],
        files: usize,
        objects: usize,
        statefulsets: usize,
    ) -> Report<'a> {
        let count = |s| outcome.findings.iter().filter(|f| f.severity == s).count();
        Report {
            sources,
            outcome,
            errors,
            summary: Summary {
                files,
                objects,
                statefulsets,
                errors: count(Severity::Error),
                warnings: count(Severity::Warning),
                suppressed: outcome.suppressed.len(),
            },
            show_suppressed: false,
        }
    }

    /// Where an anchor is in the source, if it came from a file.
    pub fn locate(&self, a: &Anchor) -> Option<Location> {
        let origin = a.object.origin.as_ref()?;
        let ns = origin.span(&a.pointer)?;
        let span = if a.on_key {
            ns.key.unwrap_or(ns.value)
        } else {
            ns.value
        };
        // a missing node resolves to an ancestor mapping: show its key, not the whole block
        let span = if !a.on_key && !origin.has(&a.pointer) {
            ns.key.unwrap_or(span)
        } else {
            span
        };
        let span = match &a.needle {
            Some(n) if !n.is_empty() => {
                let text = &self.sources.get(origin.file).text;
                text.get(span.start as usize..span.end as usize)
                    .and_then(|t| t.find(n.as_str()))
                    .map_or(span, |i| ByteSpan {
                        start: span.start + i as u32,
                        end: span.start + (i + n.len()) as u32,
                    })
            }
            _ => span,
        };
        Some(self.location(origin.file, span))
    }

    pub fn location(&self, file_id: crate::object::FileId, span: ByteSpan) -> Location {
        let file = self.sources.get(file_id);
        let (line, column) = file.line_col(span.start);
        let (end_line, end_column) = file.line_col(span.end.max(span.start));
        Location {
            file: file.name.clone(),
            file_id,
            span,
            line,
            column,
            end_line,
            end_column,
        }
    }

    /// Position of an input error.
    pub fn error_location(&self, e: &InputError) -> Option<Location> {
        Some(self.location(e.file_id?, e.at?))
    }

    /// Findings sorted by file, position and code.
    pub fn sorted_findings(&self) -> Vec<(&Finding, Option<Location>)> {
        let mut v: Vec<_> = self
            .outcome
            .findings
            .iter()
            .map(|f| (f, self.locate(&f.at)))
            .collect();
        v.sort_by(|(fa, la), (fb, lb)| {
            let ka = la.as_ref().map(|l| (l.file.clone(), l.span.start));
            let kb = lb.as_ref().map(|l| (l.file.clone(), l.span.start));
            ka.cmp(&kb)
                .then_with(|| fa.object.key.cmp(&fb.object.key))
                .then_with(|| fa.rule.code.cmp(fb.rule.code))
                .then_with(|| fa.message.cmp(&fb.message))
        });
        v
    }

    pub fn write(&self, format: Format, color: bool, out: &mut dyn Write) -> std::io::Result<()> {
        match format {
            Format::Human => human::write(self, color, out),
            Format::Json => json::write(self, out),
            Format::Sarif => sarif::write(self, out),
            Format::Junit => junit::write(self, out),
            Format::Github => github::write(self, out),
        }
    }
}
