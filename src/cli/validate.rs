//! `flinkform validate`: load and check the configuration; nothing else is read or touched.

use super::{CliResult, VarArgs, load_config};
use std::path::Path;
use std::process::ExitCode;

pub fn run(dir: &Path, vars: &VarArgs) -> CliResult {
    let config = load_config(dir, vars)?;
    let desired = crate::model::expand(&config, "");
    super::print(&format!(
        "Success! The configuration is valid: {} cluster(s), {} resource instance(s).\n",
        config.clusters.len(),
        desired.len()
    ));
    Ok(ExitCode::SUCCESS)
}
