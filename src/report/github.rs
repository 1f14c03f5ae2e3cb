//! `--format github`: GitHub Actions workflow commands, which the runner turns into
//! annotations on the pull request's diff:
//!
//! ```text
//! ::error file=k8s/kafka.yaml,line=12,col=14,endLine=12,endColumn=18,title=SL001 headless-service::Service kafka-hs ...%0Ahelp: ...
//! ```
//!
//! Errors are `::error`, warnings `::warning`, suppressed findings (with `--show-suppressed`)
//! `::notice`; input errors are `::error` titled `input error`. Paths are relative to the
//! working folder (run from the repository root). A plain summary line closes the output.

use std::io::Write;

use super::{FileRef, Location, Report, file_ref, suppression_reason};
use crate::rules::{Finding, Severity};

/// Escape a command's message (`%`, CR, LF).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a property value (also `:` and `,`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn properties(r: &Report<'_>, file: &str, loc: Option<&Location>, title: &str) -> String {
    let mut props = Vec::new();
    let path = match file_ref(file, &r.base()) {
        FileRef::Relative(p) | FileRef::Absolute(p) => Some(p),
        FileRef::Stdin => None,
    };
    if let Some(p) = path {
        props.push(format!("file={}", escape_property(&p)));
        if let Some(l) = loc {
            props.push(format!("line={}", l.line));
            props.push(format!("col={}", l.column));
            props.push(format!("endLine={}", l.end_line));
            if l.end_line == l.line {
                // GitHub's endColumn is the last column of the annotation (inclusive)
                let end = if l.end_column > l.column {
                    l.end_column - 1
                } else {
                    l.column
                };
                props.push(format!("endColumn={end}"));
            }
        }
    }
    props.push(format!("title={}", escape_property(title)));
    props.join(",")
}

fn finding(
    r: &Report<'_>,
    f: &Finding,
    loc: Option<Location>,
    suppressed: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let command = match (suppressed, f.severity) {
        (true, _) => "notice",
        (false, Severity::Error) => "error",
        (false, Severity::Warning) => "warning",
    };
    let mut message = format!("{} (in {})", f.message, f.object.key);
    if !f.help.is_empty() {
        message.push_str("\nhelp: ");
        message.push_str(&f.help);
    }
    if let Some(at) = loc.as_ref().and_then(|l| l.rendered.as_ref()) {
        message.push('\n');
        message.push_str(&at.describe());
    }
    if let Some(at) = r.cluster_at(&f.at) {
        message.push('\n');
        if f.at.object.key != f.object.key {
            message.push_str(&format!("{} ", f.at.object.key));
        }
        message.push_str(&at.describe());
    }
    if suppressed {
        let why = suppression_reason(f).unwrap_or("no reason given");
        message.push_str(&format!("\nsuppressed by statelint.io/ignore: {why}"));
    }
    let file = loc.as_ref().map(|l| l.file.clone());
    let props = match &file {
        Some(file) => properties(
            r,
            file,
            loc.as_ref(),
            &format!("{} {}", f.rule.code, f.rule.slug),
        ),
        None => format!(
            "title={}",
            escape_property(&format!("{} {}", f.rule.code, f.rule.slug))
        ),
    };
    writeln!(out, "::{command} {props}::{}", escape_data(&message))
}

pub fn write(r: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    let inputs =
        (r.errors.iter().map(|e| (e, "error"))).chain(r.warnings.iter().map(|e| (e, "warning")));
    for (e, level) in inputs {
        let loc = r.error_location(e);
        let title = format!("statelint input {level}");
        let props = if r.cluster {
            // an object of the cluster, not a file
            format!("title={}", escape_property(&title))
        } else {
            properties(r, &e.file, loc.as_ref(), &title)
        };
        writeln!(
            out,
            "::{level} {props}::{}",
            escape_data(&format!("{}: {}", e.file, e.message))
        )?;
    }
    for (f, loc) in r.sorted_findings() {
        finding(r, f, loc, false, out)?;
    }
    if r.show_suppressed {
        for (f, loc) in r.sorted_suppressed() {
            finding(r, f, loc, true, out)?;
        }
    }
    let s = &r.summary;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    writeln!(
        out,
        "statelint: {}, {} ({} suppressed), {} in {}, {}, {}",
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        s.suppressed,
        plural(r.errors.len(), "input error"),
        match s.namespaces {
            Some(n) => plural(n, "namespace"),
            None => plural(s.files, "file"),
        },
        plural(s.objects, "object"),
        plural(s.statefulsets, "StatefulSet"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::fixture;

    #[test]
    fn escapes() {
        assert_eq!(escape_data("50%\r\na:b,c"), "50%25%0D%0Aa:b,c");
        assert_eq!(escape_property("50%\na:b,c"), "50%25%0Aa%3Ab%2Cc");
    }

    #[test]
    fn commands() {
        let fx = fixture();
        let mut r = fx.report();
        let mut out = Vec::new();
        write(&r, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert_eq!(
            lines[0],
            "::error file=broken.yaml,line=1,col=7,endLine=1,endColumn=7,title=statelint input error::broken.yaml: did not find expected node content"
        );
        assert_eq!(
            lines[1],
            "::error file=missing.yaml,title=statelint input error::missing.yaml: no such file or folder"
        );
        assert_eq!(
            lines[3],
            "::error file=manifests/dir with space/kafka%2Czk.yaml,line=26,col=14,endLine=26,endColumn=21,title=SL001 headless-service::Service kafka-hs has clusterIP 10.0.0.1; a StatefulSet needs a headless Service: <b> & \"q\" (in StatefulSet a&b<c>/kafka)%0Ahelp: set clusterIP: None%0Aand re-create the Service"
        );
        assert!(
            lines[2]
                .starts_with("::warning file=manifests/dir with space/kafka%2Czk.yaml,line=19,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[2]
                .contains("title=SL009 odd-replicas::ZooKeeper zk has 4 replicas: 50%25, a::b,c")
        );
        assert!(lines[4].starts_with("statelint: 1 error, 1 warning (1 suppressed)"));

        r.show_suppressed = true;
        let mut out = Vec::new();
        write(&r, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let notice = text.lines().find(|l| l.starts_with("::notice")).unwrap();
        assert!(notice.contains("title=SL002 pdb-quorum::"), "{notice}");
        assert!(notice.contains("%0Asuppressed by statelint.io/ignore: PDB is managed"));
    }
}
