//! Variable declarations and their values, from every source in Terraform's precedence
//! (later wins): default < `FLINKFORM_VAR_<name>` < `flinkform.vars` < `*.auto.vars` (sorted)
//! < `--var-file` < `--var`.

use super::diag::{ConfigError, Loc, SourceFile, Sources};
use super::eval;
use super::raw::RawBlock;
use super::types::{VarType, Variable};
use hcl::Value;
use hcl::edit::Span;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Variable values given on the command line.
#[derive(Debug, Clone, Default)]
pub struct VarInputs {
    pub var_files: Vec<PathBuf>,
    /// `name=value` pairs, in order.
    pub vars: Vec<String>,
}

/// Reads a `variable` block (its attributes are constant expressions).
pub fn declare(block: &RawBlock, sources: &Sources, errors: &mut Vec<ConfigError>) -> Variable {
    let ctx = eval::context(&[]);
    let mut v = Variable {
        name: block.label().to_string(),
        ty: VarType::Any,
        default: None,
        description: None,
        sensitive: false,
        loc: block.loc.clone(),
    };
    if let Some(t) = block.attrs.get("type") {
        let name = match &t.expr {
            hcl::edit::expr::Expression::Variable(i) => i.as_str().to_string(),
            _ => String::new(),
        };
        v.ty = match name.as_str() {
            "string" => VarType::String,
            "number" => VarType::Number,
            "bool" => VarType::Bool,
            "any" => VarType::Any,
            _ => {
                errors.push(sources.error(
                    &t.value_loc,
                    format!("unsupported type for variable `{}`", v.name),
                    "unknown type",
                    Some("use one of: string, number, bool, any".into()),
                ));
                VarType::Any
            }
        };
    }
    for (name, attr) in &block.attrs {
        if name == "type" {
            continue;
        }
        match eval::eval_attr(&ctx, attr, sources) {
            Err(e) => errors.push(e),
            Ok(value) => match name.as_str() {
                "default" => match convert(v.ty, value) {
                    Ok(d) => v.default = Some(d),
                    Err(msg) => errors.push(sources.error(
                        &attr.value_loc,
                        format!("default of variable `{}` {msg}", v.name),
                        "wrong type",
                        Some(format!("give a {} default or change `type`", type_name(v.ty))),
                    )),
                },
                "description" => v.description = value.as_str().map(str::to_string),
                "sensitive" => v.sensitive = value.as_bool().unwrap_or(false),
                _ => {}
            },
        }
    }
    v
}

pub fn type_name(t: VarType) -> &'static str {
    match t {
        VarType::Any => "any",
        VarType::String => "string",
        VarType::Number => "number",
        VarType::Bool => "bool",
    }
}

/// Converts a value to the declared type, as Terraform does for primitives.
pub fn convert(ty: VarType, value: Value) -> Result<Value, String> {
    match (ty, value) {
        (VarType::Any, v) => Ok(v),
        (VarType::String, Value::String(s)) => Ok(Value::String(s)),
        (VarType::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (VarType::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (VarType::Number, Value::Number(n)) => Ok(Value::Number(n)),
        (VarType::Number, Value::String(s)) => {
            super::functions::parse_number(&s).ok_or_else(|| format!("must be a number, got string \"{s}\""))
        }
        (VarType::Bool, Value::Bool(b)) => Ok(Value::Bool(b)),
        (VarType::Bool, Value::String(s)) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
        (ty, v) => Err(format!("must be a {}, got {}", type_name(ty), eval::describe(&v))),
    }
}

/// Every value source, lowest precedence first. Var files are added to `sources` so their
/// errors point into them too.
pub fn resolve(
    dir: &Path,
    inputs: &VarInputs,
    decls: &BTreeMap<String, Variable>,
    sources: &mut Sources,
    errors: &mut Vec<ConfigError>,
) -> BTreeMap<String, Value> {
    let mut raw: BTreeMap<String, (Value, Option<Loc>)> = BTreeMap::new();
    for (k, v) in std::env::vars() {
        if let Some(name) = k.strip_prefix("FLINKFORM_VAR_")
            && decls.contains_key(name)
        {
            raw.insert(name.to_string(), (Value::String(v), None));
        }
    }
    let mut files = Vec::new();
    let default_file = dir.join("flinkform.vars");
    if default_file.is_file() {
        files.push(default_file);
    }
    let mut auto: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    auto.retain(|p| p.to_string_lossy().ends_with(".auto.vars"));
    auto.sort();
    files.extend(auto);
    files.extend(inputs.var_files.iter().cloned());
    for path in files {
        read_var_file(&path, dir, decls, sources, errors, &mut raw);
    }
    for pair in &inputs.vars {
        let Some((k, v)) = pair.split_once('=') else {
            errors.push(cli_error(sources, format!("--var \"{pair}\" is not of the form name=value")));
            continue;
        };
        if !decls.contains_key(k) {
            errors.push(cli_error(
                sources,
                format!("--var {k}: no variable named \"{k}\" is declared; declare it with `variable \"{k}\" {{}}`"),
            ));
            continue;
        }
        raw.insert(k.to_string(), (Value::String(v.to_string()), None));
    }

    let mut values = BTreeMap::new();
    let mut missing = Vec::new();
    for (name, decl) in decls {
        match raw.remove(name) {
            Some((v, loc)) => match convert(decl.ty, v) {
                Ok(v) => {
                    values.insert(name.clone(), v);
                }
                Err(msg) => errors.push(sources.error(
                    loc.as_ref().unwrap_or(&decl.loc),
                    format!("value of variable `{name}` {msg}"),
                    "wrong type",
                    Some(format!("give a {} value", type_name(decl.ty))),
                )),
            },
            None => match &decl.default {
                Some(d) => {
                    values.insert(name.clone(), d.clone());
                }
                None => missing.push(decl),
            },
        }
    }
    for decl in missing {
        errors.push(sources.error(
            &decl.loc,
            format!("no value for required variable `{}`", decl.name),
            "declared without a default",
            Some(format!(
                "set it with --var {0}=…, FLINKFORM_VAR_{0}, a flinkform.vars file, or give it a default",
                decl.name
            )),
        ));
    }
    values
}

fn cli_error(sources: &Sources, message: String) -> ConfigError {
    // Command-line problems have no source file: point at an empty location.
    let _ = sources;
    let empty = Sources {
        files: vec![SourceFile { name: "<command line>".into(), path: PathBuf::new(), text: String::new() }],
    };
    empty.error(&Loc::default(), message, "", None)
}

fn read_var_file(
    path: &Path,
    dir: &Path,
    decls: &BTreeMap<String, Variable>,
    sources: &mut Sources,
    errors: &mut Vec<ConfigError>,
    raw: &mut BTreeMap<String, (Value, Option<Loc>)>,
) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            errors.push(cli_error(sources, format!("cannot read variables file {}: {e}", path.display())));
            return;
        }
    };
    let name = path.strip_prefix(dir).unwrap_or(path).display().to_string();
    sources.files.push(SourceFile { name, path: path.to_path_buf(), text });
    let file = sources.files.len() - 1;
    let body = match super::raw::parse_file(sources, file) {
        Ok(b) => b,
        Err(e) => {
            errors.push(e);
            return;
        }
    };
    let ctx = eval::context(&[]);
    for attr in body.attributes() {
        let key = attr.key.as_str().to_string();
        let loc = Loc::new(file, attr.key.span());
        if !decls.contains_key(&key) {
            errors.push(
                sources.error(
                    &loc,
                    format!("no variable named `{key}` is declared"),
                    "unknown variable",
                    super::diag::suggest(&key, decls.keys().map(String::as_str))
                        .map(|s| format!("did you mean `{s}`?"))
                        .or(Some(format!("declare it with `variable \"{key}\" {{}}`"))),
                ),
            );
            continue;
        }
        let value_loc = Loc::new(file, attr.value.span());
        match eval::eval_expr(&ctx, &attr.value, &value_loc, sources) {
            Ok(v) => {
                raw.insert(key, (v, Some(value_loc)));
            }
            Err(e) => errors.push(e),
        }
    }
}
