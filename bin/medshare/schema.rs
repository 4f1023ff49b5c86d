//! `medshare schema`: the data types medshare knows, and what a record of each holds.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use medshare_records::Schema;
use std::{io::Write, path::PathBuf};

/// The largest schema file `schema show` reads.
const MAX_SCHEMA_FILE: usize = 256 * 1024;

#[derive(Subcommand)]
pub(crate) enum SchemaCommand {
    /// The built-in data types: name, features, label.
    #[command(
        after_help = "Examples:\n  medshare schema list\n  medshare schema list --json | jq '.[].name'"
    )]
    List(ListArgs),
    /// One data type's schema: each feature with its unit, LOINC code and public clipping range
    /// (training clips every value into it), and the label with its classes.
    ///
    /// NAME is a built-in data type (`medshare schema list`) or a schema file (JSON, the format
    /// `governance data-type --schema` takes); `--json` prints the schema itself, which is a
    /// valid schema file to start a new data type from.
    #[command(
        after_help = "Examples:\n  medshare schema show breast-cancer-wdbc\n  medshare schema show cardiometabolic --json > my-type.json   # a schema file to edit"
    )]
    Show(ShowArgs),
}

#[derive(Args)]
pub(crate) struct ListArgs {
    /// Print JSON (an array of {name, description, features, label}).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub(crate) struct ShowArgs {
    /// A built-in data type's name, or a schema file.
    name: String,
    /// Print the schema as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Listed {
    name: String,
    description: String,
    features: usize,
    label: String,
}

pub(crate) fn run(command: SchemaCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match command {
        SchemaCommand::List(args) => {
            let listed: Vec<Listed> = Schema::builtins()
                .into_iter()
                .map(|s| Listed {
                    features: s.features.len(),
                    label: label_of(&s),
                    name: s.name,
                    description: s.description,
                })
                .collect();
            if args.json {
                serde_json::to_writer_pretty(&mut out, &listed)?;
                writeln!(out)?;
            } else {
                for l in listed {
                    writeln!(
                        out,
                        "{}: {} ({} features; label {})",
                        l.name, l.description, l.features, l.label
                    )?;
                }
                writeln!(
                    out,
                    "\n`medshare schema show NAME` shows a data type's features."
                )?;
            }
        }
        SchemaCommand::Show(args) => {
            let schema = find(&args.name)?;
            if args.json {
                serde_json::to_writer_pretty(&mut out, &schema)?;
                writeln!(out)?;
            } else {
                writeln!(out, "{}: {}", schema.name, schema.description)?;
                writeln!(
                    out,
                    "\n{:<28} {:<14} {:<10} clipping range",
                    "feature", "unit", "LOINC"
                )?;
                for f in &schema.features {
                    writeln!(
                        out,
                        "{:<28} {:<14} {:<10} [{}, {}]",
                        f.name,
                        f.unit.as_deref().unwrap_or("-"),
                        f.loinc.as_deref().unwrap_or("-"),
                        f.min,
                        f.max
                    )?;
                }
                writeln!(out, "\nlabel: {}", label_of(&schema))?;
                if !schema.label.description.is_empty() {
                    writeln!(out, "  {}", schema.label.description)?;
                }
            }
        }
    }
    Ok(())
}

/// A built-in data type by name, else a schema file.
fn find(name: &str) -> Result<Schema> {
    if let Some(schema) = Schema::builtin(name) {
        return Ok(schema);
    }
    let path = PathBuf::from(name);
    if !path.exists() {
        let known: Vec<String> = Schema::builtins().into_iter().map(|s| s.name).collect();
        bail!(
            "{name:?} is neither a built-in data type ({}) nor a schema file",
            known.join(", ")
        );
    }
    let bytes = crate::input::read_text_at_most(&path, MAX_SCHEMA_FILE, "schema file")?;
    Schema::from_json(bytes.as_bytes())
        .with_context(|| format!("{} is not a valid schema", path.display()))
}

/// `diagnosis (classes 0 = benign, 1 = malignant)` or `y (numeric, [0, 10])`.
fn label_of(schema: &Schema) -> String {
    let l = &schema.label;
    if l.classes.is_empty() {
        format!(
            "{} (numeric, [{}, {}])",
            l.name,
            l.min.unwrap_or(f64::NAN),
            l.max.unwrap_or(f64::NAN)
        )
    } else {
        format!("{} (classes {})", l.name, l.classes_text())
    }
}
