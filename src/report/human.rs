//! `--format human`: rustc-style diagnostics with codespan-reporting.

use std::io::Write;

use codespan_reporting::diagnostic::{Diagnostic, Label, LabelStyle};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::termcolor::{Ansi, NoColor, WriteColor};
use codespan_reporting::term::{self, Config};

use super::Report;
use crate::rules::{Finding, Severity};

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
    let mut files = SimpleFiles::new();
    let ids: Vec<usize> = r
        .sources
        .iter()
        .map(|(_, f)| files.add(f.name.clone(), f.text.as_str()))
        .collect();
    let config = Config::default();
    let emit = |w: &mut dyn WriteColor, d: &Diagnostic<usize>| -> std::io::Result<()> {
        term::emit_to_write_style(w, &config, &files, d).map_err(std::io::Error::other)
    };
    for e in r.errors {
        let mut d = Diagnostic::error().with_message(format!("{}: {}", e.file, e.message));
        if let Some(loc) = r.error_location(e) {
            let end = loc.span.end.max(loc.span.start + 1) as usize;
            let end = end.min(r.sources.get(loc.file_id).text.len());
            let start = (loc.span.start as usize).min(end);
            d = d
                .with_message(e.message.clone())
                .with_labels(vec![Label::primary(ids[loc.file_id.0], start..end)]);
        }
        emit(w, &d)?;
    }
    let render_finding = |w: &mut dyn WriteColor, f: &Finding, suppressed: bool| {
        let mut d = match f.severity {
            Severity::Error => Diagnostic::error(),
            Severity::Warning => Diagnostic::warning(),
        }
        .with_code(format!("{}/{}", f.rule.code, f.rule.slug))
        .with_message(f.message.clone());
        let mut labels = Vec::new();
        match r.locate(&f.at) {
            Some(loc) => {
                // the node may sit in a companion (a Service's clusterIP): name both objects
                let text = if f.at.object.key == f.object.key {
                    format!("in {}", f.object.key)
                } else {
                    format!("in {}, for {}", f.at.object.key, f.object.key)
                };
                labels.push(
                    Label::new(LabelStyle::Primary, ids[loc.file_id.0], span_range(&loc))
                        .with_message(text),
                )
            }
            None => d.notes.push(format!("in {}", f.object.key)),
        }
        for (a, text) in &f.notes {
            if let Some(loc) = r.locate(a) {
                labels.push(
                    Label::new(LabelStyle::Secondary, ids[loc.file_id.0], span_range(&loc))
                        .with_message(text.clone()),
                );
            } else {
                d.notes.push(text.clone());
            }
        }
        d = d.with_labels(labels);
        if !f.help.is_empty() {
            d.notes.push(format!("help: {}", f.help));
        }
        if suppressed {
            let why = f
                .object
                .ignore_reason
                .clone()
                .unwrap_or_else(|| "no reason given".into());
            d.notes
                .push(format!("suppressed by statelint.io/ignore: {why}"));
        }
        emit(w, &d)
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
        plural(s.files, "file"),
        plural(s.objects, "object"),
        plural(s.statefulsets, "StatefulSet"),
    )
}

fn span_range(loc: &super::Location) -> std::ops::Range<usize> {
    let start = loc.span.start as usize;
    let end = (loc.span.end as usize).max(start);
    start..end
}
