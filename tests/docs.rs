//! The examples on the rule pages are linted: for every `rules/<CODE>-<slug>.md`, the first
//! ```yaml block under `## Failing example` must produce that rule, and the first one under
//! `## Passing example` must not. Every problem on every page is listed before failing.

use std::path::Path;

use statelint::config::Config;
use statelint::{CheckOptions, check};

/// The first ```yaml (or ```yml) block after the heading `## <section>`, before the next `## `.
fn example(page: &str, section: &str) -> Option<String> {
    let heading = format!("## {section}");
    let mut lines = page
        .lines()
        .skip_while(|l| l.trim_end() != heading)
        .skip(1)
        .take_while(|l| !l.starts_with("## "));
    lines.find(|l| {
        let l = l.trim();
        l == "```yaml" || l == "```yml"
    })?;
    let mut block = String::new();
    for l in lines {
        if l.trim_start().starts_with("```") {
            return Some(block);
        }
        block.push_str(l);
        block.push('\n');
    }
    None // unterminated block
}

/// Run `check` on `yaml`; the codes it reports, or the input errors.
fn lint(dir: &Path, name: &str, yaml: &str) -> Result<Vec<&'static str>, String> {
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    let run = check(&CheckOptions {
        paths: vec![path],
        namespace: "default".into(),
        config: Config::default(),
        ..Default::default()
    });
    if !run.loaded.errors.is_empty() {
        let errs: Vec<_> = run
            .loaded
            .errors
            .iter()
            .map(|e| e.message.clone())
            .collect();
        return Err(errs.join("; "));
    }
    Ok(run.outcome.findings.iter().map(|f| f.rule.code).collect())
}

/// Problems with one page's examples.
fn check_page(file_name: &str, page: &str, tmp: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(code) = file_name.split('-').next() else {
        return vec![format!("{file_name}: not named <CODE>-<slug>.md")];
    };
    let Some(meta) = statelint::rules::lookup(code) else {
        return vec![format!("{file_name}: no rule {code}")];
    };
    if format!("{}-{}.md", meta.code, meta.slug) != file_name {
        problems.push(format!(
            "{file_name}: should be named {}-{}.md",
            meta.code, meta.slug
        ));
    }
    for (section, must_fire) in [("Failing example", true), ("Passing example", false)] {
        let Some(yaml) = example(page, section) else {
            problems.push(format!(
                "{file_name}: no ```yaml block under `## {section}`"
            ));
            continue;
        };
        let name = format!(
            "{}-{}.yaml",
            meta.code,
            if must_fire { "fail" } else { "pass" }
        );
        match lint(tmp, &name, &yaml) {
            Err(e) => problems.push(format!("{file_name}: {section} does not load: {e}")),
            Ok(codes) => {
                let fired = codes.contains(&meta.code);
                if must_fire && !fired {
                    problems.push(format!(
                        "{file_name}: {section} does not produce {} {} (got {codes:?})",
                        meta.code, meta.slug
                    ));
                }
                if !must_fire && fired {
                    problems.push(format!(
                        "{file_name}: {section} produces {} {}",
                        meta.code, meta.slug
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn rule_page_examples_do_what_they_say() {
    let tmp = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut pages: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    assert!(
        pages.len() >= 10,
        "expected a page per rule in {}",
        root.display()
    );
    let mut problems = Vec::new();
    for p in &pages {
        let name = p.file_name().unwrap().to_str().unwrap();
        let page = std::fs::read_to_string(p).unwrap();
        problems.extend(check_page(name, &page, tmp.path()));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) with rule page examples:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn example_extraction() {
    let page = "# SL001 x\n\n## Failing example\n\ntext\n\n```yaml\na: 1\n```\n\n```yaml\nb: 2\n```\n\n## Passing example\n\n```json\n{}\n```\n\n## How to fix\n\n```yaml\nc: 3\n```\n";
    assert_eq!(example(page, "Failing example").unwrap(), "a: 1\n");
    assert_eq!(example(page, "Passing example"), None);
    assert_eq!(example(page, "Options"), None);
    assert_eq!(
        example("## Failing example\n```yaml\nx: 1\n", "Failing example"),
        None
    );
}

/// The page is the rule's documentation; `META.summary` (shown by `statelint rules`, SARIF and
/// JUnit) is the page's summary line, `> ...` right under the title `# <CODE> <slug>`, word for
/// word, and the page is the one `explain` prints.
#[test]
fn rule_summaries_match_their_pages() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut problems = Vec::new();
    for rule in statelint::rules::all() {
        let meta = rule.meta();
        let file = root.join(format!("{}-{}.md", meta.code, meta.slug));
        let Ok(page) = std::fs::read_to_string(&file) else {
            problems.push(format!("{}: no page {}", meta.code, file.display()));
            continue;
        };
        let mut lines = page.lines().filter(|l| !l.trim().is_empty());
        let title = format!("# {} {}", meta.code, meta.slug);
        if lines.next() != Some(title.as_str()) {
            problems.push(format!("{}: the page must start with `{title}`", meta.code));
        }
        let want = format!("> {}", meta.summary);
        match lines.next() {
            Some(l) if l == want => {}
            other => problems.push(format!(
                "{}: the line under the title must be the summary `{want}`, found {other:?}",
                meta.code
            )),
        }
        if meta.page != page {
            problems.push(format!(
                "{}: META.page is not {}",
                meta.code,
                file.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
