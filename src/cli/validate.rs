//! `flinkform validate`: load and check the configuration; nothing else is read or touched.

use super::{CliResult, VarArgs};
use std::path::Path;
use std::process::ExitCode;

pub fn run(dir: &Path, vars: &VarArgs) -> CliResult {
    let (clusters, instances, warnings) = crate::pipeline::validate(dir, &vars.inputs())?;
    super::print_warnings(&warnings);
    super::print(&format!(
        "Success! The configuration is valid: {clusters} cluster(s), {instances} resource instance(s).\n"
    ));
    Ok(ExitCode::SUCCESS)
}
