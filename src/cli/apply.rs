//! `flinkform apply` and `flinkform destroy`: lock the state, plan, confirm, execute, report.

use super::{CliResult, VarArgs};
use crate::apply::ApplyReport;
use crate::plan::render;
use crate::plan::saved::SavedPlan;
use crate::state::{StateLock, StateOutput, StateWriter};
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
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub lock_timeout: Duration,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("\"{s}\" is not a duration such as 30s or 2m"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("\"{s}\" is not a duration such as 30s or 2m")),
    }
}

pub async fn run(dir: &Path, args: &ApplyArgs, destroy: bool) -> CliResult {
    let saved = match &args.plan_file {
        Some(path) if destroy => {
            return Err(miette::miette!(
                "destroy takes no plan file; use `flinkform plan --destroy --out {}` and `apply` it",
                path.display()
            ));
        }
        Some(path) => Some(SavedPlan::read(&dir.join(path)).map_err(|e| miette::miette!("{e}"))?),
        None => None,
    };
    let destroy = destroy || saved.as_ref().is_some_and(|s| s.destroy);
    let vars = match &saved {
        Some(s) => VarArgs { vars: s.vars.clone(), var_files: s.var_files.iter().map(Into::into).collect() },
        None => args.vars.clone(),
    };
    let operation = if destroy { "destroy" } else { "apply" };
    // Once the state's lock is held, Docker can be asked while the rest of the configuration is
    // evaluated (a snapshot taken before the lock could miss what its holder was changing). A
    // busy lock is waited for only once the configuration is known to be valid.
    let mut early = None;
    let config = super::load_config_then(dir, &vars, &mut |settings| {
        let taken = StateLock::try_take(&dir.join(&settings.state_path));
        early = Some(taken.and_then(|lock| {
            lock.map(|mut lock| {
                let observing = super::start_observing(settings);
                lock.announce(operation).map(|()| (lock, observing))
            })
            .transpose()
        }));
    })?;
    let (_lock, started) = match early.transpose().map_err(|e| miette::miette!("{e}"))?.flatten() {
        Some((lock, observing)) => (lock, Some(observing)),
        None => (
            StateLock::acquire(&config.state_path(), operation, args.lock_timeout)
                .map_err(|e| miette::miette!("{e}"))?,
            None,
        ),
    };
    let focus = match &saved {
        Some(s) => super::FocusArgs { targets: s.targets.clone(), replace: s.replace.clone() },
        None => args.focus.clone(),
    };
    let super::plan::Planned { state, engine, live, plan } =
        super::plan::make_plan(&config, destroy, true, &focus, started).await?;
    let engine = engine.expect("apply always observes Docker");
    if let Some(s) = &saved {
        s.check(&config, &state, &live, &plan).map_err(|e| miette::miette!("{e}"))?;
    }
    super::print(&render::human(&plan));

    if plan.has_changes() && !args.auto_approve && saved.is_none() {
        confirm(destroy)?;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                stop.store(true, Ordering::SeqCst);
                anstream::eprintln!(
                    "\nInterrupt received: letting operations in flight finish, starting no new ones..."
                );
            }
        })
    };
    let writer = StateWriter::new(&config.state_path(), &state);
    let (mut state, mut writer, report, err) =
        crate::apply::apply(&engine, &plan, &config.settings.project, state, writer, args.parallelism, stop).await;
    watcher.abort();
    if let Some(e) = err {
        return Err(miette::miette!("{e}"));
    }

    // Outputs, now that every value is known.
    let outputs =
        if destroy { Ok(Default::default()) } else { config.evaluate_outputs(&|c| super::rest_port_from(&state, c)) };
    let outputs = outputs.map_err(miette::Report::new)?;
    state.outputs = outputs
        .iter()
        .map(|(k, v)| {
            let value = super::plan::output_value(&v.value, v.sensitive, &state.salt);
            (k.clone(), StateOutput { value, sensitive: v.sensitive })
        })
        .collect();
    writer.save(&mut state).map_err(|e| miette::miette!("{e}"))?;

    if let (Some(s), Some(path)) = (&saved, args.plan_file.as_ref().map(|p| dir.join(p))) {
        let mut s = s.clone();
        s.applied = true;
        s.write(&path).map_err(|e| miette::miette!("cannot mark {} as applied: {e}", path.display()))?;
    }
    print_report(&report, destroy);
    if report.failed.is_empty() && !report.interrupted && !destroy && !state.outputs.is_empty() {
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
    // The process ends now: freeing what was planned and observed one allocation at a time
    // would cost a no-op apply more than its own work.
    std::mem::forget((config, state, live, plan));
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
