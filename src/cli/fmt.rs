//! `flinkform fmt`: rewrite `*.hcl` and `*.vars` files in the canonical layout
//! ([`crate::config::format`]). `--check` writes nothing and exits 3 when a file would change;
//! `--diff` shows what would change.

use super::CliResult;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Write nothing; exit 3 when a file is not formatted
    #[arg(long)]
    pub check: bool,
    /// Show the changes as a unified diff
    #[arg(long)]
    pub diff: bool,
    /// Also format files in subdirectories
    #[arg(long)]
    pub recursive: bool,
}

fn files(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if p.is_dir() {
            if recursive && !name.starts_with('.') && name != "target" {
                files(&p, recursive, out);
            }
        } else if name.ends_with(".hcl") || name.ends_with(".vars") {
            out.push(p);
        }
    }
}

pub fn run(dir: &Path, args: &FmtArgs) -> CliResult {
    let mut paths = Vec::new();
    files(dir, args.recursive, &mut paths);
    let mut changed = Vec::new();
    for path in &paths {
        let src = std::fs::read_to_string(path).map_err(|e| miette::miette!("cannot read {}: {e}", path.display()))?;
        let out = crate::config::format::format(&src).map_err(|e| miette::miette!("{}: {e}", path.display()))?;
        if out == src {
            continue;
        }
        let shown = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        if args.diff {
            let diff = similar::TextDiff::from_lines(&src, &out);
            super::print(&format!("{}", diff.unified_diff().context_radius(3).header(&shown, &shown)));
        }
        if !args.check {
            crate::state::write_atomic(path, out.as_bytes())
                .map_err(|e| miette::miette!("cannot write {shown}: {e}"))?;
            // write_atomic makes files 0600 (it is the state's writer): give the file back its mode.
            if let Ok(meta) = std::fs::metadata(path) {
                use std::os::unix::fs::PermissionsExt;
                let mut perm = meta.permissions();
                perm.set_mode(0o644);
                let _ = std::fs::set_permissions(path, perm);
            }
        }
        super::print(&format!("{shown}\n"));
        changed.push(shown);
    }
    if args.check && !changed.is_empty() {
        return Ok(ExitCode::from(3));
    }
    Ok(ExitCode::SUCCESS)
}
