//! `flinkform validate`: load and check the configuration; nothing else is read or touched.
//! `--json` writes Terraform's `validate -json` document (diagnostics with their ranges).

use super::{CliResult, VarArgs};
use crate::pipeline::{self, Validated};
use clap::Args;
use serde_json::{Value, json};
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub vars: VarArgs,
    /// Print the result as JSON (Terraform's `validate -json` shape)
    #[arg(long)]
    pub json: bool,
}

pub fn run(dir: &Path, args: &ValidateArgs) -> CliResult {
    let result = pipeline::validate(dir, &args.vars.inputs());
    if args.json {
        let valid = result.is_ok();
        super::print(&format!("{}\n", serde_json::to_string_pretty(&document(&result)).unwrap_or_default()));
        return Ok(if valid { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    }
    let Validated { clusters, instances, warnings } = result?;
    super::print_warnings(&warnings);
    super::print(&format!(
        "Success! The configuration is valid: {clusters} cluster(s), {instances} resource instance(s).\n"
    ));
    Ok(ExitCode::SUCCESS)
}

fn document(result: &Result<Validated, crate::config::ConfigErrors>) -> Value {
    let diagnostic = |severity: &str, summary: &str, detail: &str, range: Option<Value>| {
        let mut d = json!({ "severity": severity, "summary": summary, "detail": detail });
        if let Some(r) = range {
            d["range"] = r;
        }
        d
    };
    let diagnostics: Vec<Value> = match result {
        Ok(v) => v.warnings.iter().map(|w| diagnostic("warning", &w.message, &w.help, None)).collect(),
        Err(errors) => errors
            .errors
            .iter()
            .map(|e| {
                let range = e.range.as_ref().map(|r| serde_json::to_value(r).unwrap_or_default());
                diagnostic("error", &e.summary, e.help.as_deref().unwrap_or(""), range)
            })
            .collect(),
    };
    let count = |severity: &str| diagnostics.iter().filter(|d| d["severity"] == severity).count();
    json!({
        "format_version": "1.0",
        "valid": result.is_ok(),
        "error_count": count("error"),
        "warning_count": count("warning"),
        "diagnostics": diagnostics,
    })
}
