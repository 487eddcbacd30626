//! `flinkform show` (the state, for humans) and `flinkform output [NAME]`.

use super::CliResult;
use crate::state::{State, StateOutput};
use clap::Args;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Only this output
    pub name: Option<String>,
    /// Print as JSON
    #[arg(long)]
    pub json: bool,
    /// Print a string value without quotes (for scripts)
    #[arg(long)]
    pub raw: bool,
}

/// The state alone, as Terraform's `show` and `output` read it: no variable needs a value.
fn state_for(dir: &Path) -> Result<State, miette::Report> {
    crate::pipeline::read_state(&crate::pipeline::state_location(dir)?)
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `flinkform plan --out FILE`
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<std::path::PathBuf>,
    /// Print as JSON
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print as Markdown (saved plans)
    #[arg(long)]
    pub markdown: bool,
}

pub fn show(dir: &Path, args: &ShowArgs) -> CliResult {
    if let Some(path) = &args.plan_file {
        // Rendered from the authenticated plan data, never from text stored beside it.
        let saved = crate::pipeline::read_saved_plan(&dir.join(path))?;
        super::print_plan(&saved.plan.to_plan(), None, args.json, args.markdown);
        return Ok(ExitCode::SUCCESS);
    }
    let state = state_for(dir)?;
    if args.json {
        let doc = crate::plan::json::state(&state);
        super::print(&format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default()));
        return Ok(ExitCode::SUCCESS);
    }
    if state.resources.is_empty() {
        super::print("The state is empty: nothing is managed yet.\n");
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    for r in &state.resources {
        out.push_str(&render_resource(r));
    }
    if !state.outputs.is_empty() {
        out.push_str("Outputs:\n\n");
        out.push_str(&render_outputs(&state.outputs));
    }
    super::print(&out);
    Ok(ExitCode::SUCCESS)
}

/// One resource as the state records it.
pub fn render_resource(r: &crate::state::Resource) -> String {
    let mut out = String::new();
    {
        out.push_str(&format!("# {}:\n{} \"{}\" {{\n", r.address, r.kind.as_str(), r.name));
        let mut attrs: BTreeMap<&str, String> =
            r.attributes.iter().map(|(k, v)| (k.as_str(), crate::model::sensitive::display(v))).collect();
        attrs.insert("id", r.id.clone());
        for (port, host) in &r.ports {
            attrs.insert("published", format!("{port} -> {host}"));
        }
        let width = attrs.keys().map(|k| k.len()).max().unwrap_or(0);
        for (k, v) in attrs {
            if v.contains('\n') {
                out.push_str(&format!("    {k:width$} = <<-EOT\n"));
                for line in v.lines() {
                    out.push_str(&format!("        {line}\n"));
                }
                out.push_str("    EOT\n");
            } else {
                out.push_str(&format!("    {k:width$} = {v:?}\n"));
            }
        }
        out.push_str("}\n\n");
    }
    out
}

pub fn render_outputs(outputs: &BTreeMap<String, StateOutput>) -> String {
    outputs.iter().map(|(k, v)| format!("{k} = {}\n", display(v))).collect()
}

fn display(o: &StateOutput) -> String {
    if o.sensitive {
        return "(sensitive value)".into();
    }
    serde_json::to_string(&o.value).unwrap_or_default()
}

pub fn output(dir: &Path, args: &OutputArgs) -> CliResult {
    let state = state_for(dir)?;
    match &args.name {
        Some(name) => {
            let o = state.outputs.get(name).ok_or_else(|| {
                miette::miette!("no output named \"{name}\" in the state; run `flinkform apply` first, or check the name (have: {})", state.outputs.keys().cloned().collect::<Vec<_>>().join(", "))
            })?;
            let text = if args.json && o.sensitive {
                "null".to_string()
            } else if args.json {
                serde_json::to_string(&o.value).unwrap_or_default()
            } else if args.raw {
                match &o.value {
                    serde_json::Value::String(s) if !o.sensitive => s.clone(),
                    _ => display(o),
                }
            } else {
                display(o)
            };
            super::print(&format!("{text}\n"));
        }
        None if args.json => {
            let map = crate::plan::json::outputs(&state.outputs);
            super::print(&format!("{}\n", serde_json::to_string_pretty(&map).unwrap_or_default()));
        }
        None => super::print(&render_outputs(&state.outputs)),
    }
    Ok(ExitCode::SUCCESS)
}
