//! Repetition and meta-arguments of resource blocks: the instance keys `count` and `for_each`
//! give (`[0]`, `["eu"]`), and `depends_on` / `lifecycle`, read from the raw block because they
//! name blocks and attributes rather than values.

use super::eval;
use super::module::{Env, Loader, RESOURCE_KINDS, Scope};
use super::raw::RawBlock;
use super::types::{InstanceKey, Meta};
use hcl::Value;
use hcl::edit::expr::{Expression, TraversalOperator};
use hcl::eval::Context;
use std::collections::BTreeSet;

impl Loader<'_> {
    /// `None` without count/for_each; else one key per instance.
    pub(super) fn instance_keys(&mut self, b: &RawBlock, ctx: &Context, env: &Env) -> Option<Vec<InstanceKey>> {
        let (count, for_each) = (b.attrs.get("count"), b.attrs.get("for_each"));
        if let (Some(_), Some(f)) = (count, for_each) {
            self.error(
                &f.key_loc,
                "`count` and `for_each` cannot both be set",
                "second repetition",
                "keep one of them".into(),
            );
            return Some(Vec::new());
        }
        if let Some(c) = count {
            let v = eval::eval_attr(ctx, c, &self.sources).map_err(|e| self.errors.push(e)).ok()?;
            return match v.as_u64().filter(|_| v.is_number()) {
                Some(n) if n <= 100_000 => Some((0..n as usize).map(InstanceKey::Index).collect()),
                _ => {
                    self.error(
                        &c.value_loc,
                        format!("`count` must be a whole number ≥ 0, got {}", eval::describe(&v)),
                        "invalid count",
                        "write `count = 3`, or `count = var.enabled ? 1 : 0`".into(),
                    );
                    Some(Vec::new())
                }
            };
        }
        let f = for_each?;
        if eval::is_sensitive(&f.expr, &env.sensitive) {
            self.error(
                &f.value_loc,
                "`for_each` cannot use a sensitive value: its keys become addresses shown in every plan",
                "sensitive",
                "iterate over a non-sensitive map or set and look the secret up inside".into(),
            );
            return Some(Vec::new());
        }
        let v = eval::eval_attr(ctx, f, &self.sources).map_err(|e| self.errors.push(e)).ok()?;
        match v {
            Value::Object(o) => {
                let mut keys: Vec<_> = o.into_iter().map(|(k, v)| InstanceKey::Each(k, v)).collect();
                keys.sort_by_key(InstanceKey::label);
                Some(keys)
            }
            Value::Array(items) => {
                let mut set = BTreeSet::new();
                for item in items {
                    match item {
                        Value::String(s) => {
                            set.insert(s);
                        }
                        other => {
                            self.error(
                                &f.value_loc,
                                format!("`for_each` over a list needs strings, got {}", eval::describe(&other)),
                                "not a set of strings",
                                "use a set of strings or a map: `for_each = { eu = 2, us = 3 }`".into(),
                            );
                            return Some(Vec::new());
                        }
                    }
                }
                Some(set.into_iter().map(|s| InstanceKey::Each(s.clone(), Value::from(s))).collect())
            }
            other => {
                self.error(
                    &f.value_loc,
                    format!("`for_each` must be a map or a set of strings, got {}", eval::describe(&other)),
                    "invalid for_each",
                    "write `for_each = { eu = 2, us = 3 }` or `for_each = toset([\"a\", \"b\"])`".into(),
                );
                Some(Vec::new())
            }
        }
    }

    /// `depends_on` and `lifecycle`, read from the raw block (they name attributes and blocks,
    /// not values).
    pub(super) fn meta(&mut self, scope: &Scope, b: &RawBlock, mut deps: Vec<String>) -> Meta {
        let mut meta = Meta::default();
        if let Some(d) = b.attrs.get("depends_on") {
            match &d.expr {
                Expression::Array(items) => {
                    for item in items.iter() {
                        match traversal_names(item) {
                            Some((ns, name)) if ns == "module" => deps.push(format!("{}module.{name}", scope.prefix)),
                            Some((ns, name)) if RESOURCE_KINDS.contains(&ns.as_str()) => {
                                deps.push(format!("{}{ns}.{name}", scope.prefix))
                            }
                            _ => self.errors.push(self.sources.error(
                                &d.value_loc,
                                "`depends_on` lists blocks: cluster.x, container.y, job.z, network.n, volume.v, module.m",
                                "not a block reference",
                                Some("write `depends_on = [container.kafka]`".into()),
                            )),
                        }
                    }
                }
                _ => self.errors.push(self.sources.error(
                    &d.value_loc,
                    "`depends_on` must be a list of block references",
                    "not a list",
                    Some("write `depends_on = [container.kafka]`".into()),
                )),
            }
        }
        deps.sort();
        deps.dedup();
        meta.depends_on = deps;
        if let Some(l) = b.block("lifecycle") {
            if let Some(p) = l.attrs.get("prevent_destroy") {
                match eval::eval_attr(&eval::context(&[]), p, &self.sources) {
                    Ok(Value::Bool(v)) => meta.prevent_destroy = v,
                    Ok(other) => self.errors.push(self.sources.error(
                        &p.value_loc,
                        format!("`prevent_destroy` must be true or false, got {}", eval::describe(&other)),
                        "not a bool",
                        Some("write `prevent_destroy = true`".into()),
                    )),
                    // As in Terraform: the guard is read before anything is evaluated, so a
                    // variable cannot switch it off for one run.
                    Err(_) => self.errors.push(self.sources.error(
                        &p.value_loc,
                        "`prevent_destroy` must be a literal true or false: variables and references are not allowed here",
                        "not a literal",
                        Some("write `prevent_destroy = true`, and edit it to false (in a reviewed change) to allow the destroy".into()),
                    )),
                }
            }
            if let Some(i) = l.attrs.get("ignore_changes") {
                match &i.expr {
                    Expression::Array(items) => {
                        for item in items.iter() {
                            match item {
                                Expression::Variable(v) => meta.ignore_changes.push(v.as_str().to_string()),
                                Expression::String(s) => meta.ignore_changes.push(s.as_str().to_string()),
                                Expression::Traversal(t) => {
                                    if let (Expression::Variable(root), Some(op)) = (&t.expr, t.operators.first()) {
                                        let key = match op.value() {
                                            TraversalOperator::GetAttr(a) => a.as_str().to_string(),
                                            TraversalOperator::Index(Expression::String(s)) => s.as_str().to_string(),
                                            _ => String::new(),
                                        };
                                        meta.ignore_changes.push(format!("{}.{key}", root.as_str()));
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                    _ => self.errors.push(self.sources.error(
                        &i.value_loc,
                        "`ignore_changes` must be a list of attribute names",
                        "not a list",
                        Some("write `ignore_changes = [image, env]`".into()),
                    )),
                }
            }
        }
        meta
    }
}

/// `cluster.x` → ("cluster", "x").
fn traversal_names(e: &Expression) -> Option<(String, String)> {
    let Expression::Traversal(t) = e else { return None };
    let Expression::Variable(root) = &t.expr else { return None };
    match t.operators.first()?.value() {
        TraversalOperator::GetAttr(a) => Some((root.as_str().to_string(), a.as_str().to_string())),
        _ => None,
    }
}
