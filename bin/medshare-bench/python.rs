//! The Python the benchmarks compare against (scikit-learn, IBM diffprivlib) and plot with
//! (matplotlib): a virtual environment of its own, `.tools/bench-python` in the repository,
//! created on first use with the versions pinned in `bench/requirements.txt` (and re-created when
//! that file changes), so every machine measures the same peers. `MEDSHARE_BENCH_PYTHON` points
//! at another interpreter instead.

use crate::REPO;
use anyhow::{Context, Result, bail};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The interpreter, with the pinned packages installed.
pub(crate) fn python() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("MEDSHARE_BENCH_PYTHON") {
        return Ok(PathBuf::from(p));
    }
    let repo = Path::new(REPO);
    let requirements = repo.join("bench/requirements.txt");
    let wanted = std::fs::read(&requirements)
        .with_context(|| format!("reading {}", requirements.display()))?;
    let env = repo.join(".tools/bench-python");
    let python = env.join("bin/python");
    let stamp = env.join("requirements.installed");
    if python.exists() && std::fs::read(&stamp).is_ok_and(|s| s == wanted) {
        return Ok(python);
    }
    eprintln!(
        "   installing the benchmarks' Python peers (bench/requirements.txt) into {} …",
        env.display()
    );
    if env.exists() {
        std::fs::remove_dir_all(&env).with_context(|| format!("removing {}", env.display()))?;
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&env))
        .context("creating a Python virtual environment (Debian: apt-get install python3-venv)")?;
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&requirements))
    .context("installing bench/requirements.txt from PyPI")?;
    std::fs::write(&stamp, wanted)?;
    Ok(python)
}

fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// The installed version of a Python package in that environment, for the reports.
pub(crate) fn version(package: &str) -> Result<String> {
    let out = Command::new(python()?)
        .args([
            "-c",
            &format!("import importlib.metadata as m; print(m.version({package:?}))"),
        ])
        .output()
        .context("asking Python for a package version")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
