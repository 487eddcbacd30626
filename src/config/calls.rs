//! `module` blocks: a call loads the module's directory, binds the call's attributes to the
//! module's variables (typed, validated, sensitive when the expression is), and evaluates the
//! module under its address prefix — once, or once per instance of its `count`/`for_each`
//! (`module.x[0].`, `module.x["eu"].`), as Terraform does.

use super::diag::{self, Loc, SourceFile};
use super::module::{Env, Inputs, Loader, MAX_DEPTH, Scope};
use super::raw::{self, RawBlock};
use super::types::{InstanceKey, OutputValue};
use super::{eval, vars};
use hcl::Value;
use hcl::eval::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

impl Loader<'_> {
    /// A `module` block: loads its source once, then per instance binds inputs to its
    /// variables and evaluates it. Returns the value `module.<name>` has in expressions (the
    /// outputs' object; a list of them with `count`, a map with `for_each`) and the names of
    /// the outputs that are sensitive in any instance.
    pub(super) fn call(
        &mut self,
        scope: &Scope,
        b: &RawBlock,
        ctx: &mut Context,
        env: &Env,
        deps: Vec<String>,
    ) -> (Value, BTreeSet<String>) {
        let empty = (Value::Object(Default::default()), BTreeSet::new());
        let keys = self.instance_keys(b, ctx, env);
        let Some((rel, dir, at)) = self.module_source(scope, b) else { return empty };
        let Some(blocks) = self.read_module(&dir, &at, &rel) else { return empty };
        let mut sensitive = BTreeSet::new();
        let mut instance = |this: &mut Self, ctx: &Context, key: &InstanceKey| {
            let outputs = this.call_instance(scope, b, ctx, env, &deps, (&rel, &dir, &blocks), key);
            sensitive.extend(outputs.iter().filter(|(_, o)| o.sensitive).map(|(k, _)| k.clone()));
            Value::Object(outputs.into_iter().map(|(k, o)| (k, o.value)).collect())
        };
        let Some(keys) = keys else {
            let value = instance(self, ctx, &InstanceKey::None);
            return (value, sensitive);
        };
        let (mut list, mut map) = (Vec::new(), hcl::Map::new());
        for key in keys {
            key.declare(ctx);
            let value = instance(self, ctx, &key);
            match key {
                InstanceKey::Each(k, _) => {
                    map.insert(k, value);
                }
                _ => list.push(value),
            }
        }
        let value = if b.attrs.contains_key("for_each") { Value::Object(map) } else { Value::Array(list) };
        (value, sensitive)
    }

    /// One instance of a module call: its inputs bound and validated, the module evaluated
    /// under `module.<name><key>.`; returns its outputs.
    #[allow(clippy::too_many_arguments)]
    fn call_instance(
        &mut self,
        scope: &Scope,
        b: &RawBlock,
        ctx: &Context,
        env: &Env,
        deps: &[String],
        (rel, dir, blocks): (&str, &Path, &[RawBlock]),
        key: &InstanceKey,
    ) -> BTreeMap<String, OutputValue> {
        let name = b.label();
        let inputs = self.module_inputs(b, ctx, env, rel, blocks);
        self.validate(&inputs);
        let mut callers = scope.callers.clone();
        callers.push(scope.dir.clone());
        let child = Scope {
            prefix: format!("{}module.{name}{}.", scope.prefix, key.address_suffix()),
            stem: format!("{}{name}{}-", scope.stem, key.stem_suffix()),
            dir: dir.to_path_buf(),
            inherited: deps.to_vec(),
            depth: scope.depth + 1,
            callers,
        };
        self.module(&child, blocks, &inputs)
    }

    /// A module block's `source`: a literal directory, not one of its callers, within the depth
    /// limit. Returns (as written, the directory, where it is written).
    fn module_source(&mut self, scope: &Scope, b: &RawBlock) -> Option<(String, PathBuf, Loc)> {
        let name = b.label();
        let Some(source) = b.attrs.get("source") else {
            self.error(
                &b.loc,
                format!("module \"{name}\" has no `source`"),
                "missing source",
                "add `source = \"./modules/flink-session\"` (a directory relative to this file's module)".into(),
            );
            return None;
        };
        let Ok(Value::String(rel)) = eval::eval_attr(&eval::context(&[]), source, &self.sources) else {
            self.error(
                &source.value_loc,
                "a module `source` must be a literal string",
                "not a literal string",
                "write `source = \"./path/to/module\"`".into(),
            );
            return None;
        };
        let dir = scope.dir.join(&rel);
        if scope.depth >= MAX_DEPTH {
            self.error(
                &source.value_loc,
                format!("modules nest deeper than {MAX_DEPTH} levels: does \"{rel}\" call itself?"),
                "too deep",
                "a module must not call itself, directly or through others".into(),
            );
            return None;
        }
        let canonical = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let here = canonical(&dir);
        if scope.callers.iter().chain([&scope.dir]).any(|c| canonical(c) == here) {
            self.error(
                &source.value_loc,
                format!("module \"{name}\" calls \"{rel}\", which is already being expanded: a module cycle"),
                "calls itself",
                "a module must not call itself, directly or through others".into(),
            );
            return None;
        }
        Some((rel, dir, source.value_loc.clone()))
    }

    /// The values of a module's variables from the module block's arguments (defaults
    /// otherwise); unknown and missing inputs are reported.
    fn module_inputs(&mut self, b: &RawBlock, ctx: &Context, env: &Env, rel: &str, blocks: &[RawBlock]) -> Inputs {
        let name = b.label();
        let mut variables = BTreeMap::new();
        for v in blocks.iter().filter(|v| v.ident == "variable") {
            let decl = vars::declare(v, &self.sources, &mut self.errors);
            variables.insert(decl.name.clone(), decl);
        }
        let mut values = BTreeMap::new();
        let mut sensitive = BTreeSet::new();
        for (input, attr) in &b.attrs {
            if matches!(input.as_str(), "source" | "depends_on" | "count" | "for_each") {
                continue;
            }
            let Some(decl) = variables.get(input) else {
                let help = diag::suggest(input, variables.keys().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        format!("the module's variables: {}", variables.keys().cloned().collect::<Vec<_>>().join(", "))
                    });
                self.error(
                    &attr.key_loc,
                    format!("module \"{name}\" ({rel}) has no variable `{input}`"),
                    "unknown input",
                    help,
                );
                continue;
            };
            let value = match eval::eval_attr(ctx, attr, &self.sources) {
                Ok(v) => v,
                Err(e) => {
                    self.errors.push(e);
                    continue;
                }
            };
            if decl.sensitive || eval::is_sensitive(&attr.expr, &env.sensitive) {
                sensitive.insert(input.clone());
            }
            match vars::finalize(decl, Some(value), &attr.value_loc, &self.sources, sensitive.contains(input)) {
                Ok(v) => {
                    values.insert(input.clone(), v);
                }
                Err(e) => self.errors.extend(e),
            }
        }
        let mut missing = Vec::new();
        for (vname, decl) in &variables {
            if decl.sensitive {
                sensitive.insert(vname.clone());
            }
            if values.contains_key(vname) {
                continue;
            }
            match vars::finalize(decl, None, &b.loc, &self.sources, decl.sensitive) {
                Ok(v) => {
                    values.insert(vname.clone(), v);
                }
                Err(_) => missing.push(vname.clone()),
            }
        }
        if !missing.is_empty() {
            self.error(
                &b.loc,
                format!("module \"{name}\" ({rel}) needs a value for: {}", missing.join(", ")),
                "required inputs missing",
                format!(
                    "set them in the module block: {}",
                    missing.iter().map(|m| format!("{m} = …")).collect::<Vec<_>>().join(", ")
                ),
            );
        }
        Inputs { variables, values, sensitive }
    }

    /// Checks every variable's `validation` blocks against its value.
    pub fn validate(&mut self, inputs: &Inputs) {
        for (name, decl) in &inputs.variables {
            let Some(value) = inputs.values.get(name) else { continue };
            for v in &decl.validations {
                let ctx =
                    eval::context(&[("var", Value::Object([(name.clone(), value.clone())].into_iter().collect()))]);
                let loc = v.loc.clone();
                match eval::eval_expr(&ctx, &v.condition, &loc, &self.sources) {
                    Ok(Value::Bool(true)) => {}
                    Ok(Value::Bool(false)) => self.errors.push(self.sources.error(
                        &loc,
                        format!("invalid value for variable `{name}`: {}", v.error_message),
                        "validation failed",
                        Some(format!("this validation of `{name}` failed; give a value it accepts")),
                    )),
                    Ok(other) => self.errors.push(self.sources.error(
                        &loc,
                        format!(
                            "the validation condition of `{name}` must be true or false, got {}",
                            if inputs.sensitive.contains(name) {
                                super::SENSITIVE_SHOWN.into()
                            } else {
                                eval::describe(&other)
                            }
                        ),
                        "not a bool",
                        Some("write a condition such as `var.x > 0`".into()),
                    )),
                    Err(e) => self.errors.push(e),
                }
            }
        }
    }

    fn read_module(&mut self, dir: &Path, at: &Loc, rel: &str) -> Option<Vec<RawBlock>> {
        let mut paths = super::files::list(dir);
        paths.retain(|p| p.extension().is_some_and(|e| e == "hcl") && super::files::is_file(p));
        paths.sort();
        if paths.is_empty() {
            self.error(
                at,
                format!("module source \"{rel}\" has no configuration files (*.hcl) at {}", dir.display()),
                "no module here",
                "the path is relative to the directory of the file that calls the module".into(),
            );
            return None;
        }
        let mut blocks = Vec::new();
        for path in paths {
            let text = super::files::read_to_string(&path).unwrap_or_default();
            let name =
                path.strip_prefix(&self.root).map(|p| p.display().to_string()).unwrap_or(path.display().to_string());
            // A module called twice is read once: its file keeps one index for all diagnostics.
            let file = match self.sources.files.iter().position(|f| f.path == path) {
                Some(i) => i,
                None => {
                    self.sources.files.push(SourceFile { name, path: path.clone(), text });
                    self.sources.files.len() - 1
                }
            };
            let mut errors = Vec::new();
            match raw::parse_file(&self.sources, file) {
                Ok(body) => blocks.extend(raw::collect(&self.sources, file, &body, raw::TOP_LEVEL, &mut errors)),
                Err(e) => errors.push(e),
            }
            if let Some(f) = blocks.iter().find(|b| b.ident == "flinkform") {
                errors.push(self.sources.error(
                    &f.loc,
                    "a `flinkform` settings block belongs in the root configuration, not in a module",
                    "in a module",
                    Some("move it to the root configuration".into()),
                ));
            }
            for e in errors {
                if !self.errors.iter().any(|x| x.message == e.message) {
                    self.errors.push(e);
                }
            }
        }
        Some(blocks)
    }
}
