//! `flinkform console`: expressions evaluated as the root module sees them — variables, locals,
//! resources (`cluster.x.rest_url` with the port the state records), modules' outputs and every
//! function — one per line, as `terraform console` does. A value computed from a sensitive one
//! prints as `(sensitive value)`.

use super::diag::{Loc, SourceFile, Sources};
use super::library::{TimestampMode, with_timestamp};
use super::{Config, ConfigErrors, PortLookup, eval};
use hcl::Value;
use hcl::eval::Context;
use std::collections::{BTreeMap, BTreeSet};

/// What the root module's expressions see, kept after it was evaluated.
#[derive(Debug, Clone, Default)]
pub struct RootScope {
    /// Namespace (`local`, `cluster`, `module`, …) → its object.
    pub namespaces: BTreeMap<String, Value>,
    /// `var.x`, `local.y`, `module.m.out` that are sensitive.
    pub sensitive: BTreeSet<String>,
}

pub struct Console {
    ctx: Context<'static>,
    sensitive: BTreeSet<String>,
}

impl Config {
    /// A console over this configuration, cluster ports as `rest_port` gives them (the state's).
    pub fn console(&self, rest_port: PortLookup) -> Result<Console, ConfigErrors> {
        let again = self.evaluate_again(rest_port, TimestampMode::Now)?;
        let mut ctx = eval::context(&[("var", super::object(&again.var_values))]);
        let path = [("module", &again.dir), ("root", &again.dir)]
            .map(|(k, d)| (k.to_string(), Value::from(d.display().to_string())));
        ctx.declare_var("path", Value::Object(path.into_iter().collect()));
        for (ns, value) in &again.root.namespaces {
            ctx.declare_var(ns.clone(), value.clone());
        }
        Ok(Console { ctx, sensitive: again.root.sensitive })
    }
}

impl Console {
    /// One line: its value as HCL, or why it cannot be evaluated.
    pub fn eval(&self, line: &str) -> Result<String, String> {
        let expr = hcl::edit::parser::parse_expr(line).map_err(|e| format!("not an expression: {e}"))?;
        if eval::is_sensitive(&expr, &self.sensitive) {
            return Ok(super::SENSITIVE_SHOWN.to_string());
        }
        let sources = Sources {
            files: vec![SourceFile { name: "<console>".into(), path: "<console>".into(), text: line.to_string() }],
        };
        let loc = Loc::new(0, Some(0..line.len()));
        let value = with_timestamp(TimestampMode::Now, || eval::eval_expr(&self.ctx, &expr, &loc, &sources))
            .map_err(|e| e.message)?;
        Ok(show(&value))
    }
}

/// A value as `terraform console` prints it (HCL: strings quoted, collections one item a line).
fn show(value: &Value) -> String {
    let expr = hcl::Expression::from(value.clone());
    hcl::format::to_string(&expr).unwrap_or_else(|_| value.to_string())
}
