//! `medshare-bench`: medshare's benchmarks (`medshare bench …` runs this program).
//!
//! A program of its own because some benchmarks run the enclave in process, to measure the
//! cost of its process boundary: `medshare` itself never links the enclave crate.

use anyhow::Result;
use clap::Parser;

mod anvil;
mod crash;
#[path = "../medshare/exit.rs"]
mod exit;
mod gas;
#[path = "../medshare/hint.rs"]
mod hint;
#[path = "../medshare/job_spec.rs"]
mod job_spec;
mod load;
mod paper;
mod privacy;
mod python;
mod scenario;
#[path = "../medshare/sibling.rs"]
#[allow(dead_code)] // `medshare` forwards to siblings; this program only locates one
mod sibling;
#[path = "../medshare/spawn.rs"]
mod spawn;

/// The repository root (this program's package is bin/medshare-bench).
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Measure medshare: the paper's §7 evaluation beside the paper and its peers, gas per
/// transaction type.
#[derive(Parser)]
#[command(name = "medshare bench", version, about, long_about = None)]
struct Cli {
    /// Log filter (e.g. `info`); also read from RUST_LOG.
    #[arg(long, global = true, env = "RUST_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: gas::BenchCommand,
}

/// `x` rounded to three decimals, as every report prints its figures.
pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A progress bar of `len` steps drawn with `template` on stderr (indicatif draws nothing when
/// stderr is not a terminal), or a hidden one when `quiet` (`--json`).
pub(crate) fn progress(len: u64, template: &str, quiet: bool) -> Result<indicatif::ProgressBar> {
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(len)
    };
    bar.set_style(indicatif::ProgressStyle::with_template(template)?);
    Ok(bar)
}

/// Writes `NAME.json` and `NAME.md` to `out` (default: bench/results for a full run, nowhere
/// for `--quick`), then prints the report: JSON with `json`, else the markdown.
pub(crate) fn publish<T: serde::Serialize>(
    name: &str,
    report: &T,
    markdown: &str,
    out: Option<std::path::PathBuf>,
    quick: bool,
    json: bool,
) -> Result<()> {
    use anyhow::Context;
    let out = out.or_else(|| (!quick).then(|| std::path::PathBuf::from("bench/results")));
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(
            dir.join(format!("{name}.json")),
            serde_json::to_vec_pretty(report)?,
        )?;
        std::fs::write(dir.join(format!("{name}.md")), markdown)?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        println!("{markdown}");
        if let Some(dir) = &out {
            println!("written to {}", dir.display());
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = match exit::parse::<Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    exit::finish(exit::block_on(&cli.log, gas::run(cli.command)), hint::hint)
}
