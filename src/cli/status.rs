//! `flinkform status`: each cluster's health without a browser (registered TaskManagers, free
//! slots, jobs, restarts, last checkpoint), for humans or as JSON.

use super::CliResult;
use crate::pipeline::{self, ClusterStatus, JobStatus};
use clap::Args;
use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print as JSON (with --watch: one document a line, each refresh)
    #[arg(long)]
    pub json: bool,
    /// Refresh until Ctrl-C: in place on a terminal, one screen after another otherwise
    #[arg(short, long)]
    pub watch: bool,
    /// How often --watch refreshes
    #[arg(long, default_value = "2s", value_parser = crate::config::parse_duration)]
    pub interval: std::time::Duration,
}

pub async fn run(dir: &Path, args: &StatusArgs) -> CliResult {
    if !args.watch {
        super::print(&screen(&pipeline::status(dir).await?, args.json, true));
        return Ok(ExitCode::SUCCESS);
    }
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut interrupts = super::Interrupts::new().map_err(|e| miette::miette!("listening for Ctrl-C: {e}"))?;
    loop {
        let clusters = tokio::select! {
            clusters = pipeline::status(dir) => clusters?,
            _ = interrupts.next() => return Ok(ExitCode::SUCCESS),
        };
        let text = screen(&clusters, args.json, false);
        if terminal && !args.json {
            // Home and clear, then the screen: redrawn in place, as `watch` does.
            let every = humantime::format_duration(args.interval);
            super::print(&format!("\x1b[H\x1b[2JEvery {every} (Ctrl-C to stop)\n\n{text}"));
        } else {
            super::print(&text);
        }
        tokio::select! {
            _ = tokio::time::sleep(args.interval) => {}
            _ = interrupts.next() => return Ok(ExitCode::SUCCESS),
        }
    }
}

/// One refresh: pretty JSON, one JSON line (`pretty` false), or the human screen.
fn screen(clusters: &[ClusterStatus], json: bool, pretty: bool) -> String {
    if json {
        let doc = if pretty { serde_json::to_string_pretty(clusters) } else { serde_json::to_string(clusters) };
        format!("{}\n", doc.unwrap_or_default())
    } else if clusters.is_empty() {
        "No cluster is recorded in the state: run `flinkform apply` first.\n".into()
    } else {
        let now_ms = crate::clock::now_millis();
        clusters.iter().map(|c| render(c, now_ms)).collect()
    }
}

/// A container `running`, or a swarm service with every replica's task running (`2/2 running`).
fn healthy(state: &str) -> bool {
    state == "running"
        || state
            .strip_suffix(" running")
            .and_then(|n| n.split_once('/'))
            .is_some_and(|(running, wanted)| running == wanted)
}

fn render(c: &ClusterStatus, now_ms: u64) -> String {
    use owo_colors::OwoColorize;
    let mut out = String::new();
    let version = c.flink_version.as_deref().map(|v| format!("  Flink {v}")).unwrap_or_default();
    let _ = writeln!(out, "{}  {}{version}", c.cluster.bold(), c.rest_url);
    if !c.containers.is_empty() {
        let prefix = format!("{}.", c.cluster);
        let each: Vec<String> = c
            .containers
            .iter()
            .map(|k| {
                let state = if healthy(&k.state) { k.state.green().to_string() } else { k.state.red().to_string() };
                let nodes = if k.nodes.is_empty() { String::new() } else { format!(" on {}", k.nodes.join(", ")) };
                format!("{} {state}{nodes}", k.address.strip_prefix(&prefix).unwrap_or(&k.address))
            })
            .collect();
        let _ = writeln!(out, "  Containers: {}", each.join(", "));
    }
    if let Some(why) = &c.unreachable {
        let _ = writeln!(out, "  {} {why}\n", "REST API not answering:".red());
        return out;
    }
    let _ = writeln!(
        out,
        "  TaskManagers: {} registered ({} configured); slots: {} of {} free",
        c.taskmanagers, c.taskmanagers_expected, c.slots_available, c.slots_total
    );
    if c.jobs.is_empty() {
        out.push_str("  Jobs: none\n");
    }
    for j in &c.jobs {
        out.push_str(&job_line(j, now_ms));
    }
    out.push('\n');
    out
}

fn job_line(j: &JobStatus, now_ms: u64) -> String {
    let who = j.address.clone().unwrap_or_else(|| format!("{} (not managed)", j.name));
    let restarts = j.restarts.map(|n| format!("; restarts: {n}")).unwrap_or_default();
    let c = &j.checkpoints;
    let last = match (c.latest_id, c.latest_completed_ms) {
        (Some(id), Some(at)) => format!(", last #{id} {}s ago", now_ms.saturating_sub(at) / 1000),
        _ => String::new(),
    };
    let up = match j.duration_ms.filter(|_| j.state == "RUNNING") {
        Some(ms) => format!("; up {}", humantime::format_duration(std::time::Duration::from_secs(ms / 1000))),
        None => String::new(),
    };
    format!(
        "  {who}: {}{restarts}; checkpoints: {} completed, {} failed{last}{up} [id={}]\n",
        j.state, c.completed, c.failed, j.jid
    )
}
