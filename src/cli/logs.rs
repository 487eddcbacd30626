//! `flinkform logs ADDRESS [-f] [--since D] [--tail N]`: a container's log, or every container
//! of a role or cluster (each line prefixed with its container's name), as `docker logs` shows it.

use super::CliResult;
use clap::Args;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// A container (`cluster.a.jobmanager[0]`), a role (`cluster.a.taskmanager`) or a block (`cluster.a`)
    pub address: String,
    /// Keep following the log
    #[arg(short, long)]
    pub follow: bool,
    /// Only what was logged in this recent time (e.g. 10m, 1h)
    #[arg(long, value_parser = crate::config::parse_duration)]
    pub since: Option<std::time::Duration>,
    /// Only the last N lines of each container
    #[arg(long, value_name = "N")]
    pub tail: Option<u64>,
}

pub async fn run(dir: &Path, args: &LogsArgs) -> CliResult {
    let since = args.since.map(|d| (crate::clock::now_millis() / 1000) as i64 - d.as_secs() as i64);
    let sel = crate::docker::logs::Selection { follow: args.follow, since, tail: args.tail };
    let mut pending: std::collections::BTreeMap<String, String> = Default::default();
    crate::pipeline::logs(dir, &args.address, &sel, &mut |name, text| match name {
        None => super::print(text),
        Some(name) => {
            // Whole lines, each with its container's name.
            let buffer = pending.entry(name.to_string()).or_default();
            buffer.push_str(text);
            while let Some(end) = buffer.find('\n') {
                let line: String = buffer.drain(..=end).collect();
                super::print(&format!("{name} | {line}"));
            }
        }
    })
    .await?;
    for (name, rest) in pending.into_iter().filter(|(_, r)| !r.is_empty()) {
        super::print(&format!("{name} | {rest}\n"));
    }
    Ok(ExitCode::SUCCESS)
}
