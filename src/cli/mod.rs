//! The command line (Terraform's vocabulary): one file per command; this module holds the
//! arguments and the steps several commands share (load config, lock and read state, connect
//! to Docker, observe, plan).

mod apply;
mod fmt;
mod import;
mod plan;
mod show;
mod state;
mod validate;

use crate::config::{self, Config, VarInputs};
use crate::docker::observe::{Live, Selection, Source};
use crate::docker::{self, Engine};
use crate::model::{self, Desired, Spec};
use crate::state::State;
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
        Command::Refresh(vars) => {
            let config = load_config(&dir, &vars)?;
            runtime.block_on(state::refresh(&config, true))
        }
        Command::Graph => state::graph(&dir),
        Command::Fmt(args) => fmt::run(&dir, &args),
        Command::Import { address, container } => runtime.block_on(import::run(&dir, &address, &container)),
    };
    // Every command awaited what it started and the process ends now: no need to wait for the
    // runtime's idle worker threads to be joined (a measurable part of a no-op plan).
    runtime.shutdown_background();
    result
}

pub(crate) fn load_config(dir: &std::path::Path, vars: &VarArgs) -> Result<Config, Report> {
    load_config_then(dir, vars, &mut |_| {})
}

/// [`load_config`], calling `early` with the settings as soon as they are known.
pub(crate) fn load_config_then(
    dir: &std::path::Path,
    vars: &VarArgs,
    early: &mut dyn FnMut(&config::Settings),
) -> Result<Config, Report> {
    let inputs = VarInputs { var_files: vars.var_files.iter().map(|f| dir.join(f)).collect(), vars: vars.vars.clone() };
    config::load_then(dir, &inputs, early).map_err(Report::new)
}

pub(crate) fn load_state(config: &Config) -> Result<State, Report> {
    State::load(&config.state_path()).map_err(|e| miette::miette!("{e}"))
}

pub(crate) async fn connect(config: &Config) -> Result<Engine, Report> {
    docker::connect(config.settings.docker_host.as_deref()).await.map_err(|e| miette::miette!("{e}"))
}

/// Docker's side of a plan, asked for early. The connection and the three list calls (everything
/// labelled as the project's) go out as soon as the project is known — for plan and apply while
/// the configuration's blocks are still being evaluated — and run while the state is read and the
/// configuration expanded; the image lookups follow as soon as expansion names the images. A
/// no-op plan then costs the engine's list, not the list plus flinkform's own work.
pub(crate) struct Observing {
    task: tokio::task::JoinHandle<Result<(Engine, Live), Report>>,
    images: tokio::sync::oneshot::Sender<Vec<String>>,
}

pub(crate) fn start_observing(settings: &config::Settings) -> Observing {
    let host = settings.docker_host.clone();
    let project = settings.project.clone();
    let (images, wanted_images) = tokio::sync::oneshot::channel::<Vec<String>>();
    let task = tokio::spawn(async move {
        let labelled = Selection::Labelled { project: &project };
        // Over a plain socket the lists need no API version: they go out with the ping.
        let plain = docker::plain_endpoint(&docker::host(host.as_deref()));
        let early = async {
            match &plain {
                Some(endpoint) => Some(docker::observe::list(Source::Wire(endpoint), labelled).await),
                None => None,
            }
        };
        let connected = async {
            let engine = docker::connect(host.as_deref()).await?;
            // Through bollard (TLS, ssh) the list needs the connection, and goes out once it is made.
            let late = async {
                match plain {
                    Some(_) => None,
                    None => Some(docker::observe::list(engine.source(), labelled).await),
                }
            };
            let images = async { docker::observe::image_ids(&engine, &wanted_images.await.unwrap_or_default()).await };
            let (late, images) = tokio::join!(late, images);
            Ok::<_, docker::DockerError>((engine, late, images))
        };
        let (early, connected) = tokio::join!(early, connected);
        // An engine that is not there is reported as such, not as a failed list.
        let (engine, late, images) = connected.map_err(|e| miette::miette!("{e}"))?;
        let mut live = early.or(late).expect("one of the two lists ran").map_err(|e| miette::miette!("{e}"))?;
        live.images = images;
        Ok((engine, live))
    });
    Observing { task, images }
}

/// Completes an observation started by [`start_observing`] for `desired`: its images, whatever
/// holds a wanted name the labelled list did not show (a second list, only when something is to
/// be created: an object there without the project's labels is a conflict the plan reports), and
/// Flink's view of the jobs.
pub(crate) async fn finish_observing(
    observing: Observing,
    config: &Config,
    desired: &Desired,
) -> Result<(Engine, Live), Report> {
    let mut images: Vec<String> = desired
        .values()
        .filter_map(|d| match &d.spec {
            Spec::Container(c) => Some(c.image.clone()),
            _ => None,
        })
        .collect();
    images.sort();
    images.dedup();
    // The task only ends early on an error, which the join below reports.
    let _ = observing.images.send(images);
    let (engine, mut live) = observing.task.await.map_err(|e| miette::miette!("internal: {e}"))??;
    let prefix = format!("{}-", config.settings.project);
    let missing: Vec<&str> = desired
        .values()
        .filter(|d| d.kind != model::Kind::Job && live.get(d.kind, &d.name).is_none())
        .map(|d| d.name.as_str())
        .collect();
    // One pattern covers every missing name under the project's prefix (the engine matches each
    // pattern against each container it holds); names outside it are asked for one by one.
    let mut outside: Vec<String> = missing.iter().filter(|n| !n.starts_with(&prefix)).map(|n| n.to_string()).collect();
    outside.sort();
    outside.dedup();
    let under_prefix = missing.iter().any(|n| n.starts_with(&prefix)).then_some(prefix.as_str());
    let named = docker::observe::list(engine.source(), Selection::Named { prefix: under_prefix, names: &outside })
        .await
        .map_err(|e| miette::miette!("{e}"))?;
    for (key, object) in named.objects {
        live.objects.entry(key).or_insert(object);
    }
    let clusters: Vec<&str> = config.jobs.values().map(|j| j.cluster.as_str()).collect();
    live.jobs = crate::flink::observe_jobs(&clusters, desired, &live).await;
    Ok((engine, live))
}

pub(crate) fn expand(config: &Config, state: &State) -> Desired {
    model::expand(config, &state.salt)
}

/// REST host port of a cluster's first JobManager (by cluster address), as recorded in state.
pub(crate) fn rest_port_from(state: &State, cluster: &str) -> Option<u16> {
    state.resource(&format!("{cluster}.jobmanager[0]")).and_then(|r| r.ports.get("8081/tcp").copied())
}

/// Prints text that may carry colour codes: stripped off a terminal and with NO_COLOR.
pub(crate) fn print(text: &str) {
    use std::io::Write;
    let mut out = anstream::stdout();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
