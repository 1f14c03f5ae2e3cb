//! A small YAML writer for JSON values (block style, as `kubectl get -o yaml` prints): the
//! manifests `statelint audit --show-source` prints and the reports of `--format policyreport`.
//!
//! Strings are plain when YAML 1.1 and 1.2 readers both read them back as the same string, a
//! literal block (`|`) when they are multi-line text that a block keeps exactly, and
//! double-quoted with JSON escapes (valid YAML) otherwise.

use serde_json::Value;

/// `v` as a YAML document (ends with a newline).
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => map(m, 0, false, &mut out),
        Value::Array(a) if !a.is_empty() => seq(a, 0, false, &mut out),
        other => {
            scalar(other, 0, &mut out);
            out.push('\n');
        }
    }
    out
}

fn pad(n: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// A mapping at `indent`; `inline`: its first key goes on the current line (after `- `).
fn map(m: &serde_json::Map<String, Value>, indent: usize, inline: bool, out: &mut String) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !inline {
            pad(indent, out);
        }
        key(k, out);
        out.push(':');
        value(v, indent, out);
    }
}

/// The value after `key:`.
fn value(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            map(m, indent + 2, false, out);
        }
        // sequences in mappings at the key's indentation, as kubectl prints them
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            seq(a, indent, false, out);
        }
        other => {
            out.push(' ');
            scalar(other, indent + 2, out);
            out.push('\n');
        }
    }
}

/// A sequence at `indent`; `inline`: its first item goes on the current line (`- - x`).
fn seq(a: &[Value], indent: usize, inline: bool, out: &mut String) {
    for (i, v) in a.iter().enumerate() {
        if i > 0 || !inline {
            pad(indent, out);
        }
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => map(m, indent + 2, true, out),
            Value::Array(inner) if !inner.is_empty() => seq(inner, indent + 2, true, out),
            other => {
                scalar(other, indent + 2, out);
                out.push('\n');
            }
        }
    }
}

fn key(k: &str, out: &mut String) {
    if plain_ok(k) {
        out.push_str(k);
    } else {
        out.push_str(&Value::from(k).to_string());
    }
}

/// A scalar (or an empty collection); `indent`: where a block's lines go.
fn scalar(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
        Value::String(s) => {
            if plain_ok(s) {
                out.push_str(s);
            } else if block_ok(s) {
                // `|` keeps one final newline, `|-` none; more trailing newlines are quoted
                out.push_str(if s.ends_with('\n') { "|" } else { "|-" });
                for line in s.strip_suffix('\n').unwrap_or(s).split('\n') {
                    out.push('\n');
                    if !line.is_empty() {
                        pad(indent, out);
                        out.push_str(line);
                    }
                }
            } else {
                out.push_str(&Value::from(s.as_str()).to_string());
            }
        }
    }
}

/// Multi-line text a literal block keeps exactly: printable, no trailing spaces or tabs that
/// matter, a first line that does not start with a space (the block's indentation would be
/// guessed from it), at most one final newline.
fn block_ok(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\n'])
        && !s.ends_with("\n\n")
        && s.chars().all(|c| c == '\n' || c == '\t' || !c.is_control())
        && !s.contains('\u{feff}')
        && s.split('\n').all(|l| !l.ends_with([' ', '\t']))
}

/// Words YAML 1.1 or 1.2 reads as something other than a string.
fn special(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "null", "Null", "NULL", "~", "true", "True", "TRUE", "false", "False", "FALSE", "yes",
        "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "Y", "n", "N",
        ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN", "<<",
        "=",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    // anything that starts like a number (ints, floats, octal, hex, sexagesimal, dates)
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    t.starts_with(|c: char| c.is_ascii_digit()) || (t.starts_with('.') && t.len() > 1)
}

fn plain_ok(s: &str) -> bool {
    if s.is_empty() || special(s) {
        return false;
    }
    let mut chars = s.chars();
    let first = chars.next().unwrap_or(' ');
    let second = chars.next();
    // `-x`, `?x`, `:x` start a plain scalar; `- `, `-` alone start something else
    let indicator = match first {
        '-' | '?' | ':' => second.is_none_or(|c| c.is_whitespace()),
        c => ",[]{}#&*!|>'\"%@`".contains(c) || c.is_whitespace(),
    };
    if indicator {
        return false;
    }
    if s.ends_with([' ', ':']) || s.contains(": ") || s.contains(" #") {
        return false;
    }
    s.chars()
        .all(|c| !c.is_control() && c != '\u{feff}' && c != '\u{85}')
        && !s.contains(['\u{2028}', '\u{2029}'])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Read back with the YAML reader `check` uses (go-yaml's rules): the same value.
    fn round_trip(v: &Value) {
        let text = to_string(v);
        let (docs, error) =
            crate::source::yaml::load_documents(&text, &crate::source::Limits::default());
        assert!(error.is_none(), "{error:?}\n{text}");
        assert_eq!(docs.len(), 1, "{text}");
        assert_eq!(&docs[0].value, v, "\n{text}");
    }

    #[test]
    fn kubectl_style_and_exact_round_trips() {
        let v = json!({
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "zk", "labels": {"app.kubernetes.io/name": "zk"},
                "annotations": {"a": "yes", "b": "1.0", "c": "", "d": "x: y", "e": "#c", "f": "0x1F"}},
            "spec": {
                "replicas": 3,
                "template": {"spec": {"containers": [{"name": "zk", "args": ["-c", "a\nb\n"],
                    "env": [{"name": "X", "value": "  lead"}, {"name": "Y", "value": "tail \nz"}]}]}},
                "empty": {}, "none": [], "nested": [[1, 2], []], "null": null, "t": true
            }
        });
        let text = to_string(&v);
        assert!(
            text.starts_with("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n"),
            "{text}"
        );
        assert!(
            text.contains("      containers:\n      - args:\n        - -c\n        - |\n          a\n          b\n"),
            "{text}"
        );
        assert!(
            text.contains("  nested:\n  - - 1\n    - 2\n  - []\n"),
            "{text}"
        );
        assert!(text.contains("a: \"yes\""), "{text}");
        round_trip(&v);
        for s in [
            "",
            "-",
            "- x",
            "on",
            "012",
            "1e3",
            "a: b",
            "x #y",
            "k:",
            "é",
            "tab\there",
            "\u{7f}",
            "ends\n\n",
            "\nlead",
        ] {
            round_trip(&json!({"k": s, "l": [s]}));
        }
    }
}
