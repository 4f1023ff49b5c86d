//! Where keystore passwords come from: a file, the `MEDSHARE_PASSWORD` environment variable, or
//! a prompt on the terminal. Never a command-line argument (it would show in `ps`).

use anyhow::{Context, Result, bail};
use std::{io::IsTerminal, path::Path};
use zeroize::Zeroizing;

/// Reads the password for `what`: from `file` if given, else `MEDSHARE_PASSWORD`, else a prompt
/// (asked twice when `confirm`).
pub(crate) fn read(file: Option<&Path>, what: &str, confirm: bool) -> Result<Zeroizing<String>> {
    if let Some(file) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(file)
                .with_context(|| format!("reading the password file {}", file.display()))?,
        );
        let password = Zeroizing::new(text.trim_end_matches(['\r', '\n']).to_owned());
        if password.is_empty() {
            bail!("the password file {} is empty", file.display());
        }
        return Ok(password);
    }
    if let Ok(p) = std::env::var("MEDSHARE_PASSWORD") {
        if p.is_empty() {
            bail!("MEDSHARE_PASSWORD is set but empty");
        }
        return Ok(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no password for {what}: pass --password-file FILE or set MEDSHARE_PASSWORD");
    }
    let password = Zeroizing::new(rpassword::prompt_password(format!(
        "Password for {what}: "
    ))?);
    if password.is_empty() {
        bail!("an empty password is not accepted");
    }
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("Repeat the password: ")?);
        if *again != *password {
            bail!("the passwords differ");
        }
    }
    Ok(password)
}
