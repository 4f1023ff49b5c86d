//! anvil, the node the ledger benchmark compares against: found where the tests find it
//! (`MEDSHARE_ANVIL`, `.tools/anvil`, `PATH`), else installed the way `scripts/test` installs
//! it (`scripts/install-foundry anvil`: the pinned npm package into `.tools/anvil`), as the
//! Python peers are installed on first use.

use crate::REPO;
use anyhow::{Context, Result, bail};
use medshare_testkit::process::Anvil;
use std::{path::Path, path::PathBuf, process::Command};

/// The anvil binary, installed first if it is nowhere to be found.
pub(crate) fn binary() -> Result<PathBuf> {
    if let Ok(path) = Anvil::binary() {
        return Ok(path);
    }
    let script = Path::new(REPO).join("scripts/install-foundry");
    eprintln!(
        "   anvil not found: installing it ({} anvil) …",
        script.display()
    );
    let status = Command::new("bash")
        .arg(&script)
        .arg("anvil")
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!(
            "anvil is needed for the ledger comparison and could not be installed: run `scripts/install-foundry anvil` (needs npm) or set MEDSHARE_ANVIL to an anvil binary"
        );
    }
    Ok(Anvil::binary()?)
}

/// anvil's version as `anvil 1.7.1` (from `anvil --version`'s first line,
/// `anvil Version: 1.7.1`).
pub(crate) fn version(bin: &Path) -> Result<String> {
    let out = Command::new(bin)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", bin.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or_default().trim();
    Ok(first.replacen("Version: ", "", 1))
}
