//! Reading a party's input files with a size limit.

use anyhow::{Context, Result};

/// Reads the text file at `path`, refusing it before reading when it is larger than `max`
/// bytes (a `what`, e.g. "CSV file"): a file too big to import is never loaded whole. An empty
/// file (or one of blanks only) is refused by name.
pub(crate) fn read_text_at_most(path: &std::path::Path, max: usize, what: &str) -> Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file
        .metadata()
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    let too_large = || {
        anyhow::anyhow!(
            "{} is {len} bytes; a {what} is at most {max} bytes (split it)",
            path.display()
        )
    };
    if len > max as u64 {
        return Err(too_large());
    }
    let mut text = String::new();
    file.take(max as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {} (UTF-8 text)", path.display()))?;
    if text.len() > max {
        return Err(too_large()); // it grew while being read
    }
    if text.trim().is_empty() {
        anyhow::bail!("{} is empty: expected a {what}", path.display());
    }
    Ok(text)
}
