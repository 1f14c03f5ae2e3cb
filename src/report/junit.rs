//! `--format junit`: JUnit XML for CI test-report viewers (GitLab, Jenkins, Azure...).
//!
//! One `<testsuite>` per rule that ran, one `<testcase>` per checked StatefulSet (and per
//! other object the rule reported on) named `<namespace>/<name>` with classname
//! `<code> <slug>`. A case with findings has one `<failure>` (message: the findings'
//! messages; body: `file:line:col`, message and help of each); a case whose findings are all
//! suppressed by `statelint.io/ignore` is `<skipped>`. Input errors are errored test cases in a
//! last suite named `input`; input warnings are passing cases there carrying the warning in
//! `<system-out>`. Written with `quick-junit`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use quick_junit as junit;

use super::{Location, Report, suppression_reason};
use crate::object::ObjectKey;
use crate::rules::{Finding, RuleMeta};

fn case_name(key: &ObjectKey) -> String {
    if key.kind == "StatefulSet" {
        format!("{}/{}", key.namespace, key.name)
    } else {
        format!("{}/{}/{}", key.namespace, key.kind, key.name)
    }
}

fn position(r: &Report<'_>, f: &Finding, loc: &Option<Location>) -> String {
    if let Some(at) = r.cluster_at(&f.at) {
        return format!("{} {}", f.at.object.key, at.describe());
    }
    match loc {
        Some(l) => match &l.rendered {
            Some(at) => format!("{}:{}:{} ({})", l.file, l.line, l.column, at.describe()),
            None => format!("{}:{}:{}", l.file, l.line, l.column),
        },
        None => "(no position)".into(),
    }
}

#[derive(Default)]
struct Case<'r> {
    findings: Vec<(&'r Finding, Option<Location>)>,
    suppressed: Vec<&'r Finding>,
}

struct Suite<'r> {
    rule: &'static RuleMeta,
    cases: BTreeMap<ObjectKey, Case<'r>>,
}

/// The JUnit XML document.
pub fn to_string(r: &Report<'_>) -> String {
    let mut suites: Vec<Suite<'_>> = r
        .rules
        .iter()
        .map(|&rule| Suite {
            rule,
            cases: r
                .objects
                .iter()
                .filter(|o| o.statefulset().is_some())
                .map(|o| (o.key.clone(), Case::default()))
                .collect(),
        })
        .collect();
    let mut suite_of = |rule: &RuleMeta| -> usize {
        match suites.iter().position(|s| s.rule.code == rule.code) {
            Some(i) => i,
            None => {
                let meta = crate::rules::lookup(rule.code).expect("registered rule");
                suites.push(Suite {
                    rule: meta,
                    cases: BTreeMap::new(),
                });
                suites.len() - 1
            }
        }
    };
    let mut by_rule: Vec<(usize, &Finding, Option<Location>, bool)> = Vec::new();
    for (f, loc) in r.sorted_findings() {
        by_rule.push((suite_of(f.rule), f, loc, false));
    }
    for (f, loc) in r.sorted_suppressed() {
        by_rule.push((suite_of(f.rule), f, loc, true));
    }
    for (i, f, loc, suppressed) in by_rule {
        let case = suites[i].cases.entry(f.object.key.clone()).or_default();
        if suppressed {
            case.suppressed.push(f);
        } else {
            case.findings.push((f, loc));
        }
    }
    suites.sort_by_key(|s| s.rule.code);

    let mut report = junit::Report::new("statelint");
    for s in &suites {
        let classname = format!("{} {}", s.rule.code, s.rule.slug);
        let mut suite = junit::TestSuite::new(classname.as_str());
        for (key, case) in &s.cases {
            let status = if !case.findings.is_empty() {
                let message = case
                    .findings
                    .iter()
                    .map(|(f, _)| f.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ");
                let severity = case
                    .findings
                    .iter()
                    .map(|(f, _)| f.severity)
                    .max()
                    .map_or("error", |s| s.as_str());
                let mut text = String::new();
                for (f, loc) in &case.findings {
                    let _ = writeln!(
                        text,
                        "{}: {}: {} [{} {}]",
                        position(r, f, loc),
                        f.severity.as_str(),
                        f.message,
                        f.rule.code,
                        f.rule.slug
                    );
                    if !f.help.is_empty() {
                        let _ = writeln!(text, "  help: {}", f.help);
                    }
                }
                let mut st = junit::TestCaseStatus::non_success(junit::NonSuccessKind::Failure);
                st.set_message(message)
                    .set_type(severity)
                    .set_description(text);
                st
            } else if let Some(f) = case.suppressed.first() {
                let why = suppression_reason(f).unwrap_or("no reason given");
                let mut st = junit::TestCaseStatus::skipped();
                st.set_message(format!("suppressed by statelint.io/ignore: {why}"));
                st
            } else {
                junit::TestCaseStatus::success()
            };
            let mut tc = junit::TestCase::new(case_name(key), status);
            tc.set_classname(classname.as_str());
            suite.add_test_case(tc);
        }
        report.add_test_suite(suite);
    }
    if !r.errors.is_empty() || !r.warnings.is_empty() {
        let mut suite = junit::TestSuite::new("input");
        for e in r.errors {
            let pos = input_position(r, e);
            let mut st = junit::TestCaseStatus::non_success(junit::NonSuccessKind::Error);
            st.set_message(e.message.as_str())
                .set_type("input-error")
                .set_description(format!("{pos}: {}", e.message));
            let mut tc = junit::TestCase::new(e.file.as_str(), st);
            tc.set_classname("input");
            suite.add_test_case(tc);
        }
        // a warning checks nothing that failed: a passing case that carries it
        for e in r.warnings {
            let pos = input_position(r, e);
            let mut tc =
                junit::TestCase::new(format!("warning {pos}"), junit::TestCaseStatus::success());
            tc.set_classname("input")
                .set_system_out(format!("{pos}: warning: {}", e.message));
            suite.add_test_case(tc);
        }
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .expect("a JUnit report of strings serializes")
}

fn input_position(r: &Report<'_>, e: &crate::source::InputError) -> String {
    match r.error_location(e) {
        Some(l) => format!("{}:{}:{}", e.file, l.line, l.column),
        None => e.file.clone(),
    }
}

pub fn write(r: &Report<'_>, out: &mut dyn Write) -> std::io::Result<()> {
    out.write_all(to_string(r).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::fixture;

    fn attr<'a>(n: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
        n.attribute(name).unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn parses_as_xml_with_correct_counts() {
        let fx = fixture();
        let xml = to_string(&fx.report());
        let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "testsuites");
        let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
        // one suite per rule + input errors
        let n = crate::rules::all().len();
        assert_eq!(suites.len(), n + 1, "{xml}");
        let count = |tag: &str| doc.descendants().filter(|n| n.has_tag_name(tag)).count();
        let cases = count("testcase");
        // 2 StatefulSets x every rule + 2 input errors
        assert_eq!(cases, 2 * n + 2, "{xml}");
        assert_eq!(attr(root, "tests"), (2 * n + 2).to_string());
        assert_eq!(attr(root, "failures"), count("failure").to_string());
        assert_eq!(attr(root, "failures"), "2");
        assert_eq!(attr(root, "errors"), "2");
        assert_eq!(attr(root, "skipped"), "1");
        for s in &suites {
            let n = s.children().filter(|c| c.has_tag_name("testcase")).count();
            assert_eq!(attr(*s, "tests"), n.to_string());
            let f = s
                .descendants()
                .filter(|c| c.has_tag_name("failure"))
                .count();
            assert_eq!(attr(*s, "failures"), f.to_string());
            let k = s
                .descendants()
                .filter(|c| c.has_tag_name("skipped"))
                .count();
            assert_eq!(attr(*s, "skipped"), k.to_string());
        }
        let failure = doc
            .descendants()
            .find(|n| n.has_tag_name("failure"))
            .unwrap();
        let case = failure.parent().unwrap();
        assert_eq!(attr(case, "name"), "a&b<c>/kafka");
        assert_eq!(attr(case, "classname"), "SL001 headless-service");
        assert!(attr(failure, "message").contains("<b> & \"q\""));
        let body = failure.text().unwrap();
        assert!(
            body.contains("manifests/dir with space/kafka,zk.yaml:26:14: error:"),
            "{body}"
        );
        assert!(
            body.contains("help: set clusterIP: None\nand re-create"),
            "{body}"
        );
        let skipped = doc
            .descendants()
            .find(|n| n.has_tag_name("skipped"))
            .unwrap();
        assert_eq!(
            attr(skipped.parent().unwrap(), "classname"),
            "SL002 pdb-quorum"
        );
        assert!(attr(skipped, "message").contains("managed by the \"operator\""));
        let error = doc.descendants().find(|n| n.has_tag_name("error")).unwrap();
        assert_eq!(
            error.text().unwrap(),
            "broken.yaml:1:7: did not find expected node content"
        );
    }

    #[test]
    fn only_rules_that_ran_get_suites() {
        let fx = fixture();
        let mut r = fx.report();
        r.rules = vec![crate::rules::lookup("SL003").unwrap()];
        let xml = to_string(&r);
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let names: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("testsuite"))
            .map(|n| attr(n, "name"))
            .collect();
        // findings of rules not listed still get a suite (they were reported)
        assert_eq!(
            names,
            [
                "SL001 headless-service",
                "SL002 pdb-quorum",
                "SL003 pod-anti-affinity",
                "SL009 odd-replicas",
                "input"
            ]
        );
    }
}
