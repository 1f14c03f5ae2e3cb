//! The parse-only floor for benchmarks: stream saphyr-parser events over every file under the
//! given folders (in parallel, as `statelint check` reads them) and count them. No tree, no
//! rules. `cargo run --release --example parse-floor -- DIR...`

use rayon::prelude::*;
use saphyr_parser::Parser;

fn main() {
    let mut files = Vec::new();
    for dir in std::env::args().skip(1) {
        for e in ignore::WalkBuilder::new(dir).build().flatten() {
            let p = e.path();
            if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                files.push(p.to_path_buf());
            }
        }
    }
    let (events, bytes) = files
        .par_iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("read");
            let mut n = 0u64;
            let mut parser = Parser::new_from_str(&text);
            while let Some(ev) = parser.next_event() {
                ev.expect("valid YAML");
                n += 1;
            }
            (n, text.len() as u64)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!("{} files, {events} events, {bytes} bytes", files.len());
}
