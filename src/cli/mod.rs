//! The command line (Terraform's vocabulary): one file per command. Each parses its arguments
//! into the pipeline's plain options, calls the pipeline and prints what it returns.

mod apply;
mod fmt;
mod plan;
mod show;
mod state;
mod validate;

use crate::config::VarInputs;
use crate::pipeline;
use clap::{Args, Parser, Subcommand};
use miette::{IntoDiagnostic, Report};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "flinkform", version, about = "Plan and apply Apache Flink clusters on Docker, declared in HCL")]
pub struct Cli {
    /// Switch to this directory before doing anything (like Terraform's -chdir)
    #[arg(long, global = true, value_name = "DIR")]
    pub chdir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the configuration: syntax, references, types, Flink rules. Touches nothing.
    Validate(VarArgs),
    /// Show what apply would change, and why
    Plan(plan::PlanArgs),
    /// Make Docker match the configuration
    Apply(apply::ApplyArgs),
    /// Destroy everything this configuration manages
    Destroy(apply::ApplyArgs),
    /// Show the resources recorded in the state, or a saved plan
    Show(show::ShowArgs),
    /// Show output values from the state
    Output(show::OutputArgs),
    /// Inspect or edit the state: list, show, rm, mv
    #[command(subcommand)]
    State(state::StateCommand),
    /// Remove a lock left behind by a process that is gone
    ForceUnlock {
        /// The lock's ID, as the lock message shows it
        id: String,
    },
    /// Update the state from what is live, changing no container
    Refresh(VarArgs),
    /// Print the dependency graph as DOT
    Graph,
    /// Rewrite configuration files in the canonical layout
    Fmt(fmt::FmtArgs),
    /// Adopt an existing container as ADDRESS
    Import {
        /// e.g. cluster.analytics.jobmanager[0]
        address: String,
        /// Container name or id
        container: String,
    },
}

/// Variable values (Terraform's -var and -var-file).
#[derive(Debug, Clone, Args, Default)]
pub struct VarArgs {
    /// Set a variable: NAME=VALUE (repeatable)
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a file of `name = value` lines (repeatable)
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

impl VarArgs {
    /// As the user gave them (files relative to the configuration directory).
    pub fn inputs(&self) -> VarInputs {
        VarInputs { vars: self.vars.clone(), var_files: self.var_files.clone() }
    }
}

pub use plan::FocusArgs;

pub type CliResult = Result<ExitCode, Report>;

/// Runs a parsed command line.
pub fn run(cli: Cli) -> CliResult {
    let dir = cli.chdir.clone().unwrap_or_else(|| PathBuf::from("."));
    let runtime = tokio::runtime::Runtime::new().into_diagnostic()?;
    let result = match cli.command {
        Command::Validate(vars) => validate::run(&dir, &vars),
        Command::Plan(args) => runtime.block_on(plan::run(&dir, &args)),
        Command::Apply(args) => runtime.block_on(apply::run(&dir, &args, false)),
        Command::Destroy(args) => runtime.block_on(apply::run(&dir, &args, true)),
        Command::Show(args) => show::show(&dir, &args),
        Command::Output(args) => show::output(&dir, &args),
        Command::State(cmd) => state::run(&dir, &cmd),
        Command::ForceUnlock { id } => state::force_unlock(&dir, &id),
        Command::Refresh(vars) => runtime.block_on(state::refresh(&dir, &vars, true)),
        Command::Graph => state::graph(&dir),
        Command::Fmt(args) => fmt::run(&dir, &args),
        Command::Import { address, container } => runtime.block_on(async {
            let config = pipeline::load(&dir, &Default::default())?;
            pipeline::import(&config, &address, &container).await?;
            print(&format!(
                "Import successful: {address} is {container}.\nRun `flinkform plan` to see how it differs from the configuration.\n"
            ));
            Ok(ExitCode::SUCCESS)
        }),
    };
    // Every command awaited what it started and the process ends now: no need to wait for the
    // runtime's idle worker threads to be joined (a measurable part of a no-op plan).
    runtime.shutdown_background();
    result
}

/// A plan for humans, as JSON or as Markdown.
pub fn print_plan(plan: &crate::plan::Plan, json: bool, markdown: bool) {
    if json {
        print(&format!("{}\n", serde_json::to_string_pretty(&crate::plan::json::render(plan)).unwrap_or_default()));
    } else if markdown {
        print(&crate::plan::markdown::render(plan));
    } else {
        print(&crate::plan::render::human(plan));
    }
}

/// The configuration's warnings, on stderr (stdout stays the plan, for pipes and files).
pub(crate) fn print_warnings(warnings: &[crate::config::warnings::Warning]) {
    use owo_colors::OwoColorize;
    for w in warnings {
        anstream::eprintln!("{} {}\n  help: {}\n", "Warning:".yellow().bold(), w.message, w.help);
    }
}

/// Prints text that may carry colour codes: stripped off a terminal and with NO_COLOR.
pub(crate) fn print(text: &str) {
    use std::io::Write;
    let mut out = anstream::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
