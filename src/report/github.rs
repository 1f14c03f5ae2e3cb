//! `--format github` (not implemented yet).

use std::io::Write;

use super::Report;

pub fn write(_r: &Report<'_>, _out: &mut dyn Write) -> std::io::Result<()> {
    Err(std::io::Error::other(
        "--format github is not implemented yet",
    ))
}
