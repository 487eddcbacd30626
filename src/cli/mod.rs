//! The command line (Terraform's vocabulary): one file per command. Each parses its arguments
//! into the pipeline's plain options, calls the pipeline and prints what it returns.

mod apply;
mod fmt;
mod logs;
mod machine;
mod plan;
mod policy;
mod show;
mod state;
mod status;
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
    /// No colour in any output (as NO_COLOR=1)
    #[arg(long, global = true)]
    pub no_color: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Prepare the state's backend: move a local state into the configured one (PostgreSQL)
    Init,
    /// Check the configuration: syntax, references, types, Flink rules. Touches nothing.
    Validate(validate::ValidateArgs),
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
    /// Inspect or edit the state: list, show, rm, mv, pull, push, history, rollback
    #[command(subcommand)]
    State(state::StateCommand),
    /// Remove a lock left behind by a process that is gone
    ForceUnlock {
        /// The lock's ID, as the lock message shows it
        id: String,
    },
    /// Update the state from what is live, changing no container
    Refresh(VarArgs),
    /// Evaluate expressions against the configuration and state, one per line (stdin)
    Console(VarArgs),
    /// Print the dependency graph as DOT
    Graph(VarArgs),
    /// Rewrite configuration files in the canonical layout
    Fmt(fmt::FmtArgs),
    /// Show a container's log, or every container of a role or cluster (`-f` follows)
    Logs(logs::LogsArgs),
    /// Each cluster's health as Flink reports it: TaskManagers, free slots, jobs, restarts, checkpoints
    Status(status::StatusArgs),
    /// Run tests: `flinkform test policy DIR` runs a policy directory's own tests
    #[command(subcommand)]
    Test(policy::TestCommand),
    /// Print flinkform's version
    Version {
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script: `flinkform completions bash > /etc/bash_completion.d/flinkform`
    Completions { shell: clap_complete::Shell },
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
        Command::Init => state::init(&dir),
        Command::Validate(args) => validate::run(&dir, &args),
        Command::Plan(args) => runtime.block_on(plan::run(&dir, &args)),
        Command::Apply(args) => runtime.block_on(apply::run(&dir, &args, false)),
        Command::Destroy(args) => runtime.block_on(apply::run(&dir, &args, true)),
        Command::Show(args) => show::show(&dir, &args),
        Command::Output(args) => show::output(&dir, &args),
        Command::State(cmd) => state::run(&dir, &cmd),
        Command::ForceUnlock { id } => state::force_unlock(&dir, &id),
        Command::Refresh(vars) => runtime.block_on(state::refresh(&dir, &vars, true)),
        Command::Graph(vars) => state::graph(&dir, &vars),
        Command::Console(vars) => console(&dir, &vars),
        Command::Fmt(args) => fmt::run(&dir, &args),
        Command::Status(args) => runtime.block_on(status::run(&dir, &args)),
        Command::Logs(args) => runtime.block_on(logs::run(&dir, &args)),
        Command::Test(command) => policy::run(&dir, &command),
        Command::Version { json } => version(json),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "flinkform", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Import { address, container } => runtime.block_on(async {
            let config = pipeline::load(&dir, &Default::default())?;
            pipeline::import(&config, &address, &container).await?;
            print(&format!(
                "Import successful: {address} is {container}.\nRun `flinkform plan` to see how it differs from the configuration.\n"
            ));
            Ok(ExitCode::SUCCESS)
        }),
    };
    // Every command awaited what it started and the process ends now: the runtime is left to
    // the exit (shutting it down, even without waiting for its idle worker threads, is a
    // measurable part of a no-op plan).
    std::mem::forget(runtime);
    result
}

/// `console`: reads expressions from stdin (a prompt on a terminal), prints each value; an
/// error is printed and the next line read, as `terraform console` does. `exit` ends it.
fn console(dir: &std::path::Path, vars: &VarArgs) -> CliResult {
    use std::io::{BufRead, IsTerminal, Write};
    let config = pipeline::load(dir, &vars.inputs())?;
    let console = pipeline::console(&config)?;
    let interactive = std::io::stdin().is_terminal();
    let mut failed = false;
    let mut lines = std::io::stdin().lock().lines();
    loop {
        if interactive {
            print!("> ");
            let _ = std::io::stdout().flush();
        }
        let Some(Ok(line)) = lines.next() else { break };
        let line = line.trim();
        if line == "exit" {
            break;
        }
        if line.is_empty() {
            continue;
        }
        match console.eval(line) {
            Ok(value) => print(&format!("{value}\n")),
            Err(e) => {
                failed = true;
                anstream::eprintln!("Error: {e}");
            }
        }
    }
    // Piped input (a script) fails when a line did; at a terminal, errors are part of the dialogue.
    Ok(if failed && !interactive { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// `version`: as Terraform prints its own (`Terraform v1.9.0` / `on linux_amd64`), or as JSON.
fn version(json: bool) -> CliResult {
    let platform = format!("{}_{}", std::env::consts::OS, go_arch(std::env::consts::ARCH));
    let version = env!("CARGO_PKG_VERSION");
    if json {
        let doc = serde_json::json!({ "flinkform_version": version, "platform": platform });
        print(&format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default()));
    } else {
        print(&format!("flinkform v{version}\non {platform}\n"));
    }
    Ok(ExitCode::SUCCESS)
}

/// The command line parsed by `command` (the [`Cli`]'s, built once: building it is a measurable
/// part of a no-op plan); exits with clap's message on an error, as `Cli::parse` does.
pub fn parse(command: clap::Command, args: Vec<std::ffi::OsString>) -> Cli {
    use clap::FromArgMatches;
    let mut matches = command.get_matches_from(args);
    Cli::from_arg_matches_mut(&mut matches)
        .unwrap_or_else(|e| e.format(&mut <Cli as clap::CommandFactory>::command()).exit())
}

/// Architecture names as Terraform (Go) writes them.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// Terraform's single-dash long flags (`-out=FILE`, `-auto-approve`, `-var k=v`, `-chdir=DIR`)
/// rewritten as clap's double-dash ones. Only a word that is one of flinkform's long flags is
/// rewritten (so a value such as `-1` stays), and nothing after `--`.
pub fn terraform_flags(
    command: &clap::Command,
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut longs: std::collections::BTreeSet<String> = ["help", "version"].map(String::from).into();
    collect_longs(command, &mut longs);
    let mut rest = false;
    args.into_iter()
        .map(|arg| {
            let Some(text) = arg.to_str().filter(|_| !rest) else { return arg };
            rest = text == "--";
            let word = text.strip_prefix('-').filter(|w| !w.starts_with('-'));
            match word.map(|w| w.split_once('=').map_or(w, |(name, _)| name)) {
                Some(name) if longs.contains(name) => format!("-{text}").into(),
                _ => arg,
            }
        })
        .collect()
}

fn collect_longs(command: &clap::Command, out: &mut std::collections::BTreeSet<String>) {
    for a in command.get_arguments() {
        out.extend(a.get_long().filter(|l| l.len() > 1).map(str::to_string));
    }
    for sub in command.get_subcommands() {
        collect_longs(sub, out);
    }
}

/// A plan for humans, as JSON or as Markdown, with what the policies said of it.
pub fn print_plan(plan: &crate::plan::Plan, policy: Option<&crate::policy::Report>, json: bool, markdown: bool) {
    if json {
        let mut doc = crate::plan::json::render(plan);
        if let (Some(p), Some(fields)) = (policy, doc.as_object_mut()) {
            fields.insert("policy_results".into(), p.to_json());
        }
        print(&format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default()));
    } else if markdown {
        print(&crate::plan::markdown::render(plan));
        print(&policy.map(|p| p.markdown()).unwrap_or_default());
    } else {
        print(&crate::plan::render::human(plan));
        print(&policy.map(|p| p.human()).unwrap_or_default());
    }
}

/// An error as miette draws it, on stderr, when the command goes on to exit with a code.
pub(crate) fn print_error(report: &Report) {
    anstream::eprintln!("{report:?}");
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

/// Ctrl-C as one stream, registered before it is needed: an interrupt that arrives while an
/// earlier one is handled, or while a refresh is under way, is kept for the next wait instead
/// of being lost between two `tokio::signal::ctrl_c()` calls.
pub(crate) struct Interrupts(tokio::signal::unix::Signal);

impl Interrupts {
    pub(crate) fn new() -> std::io::Result<Interrupts> {
        Ok(Interrupts(tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?))
    }

    /// The next interrupt.
    pub(crate) async fn next(&mut self) {
        self.0.recv().await;
    }
}
