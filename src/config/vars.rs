//! Variable declarations and their values, from every source in Terraform's precedence
//! (later wins): default < `FLINKFORM_VAR_<name>` < `flinkform.vars` < `*.auto.vars` (sorted)
//! < `--var-file` < `--var`.

use super::diag::{ConfigError, Loc, SourceFile, Sources};
use super::eval;
use super::raw::RawBlock;
use super::types::{Validation, VarType, Variable};
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
        nullable: true,
        validations: Vec::new(),
        loc: block.loc.clone(),
    };
    if let Some(t) = block.attrs.get("type") {
        match parse_type(&t.expr) {
            Ok(ty) => v.ty = ty,
            Err(what) => errors.push(sources.error(
                &t.value_loc,
                format!("unsupported type for variable `{}`: {what}", v.name),
                "unknown type",
                Some("use string, number, bool, any, list(T), set(T), map(T) or object({ name = T, … })".into()),
            )),
        }
    }
    let mut default = None;
    for (name, attr) in &block.attrs {
        if name == "type" {
            continue;
        }
        match eval::eval_attr(&ctx, attr, sources) {
            Err(e) => errors.push(e),
            Ok(value) => match name.as_str() {
                "default" => default = Some((value, attr.value_loc.clone())),
                "description" => v.description = value.as_str().map(str::to_string),
                "sensitive" => v.sensitive = value.as_bool().unwrap_or(false),
                "nullable" => v.nullable = value.as_bool().unwrap_or(true),
                _ => {}
            },
        }
    }
    if let Some((value, loc)) = default {
        match convert(&v.ty, value) {
            Ok(d) => v.default = Some(d),
            Err(msg) => errors.push(sources.error(
                &loc,
                format!(
                    "default of variable `{}` {}",
                    v.name,
                    if v.sensitive { "has the wrong type".into() } else { msg }
                ),
                "wrong type",
                Some(format!("give a {} default or change `type`", type_name(&v.ty))),
            )),
        }
    }
    v.validations = block
        .blocks
        .iter()
        .filter(|b| b.ident == "validation")
        .filter_map(|val| validation(val, &v.name, sources, errors))
        .collect();
    v
}

/// One `validation` block of variable `name`: a condition on it alone, a literal message.
fn validation(val: &RawBlock, name: &str, sources: &Sources, errors: &mut Vec<ConfigError>) -> Option<Validation> {
    let ctx = eval::context(&[]);
    let (Some(condition), Some(message)) = (val.attrs.get("condition"), val.attrs.get("error_message")) else {
        errors.push(sources.error(
            &val.loc,
            "a `validation` block needs `condition` and `error_message`",
            "incomplete validation",
            Some("write `validation { condition = var.x > 0  error_message = \"x must be positive\" }`".into()),
        ));
        return None;
    };
    let error_message = match eval::eval_attr(&ctx, message, sources) {
        Ok(Value::String(s)) => s,
        _ => {
            errors.push(sources.error(
                &message.value_loc,
                "`error_message` must be a literal string",
                "not a string",
                Some("write `error_message = \"…\"`".into()),
            ));
            return None;
        }
    };
    let others: Vec<String> = eval::references(&condition.expr)
        .into_iter()
        .filter(|r| r.namespace != "var" || r.name != name)
        .map(|r| format!("{}.{}", r.namespace, r.name))
        .collect();
    if !others.is_empty() {
        errors.push(sources.error(
            &condition.value_loc,
            format!("the validation of `{}` refers to {}", name, others.join(", ")),
            "not this variable",
            Some(format!("a validation condition may only refer to `var.{}`", name)),
        ));
        return None;
    }
    Some(Validation { condition: condition.expr.clone(), error_message, loc: condition.value_loc.clone() })
}

/// A type expression: `string`, `list(number)`, `map(string)`, `object({ a = string })`.
pub fn parse_type(e: &hcl::edit::expr::Expression) -> Result<VarType, String> {
    use hcl::edit::expr::Expression as E;
    match e {
        E::Variable(i) => match i.as_str() {
            "string" => Ok(VarType::String),
            "number" => Ok(VarType::Number),
            "bool" => Ok(VarType::Bool),
            "any" => Ok(VarType::Any),
            other => Err(format!("`{other}`")),
        },
        E::FuncCall(f) => {
            let name = f.name.name.as_str();
            let args: Vec<&E> = f.args.iter().collect();
            let [arg] = args.as_slice() else { return Err(format!("`{name}(…)` takes one argument")) };
            match name {
                "list" => Ok(VarType::List(Box::new(parse_type(arg)?))),
                "set" => Ok(VarType::Set(Box::new(parse_type(arg)?))),
                "map" => Ok(VarType::Map(Box::new(parse_type(arg)?))),
                "object" => {
                    let E::Object(o) = arg else { return Err("`object` takes `{ name = type, … }`".into()) };
                    let mut fields = BTreeMap::new();
                    for (k, v) in o.iter() {
                        let key = match k {
                            hcl::edit::expr::ObjectKey::Ident(i) => i.as_str().to_string(),
                            hcl::edit::expr::ObjectKey::Expression(E::String(s)) => s.as_str().to_string(),
                            _ => return Err("object attribute names must be identifiers".into()),
                        };
                        fields.insert(key, parse_type(v.expr())?);
                    }
                    Ok(VarType::Object(fields))
                }
                other => Err(format!("`{other}(…)`")),
            }
        }
        _ => Err("a type expression".into()),
    }
}

pub fn type_name(t: &VarType) -> String {
    match t {
        VarType::Any => "any".into(),
        VarType::String => "string".into(),
        VarType::Number => "number".into(),
        VarType::Bool => "bool".into(),
        VarType::List(t) => format!("list({})", type_name(t)),
        VarType::Set(t) => format!("set({})", type_name(t)),
        VarType::Map(t) => format!("map({})", type_name(t)),
        VarType::Object(f) => format!(
            "object({{ {} }})",
            f.iter().map(|(k, t)| format!("{k} = {}", type_name(t))).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Converts a value to the declared type, as Terraform does. A string given for a list, map or
/// object (from `--var` or the environment) is read as an HCL expression.
pub fn convert(ty: &VarType, value: Value) -> Result<Value, String> {
    let complex = matches!(ty, VarType::List(_) | VarType::Set(_) | VarType::Map(_) | VarType::Object(_));
    let value = match value {
        Value::String(s) if complex => {
            let expr: hcl::Expression =
                s.parse().map_err(|_| format!("must be a {}; \"{s}\" is not an HCL value", type_name(ty)))?;
            hcl::eval::Evaluate::evaluate(&expr, &eval::context(&[])).map_err(|e| format!("cannot be read: {e}"))?
        }
        v => v,
    };
    match (ty, value) {
        (_, Value::Null) => Ok(Value::Null),
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
        (VarType::List(t) | VarType::Set(t), Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                let v = convert(t, item).map_err(|m| format!("element {i} {m}"))?;
                if !(matches!(ty, VarType::Set(_)) && out.contains(&v)) {
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        }
        (VarType::Map(t), Value::Object(o)) => {
            let mut out = hcl::Map::new();
            for (k, v) in o {
                let v = convert(t, v).map_err(|m| format!("key \"{k}\" {m}"))?;
                out.insert(k, v);
            }
            Ok(Value::Object(out))
        }
        (VarType::Object(fields), Value::Object(mut o)) => {
            let mut out = hcl::Map::new();
            for (k, t) in fields {
                let v = o.shift_remove(k).unwrap_or(Value::Null);
                out.insert(k.clone(), convert(t, v).map_err(|m| format!("attribute `{k}` {m}"))?);
            }
            if let Some(extra) = o.keys().next() {
                return Err(format!("has attribute `{extra}`, which the type does not declare"));
            }
            Ok(Value::Object(out))
        }
        (ty, v) => Err(format!("must be a {}, got {}", type_name(ty), eval::describe(&v))),
    }
}

/// A variable's final value: the given one converted to its type, else its default; `null` only
/// where `nullable`. A missing value is `Err(None)` (the caller lists all of them).
pub fn finalize(
    decl: &Variable,
    given: Option<Value>,
    loc: &Loc,
    sources: &Sources,
    sensitive: bool,
) -> Result<Value, Option<ConfigError>> {
    // A sensitive value's line is not printed with its error.
    let shown = |e: ConfigError| Some(if sensitive { e.redacted() } else { e });
    let value = match given {
        Some(Value::Null) if !decl.nullable => decl.default.clone().ok_or_else(|| {
            shown(sources.error(
                loc,
                format!("variable `{}` is not nullable, but null was given", decl.name),
                "null value",
                Some(format!("give `{}` a value", decl.name)),
            ))
        })?,
        Some(v) => convert(&decl.ty, v).map_err(|msg| {
            shown(sources.error(
                loc,
                format!(
                    "value of variable `{}` {}",
                    decl.name,
                    if sensitive { "(sensitive value) has the wrong type".into() } else { msg }
                ),
                "wrong type",
                Some(format!("give a {} value", type_name(&decl.ty))),
            ))
        })?,
        None => match &decl.default {
            Some(d) => d.clone(),
            None => return Err(None),
        },
    };
    Ok(value)
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
    if super::files::is_file(&default_file) {
        files.push(default_file);
    }
    let mut auto = super::files::list(dir);
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
        let given = raw.remove(name);
        let loc = given.as_ref().and_then(|(_, l)| l.clone()).unwrap_or_else(|| decl.loc.clone());
        match finalize(decl, given.map(|(v, _)| v), &loc, sources, decl.sensitive) {
            Ok(v) => {
                values.insert(name.clone(), v);
            }
            Err(None) => missing.push(decl),
            Err(Some(e)) => errors.push(e),
        }
    }
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|d| d.name.as_str()).collect();
        for decl in &missing {
            errors.push(sources.error(
                &decl.loc,
                format!("no value for required variable `{}` (missing: {})", decl.name, names.join(", ")),
                "declared without a default",
                Some(format!(
                    "set it with --var {0}=…, FLINKFORM_VAR_{0}, a flinkform.vars file, or give it a default",
                    decl.name
                )),
            ));
        }
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
    let text = match super::files::read_to_string(path) {
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
            Err(e) if decls[&key].sensitive => errors.push(e.redacted()),
            Err(e) => errors.push(e),
        }
    }
}
