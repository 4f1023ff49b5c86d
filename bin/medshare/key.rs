//! `medshare key`: a party's secp256k1 key in an encrypted keystore (Ethereum keystore v3).

use crate::password;
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use medshare_crypto::{Identity, KdfCost, create_keystore_with, open_keystore};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Subcommand)]
pub(crate) enum KeyCommand {
    /// Create a new key pair in an encrypted keystore file (never a plaintext key on disk).
    #[command(
        after_help = "Examples:\n  medshare key new alice.json\n  MEDSHARE_PASSWORD=… medshare key new alice.json --json\n  medshare key new alice.json --password-file alice.pass"
    )]
    New(NewArgs),
    /// Show the address and public key of a keystore (asks for its password).
    #[command(
        after_help = "Examples:\n  medshare key show alice.json\n  medshare key show alice.json --json | jq -r .address"
    )]
    Show(ShowArgs),
}

#[derive(Args)]
pub(crate) struct NewArgs {
    /// The keystore file to create; it must not exist. Written 0600.
    path: PathBuf,
    /// Read the password from this file (else MEDSHARE_PASSWORD, else a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Encrypt with geth's light scrypt cost (n = 2^12, p = 6: milliseconds to open) instead of
    /// its standard one (n = 2^18: 256 MiB and about a second, so each password guess costs as
    /// much). For tests and keys that guard nothing of value.
    #[arg(long)]
    light_kdf: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct ShowArgs {
    /// The keystore file.
    path: PathBuf,
    /// Read the password from this file (else MEDSHARE_PASSWORD, else a prompt).
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct KeyInfo {
    path: String,
    address: String,
    public_key: String,
}

pub(crate) fn run(command: KeyCommand) -> Result<()> {
    let (path, identity, json) = match command {
        KeyCommand::New(a) => {
            let password = password::read(a.password_file.as_deref(), "the new keystore", true)?;
            let dir = match a.path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let name = a
                .path
                .file_name()
                .and_then(|n| n.to_str())
                .context("the keystore path needs a UTF-8 file name")?;
            let cost = if a.light_kdf {
                KdfCost::Light
            } else {
                KdfCost::Standard
            };
            let (identity, path) = create_keystore_with(&dir, name, password.as_bytes(), cost)?;
            (path, identity, a.json)
        }
        KeyCommand::Show(a) => {
            let password = password::read(
                a.password_file.as_deref(),
                &a.path.display().to_string(),
                false,
            )?;
            let identity = open_keystore(&a.path, password.as_bytes())?;
            (a.path, identity, a.json)
        }
    };
    print(&path, &identity, json)
}

fn print(path: &std::path::Path, identity: &Identity, json: bool) -> Result<()> {
    let info = KeyInfo {
        path: path.display().to_string(),
        address: identity.address().to_checksum(None),
        public_key: identity.public_key_uncompressed().to_string(),
    };
    if json {
        out!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        out!("keystore:   {}", info.path);
        out!("address:    {}", info.address);
        out!("public key: {}", info.public_key);
    }
    Ok(())
}
