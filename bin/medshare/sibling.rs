//! The other medshare programs, found beside this one.
//!
//! `medshare-enclave` is the TEE's process, the only program that links the enclave crate;
//! `medshare-bench` runs the benchmarks (some need the enclave in process). `medshare` finds
//! them in its own directory (as cargo builds them, or as installed side by side), or where
//! `MEDSHARE_ENCLAVE_BIN` / `MEDSHARE_BENCH_BIN` say. When `medshare` itself was started by
//! `cargo run` and a sibling is missing, it is built the same way first, so
//! `cargo run --release -- demo` works on a fresh clone.

use anyhow::{Context, Result, bail};
use std::{ffi::OsString, path::PathBuf, process::Command};

/// A sibling program: its file name, the package that builds it, and its override variable.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sibling {
    pub(crate) program: &'static str,
    pub(crate) package: &'static str,
    pub(crate) env: &'static str,
}

/// The TEE's process.
pub(crate) const ENCLAVE: Sibling = Sibling {
    program: "medshare-enclave",
    package: "medshare-tee",
    env: "MEDSHARE_ENCLAVE_BIN",
};

/// The benchmarks.
pub(crate) const BENCH: Sibling = Sibling {
    program: "medshare-bench",
    package: "medshare-bench",
    env: "MEDSHARE_BENCH_BIN",
};

impl Sibling {
    /// The program's path, building it with cargo if this process runs under `cargo run` and
    /// it is missing.
    pub(crate) fn locate(self) -> Result<PathBuf> {
        if let Some(path) = std::env::var_os(self.env) {
            return Ok(PathBuf::from(path));
        }
        let exe = std::env::current_exe().context("locating this program")?;
        let dir = exe
            .parent()
            .context("this program has no directory")?
            .to_path_buf();
        let path = dir.join(format!("{}{}", self.program, std::env::consts::EXE_SUFFIX));
        if path.exists() {
            return Ok(path);
        }
        let (Some(cargo), Some(manifest)) = (
            std::env::var_os("CARGO"),
            std::env::var_os("CARGO_MANIFEST_DIR"),
        ) else {
            bail!(
                "{} is not beside {} ({}): build it with `cargo build --release -p {}`, or point {} at it",
                self.program,
                exe.display(),
                dir.display(),
                self.package,
                self.env
            );
        };
        // target/<profile>/medshare: build the sibling in the same target dir and profile.
        let profile = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_owned();
        let target = dir.parent().context("no target directory")?;
        eprintln!(
            "   building {} (the {}), once …",
            self.program,
            if self.program == ENCLAVE.program {
                "TEE's process"
            } else {
                "benchmarks"
            }
        );
        let mut build = Command::new(cargo);
        build
            .arg("build")
            .arg("--quiet")
            .args(["-p", self.package])
            .arg("--manifest-path")
            .arg(PathBuf::from(manifest).join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        let status = build
            .status()
            .with_context(|| format!("running cargo to build {}", self.program))?;
        if !status.success() || !path.exists() {
            bail!("building {} failed ({status})", self.program);
        }
        Ok(path)
    }

    /// Runs the program with `args`, its input and output this process's, and exits with its
    /// status.
    pub(crate) fn forward(self, args: Vec<OsString>) -> Result<()> {
        let path = self.locate()?;
        let status = Command::new(&path)
            .args(args)
            .status()
            .with_context(|| format!("starting {}", path.display()))?;
        std::process::exit(status.code().unwrap_or(1));
    }
}
