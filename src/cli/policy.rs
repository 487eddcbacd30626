//! `flinkform test policy DIR`: runs a policy directory's own tests (`*_test.rego`), as
//! `opa test` does, so a team checks its rules in CI before they guard a plan.

use super::CliResult;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TestCommand {
    /// Run the tests (`test_*` rules in *_test.rego) of a policy directory
    Policy {
        /// The policy directory (relative to -chdir)
        #[arg(default_value = "policies")]
        dir: PathBuf,
    },
}

pub fn run(base: &Path, command: &TestCommand) -> CliResult {
    let TestCommand::Policy { dir } = command;
    let outcomes = crate::policy::testing::run(&base.join(dir)).map_err(miette::Report::new)?;
    if outcomes.is_empty() {
        return Err(miette::miette!(
            help = "write tests as rules named test_… in files named *_test.rego",
            "no test in {}",
            dir.display()
        ));
    }
    let mut out = String::new();
    for o in &outcomes {
        if o.passed {
            out.push_str(&format!("PASS: {}\n", o.name));
        } else {
            out.push_str(&format!("FAIL: {} ({})\n", o.name, o.detail));
        }
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    out.push_str(&format!("{}\n", "-".repeat(40)));
    if failed == 0 {
        out.push_str(&format!("PASS: {}/{}\n", outcomes.len(), outcomes.len()));
    } else {
        out.push_str(&format!(
            "PASS: {}/{}\nFAIL: {failed}/{}\n",
            outcomes.len() - failed,
            outcomes.len(),
            outcomes.len()
        ));
    }
    super::print(&out);
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
