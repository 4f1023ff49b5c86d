//! How every medshare program reads its flags and ends: shared by `medshare`,
//! `medshare-enclave` and `medshare-bench` (by `#[path]`), so that `--json` means the same in
//! all three. Under `--json` a failure, a mistyped flag included, is one JSON object
//! `{"error", "hint"}` on stdout, where a script reads the command's answer; without it, the
//! error and its hint go to stderr. A reader that went away (`| head`) ends the program quietly.
//! All three log to stderr and run on one multi-threaded tokio runtime ([`block_on`]).

use std::process::ExitCode;

/// Logs to stderr at `filter` (a `tracing` filter, e.g. `warn`) and runs `work` to its end on
/// a multi-threaded tokio runtime.
pub(crate) fn block_on(
    filter: &str,
    work: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(filter)?)
        .with_writer(std::io::stderr)
        .init();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(work)
}

/// Whether the command line asks for JSON output.
pub(crate) fn wants_json() -> bool {
    std::env::args_os().any(|a| a == "--json")
}

/// The parsed command line. `--help` and `--version` print as usual; a usage error under
/// `--json` is a JSON error object (exit code 2, as clap's), else clap's own message.
pub(crate) fn parse<P: clap::Parser>() -> Result<P, ExitCode> {
    match P::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) if e.use_stderr() && wants_json() => {
            let message = e.render().to_string();
            let (error, usage) = split_usage(&message);
            let object = serde_json::json!({
                "error": error,
                "hint": usage.map_or_else(
                    || "run the command with --help to see its arguments and an example".to_owned(),
                    |u| format!("{u} (--help shows every argument and an example)"),
                ),
            });
            println!("{object}");
            Err(ExitCode::from(2))
        }
        Err(e) => {
            // Help, version, or a usage error for people: clap prints it and says how to exit.
            let code = e.exit_code();
            let _ = e.print();
            Err(ExitCode::from(u8::try_from(code).unwrap_or(2)))
        }
    }
}

/// clap's rendered error, split into the error line(s) and its `Usage: …` line.
fn split_usage(message: &str) -> (String, Option<String>) {
    let mut error = Vec::new();
    let mut usage = None;
    for line in message.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("For more information") {
            continue;
        }
        if line.starts_with("Usage:") {
            usage = Some(line.to_owned());
        } else {
            error.push(line.trim_start_matches("error: "));
        }
    }
    (error.join(" "), usage)
}

/// Ends the program with `result`: success, a quiet success when the reader of the output went
/// away, or the error (and `hint`'s advice for it) reported as [`report`] says.
pub(crate) fn finish(
    result: anyhow::Result<()>,
    hint: impl Fn(&anyhow::Error) -> Option<String>,
) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e, hint(&e));
            ExitCode::FAILURE
        }
    }
}

/// Says what failed, and what to do next when known (`hint`): with `--json` as one JSON object
/// `{"error", "hint"}` on stdout, else on stderr.
pub(crate) fn report(error: &anyhow::Error, hint: Option<String>) {
    if wants_json() {
        let object = serde_json::json!({ "error": format!("{error:#}"), "hint": hint });
        println!("{object}");
    } else {
        eprintln!("Error: {error:?}");
        if let Some(hint) = hint {
            eprintln!("\nhint: {hint}");
        }
    }
}

/// Whether `error` comes from writing to a pipe whose reader has gone.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_usage_error_is_split_into_what_and_how() {
        let rendered = "error: the following required arguments were not provided:\n  \
                        --job <JOB>\n\nUsage: medshare reviewer approve --keystore <KEYSTORE> \
                        --job <JOB>\n\nFor more information, try '--help'.\n";
        let (error, usage) = split_usage(rendered);
        assert_eq!(
            error,
            "the following required arguments were not provided: --job <JOB>"
        );
        assert_eq!(
            usage.as_deref(),
            Some("Usage: medshare reviewer approve --keystore <KEYSTORE> --job <JOB>")
        );
    }
}
