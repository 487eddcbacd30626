//! `flinkform apply` and `flinkform destroy`: lock the state, plan, confirm, execute, report.

use super::{CliResult, VarArgs};
use crate::apply::ApplyReport;
use crate::pipeline::{self, Applied, ApplyOptions};
use crate::plan::render;
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `flinkform plan --out FILE`: apply exactly it, without asking again
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub focus: super::FocusArgs,
    /// Skip the interactive confirmation
    #[arg(long)]
    pub auto_approve: bool,
    /// How many operations run at once
    #[arg(long, default_value_t = 10)]
    pub parallelism: usize,
    /// How long to wait for the state lock (e.g. 30s, 2m)
    #[arg(long, default_value = "0s", value_parser = crate::config::parse_duration)]
    pub lock_timeout: Duration,
    #[command(flatten)]
    pub policy: super::plan::PolicyArgs,
    /// Print the run as JSON lines (Terraform's machine-readable UI); needs --auto-approve
    #[arg(long)]
    pub json: bool,
}

pub async fn run(dir: &Path, args: &ApplyArgs, destroy: bool) -> CliResult {
    if args.json && !args.auto_approve && args.plan_file.is_none() {
        return Err(miette::miette!(
            help = "add -auto-approve (a saved plan file needs no approval)",
            "-json needs -auto-approve: there is no prompt in the machine-readable mode, as in Terraform"
        ));
    }
    let options = ApplyOptions {
        plan_file: args.plan_file.clone(),
        vars: args.vars.inputs(),
        focus: args.focus.focus(),
        destroy,
        lock_timeout: args.lock_timeout,
        policies: args.policy.dirs.clone(),
    };
    let prepared = pipeline::prepare(dir, &options).await?;
    super::print_warnings(&crate::config::warnings::warnings(&prepared.config));
    let destroy = prepared.destroy;
    if args.json {
        super::machine::planned(prepared.plan(), prepared.settled(), prepared.policy());
        if let Some(policy) = prepared.policy().filter(|p| p.denied()) {
            return Err(pipeline::policy_denied(policy));
        }
        return finish(prepared, args, destroy).await;
    }
    if !prepared.settled().is_empty() {
        let lines: String = prepared.settled().iter().map(|n| format!("  - {n}\n")).collect();
        super::print(&format!("An earlier run was stopped mid-call; resolved first:\n{lines}\n"));
    }
    super::print(&render::human(prepared.plan()));
    if let Some(policy) = prepared.policy() {
        super::print(&policy.human());
        if policy.denied() {
            return Err(pipeline::policy_denied(policy));
        }
    }
    if prepared.needs_confirmation() && !args.auto_approve {
        confirm(destroy)?;
    }
    finish(prepared, args, destroy).await
}

/// Executes what was confirmed (or needs no confirmation) and reports it.
async fn finish(prepared: pipeline::Prepared, args: &ApplyArgs, destroy: bool) -> CliResult {
    let stop = Arc::new(AtomicBool::new(false));
    let mut interrupts = super::Interrupts::new().map_err(|e| miette::miette!("listening for Ctrl-C: {e}"))?;
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            interrupts.next().await;
            stop.store(true, Ordering::SeqCst);
            anstream::eprintln!(
                "\nInterrupt received: letting operations in flight finish, starting no new ones... (interrupt again to stop now)"
            );
            // A second Ctrl-C stops at once: every completed operation is in the state, and the
            // calls in flight are recorded as pending, for the next apply to resolve.
            interrupts.next().await;
            anstream::eprintln!(
                "\nSecond interrupt: stopping now. The state records what completed; run apply again to resolve what was in flight."
            );
            std::process::exit(130);
        })
    };
    let applied = pipeline::execute(prepared, args.parallelism, stop, args.json).await;
    watcher.abort();
    let Applied { state, report, unsaved } = applied?;
    if args.json {
        super::machine::applied(&report, destroy, &state.outputs);
    } else {
        print_report(&report, destroy);
    }
    if let Some(e) = unsaved {
        return Err(e);
    }
    if !args.json && report.failed.is_empty() && !report.interrupted && !destroy && !state.outputs.is_empty() {
        super::print("\nOutputs:\n\n");
        super::print(&super::show::render_outputs(&state.outputs));
    }
    let code = if report.interrupted {
        ExitCode::from(130)
    } else if !report.failed.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    std::mem::forget(state);
    Ok(code)
}

fn confirm(destroy: bool) -> Result<(), miette::Report> {
    if !std::io::stdin().is_terminal() {
        return Err(miette::miette!(
            "{} needs confirmation, but there is no terminal to ask on. Review the plan above and re-run with --auto-approve",
            if destroy { "destroy" } else { "apply" }
        ));
    }
    let question =
        if destroy { "Do you really want to destroy all resources?" } else { "Do you want to perform these actions?" };
    print!("\n{question}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| miette::miette!("{e}"))?;
    if answer.trim() != "yes" {
        return Err(miette::miette!("{} cancelled: nothing was changed", if destroy { "destroy" } else { "apply" }));
    }
    Ok(())
}

fn print_report(report: &ApplyReport, destroy: bool) {
    use owo_colors::OwoColorize;
    for (address, because) in &report.skipped {
        super::print(&format!("{}: skipped because {because} failed\n", address.bold()));
    }
    for (address, error) in &report.failed {
        anstream::eprintln!("{} {address}: {error}", "Error:".red().bold());
    }
    if report.interrupted {
        anstream::eprintln!(
            "{} apply was interrupted; the state records everything that completed. Run apply again to continue.",
            "Error:".red().bold()
        );
        return;
    }
    if !report.failed.is_empty() {
        anstream::eprintln!(
            "{} {} operation(s) failed; {} skipped. The state records what succeeded; fix the cause and run apply again.",
            "Error:".red().bold(),
            report.failed.len(),
            report.skipped.len()
        );
        return;
    }
    let line = if destroy {
        format!("{} Resources: {} destroyed.\n", "Destroy complete!".green().bold(), report.destroyed)
    } else {
        format!(
            "{} Resources: {} added, {} changed, {} destroyed.\n",
            "Apply complete!".green().bold(),
            report.added,
            report.changed,
            report.destroyed
        )
    };
    super::print(&format!("\n{line}"));
}
