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
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(dir: &Path, args: &StatusArgs) -> CliResult {
    let clusters = pipeline::status(dir).await?;
    if args.json {
        super::print(&format!("{}\n", serde_json::to_string_pretty(&clusters).unwrap_or_default()));
    } else if clusters.is_empty() {
        super::print("No cluster is recorded in the state: run `flinkform apply` first.\n");
    } else {
        let now_ms = crate::clock::now_millis();
        super::print(&clusters.iter().map(|c| render(c, now_ms)).collect::<String>());
    }
    Ok(ExitCode::SUCCESS)
}

fn render(c: &ClusterStatus, now_ms: u64) -> String {
    use owo_colors::OwoColorize;
    let mut out = String::new();
    let version = c.flink_version.as_deref().map(|v| format!("  Flink {v}")).unwrap_or_default();
    let _ = writeln!(out, "{}  {}{version}", c.cluster.bold(), c.rest_url);
    if let Some(why) = &c.unreachable {
        let _ = writeln!(out, "  {} {why}\n", "REST API not answering:".red());
        return out;
    }
    let _ = writeln!(
        out,
        "  TaskManagers: {} registered; slots: {} of {} free",
        c.taskmanagers, c.slots_available, c.slots_total
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
    format!(
        "  {who}: {}{restarts}; checkpoints: {} completed, {} failed{last} [id={}]\n",
        j.state, c.completed, c.failed, j.jid
    )
}
