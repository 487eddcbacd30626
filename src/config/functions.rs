//! Built-in functions (hcl-rs has none): the Terraform names and behaviour users expect.
//! `file` reads relative to the configuration directory, set per thread before evaluation
//! (hcl-rs functions are plain `fn`s and cannot capture it).

use hcl::Value;
use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};
use std::cell::RefCell;
use std::path::PathBuf;

thread_local! {
    static BASE_DIR: RefCell<PathBuf> = RefCell::new(PathBuf::from("."));
}

/// `path` as `file()` reads it: relative to the configuration directory.
pub(super) fn resolve(path: &str) -> PathBuf {
    BASE_DIR.with(|d| d.borrow().join(path))
}

/// Sets the directory `file()` resolves relative paths against (for this thread).
pub fn set_base_dir(dir: PathBuf) {
    BASE_DIR.with(|d| *d.borrow_mut() = dir);
}

pub const NAMES: &[&str] = &[
    "coalesce",
    "concat",
    "contains",
    "file",
    "format",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "lookup",
    "lower",
    "max",
    "merge",
    "min",
    "split",
    "templatefile",
    "tonumber",
    "toset",
    "tostring",
    "upper",
    "values",
];

/// A function's definition: its parameters, the type of further arguments, its body.
pub(super) fn def(params: Vec<ParamType>, variadic: Option<ParamType>, func: hcl::eval::Func) -> FuncDef {
    let mut b = FuncDef::builder().params(params);
    if let Some(v) = variadic {
        b = b.variadic_param(v);
    }
    b.build(func)
}

/// Declares the built-in functions in `ctx`, one line each: a table as long as the library.
pub fn declare(ctx: &mut Context) {
    use ParamType::*;
    let any = || Any;
    let f = def;
    ctx.declare_func("join", f(vec![String, Array(Box::new(any()))], None, join));
    ctx.declare_func("split", f(vec![String, String], None, split));
    ctx.declare_func("format", f(vec![String], Some(any()), format));
    ctx.declare_func("lower", f(vec![String], None, |a| Ok(a[0].as_str().unwrap_or_default().to_lowercase().into())));
    ctx.declare_func("upper", f(vec![String], None, |a| Ok(a[0].as_str().unwrap_or_default().to_uppercase().into())));
    ctx.declare_func("length", f(vec![any()], None, length));
    ctx.declare_func("merge", f(vec![], Some(Object(Box::new(any()))), merge));
    ctx.declare_func("concat", f(vec![], Some(Array(Box::new(any()))), concat));
    ctx.declare_func(
        "contains",
        f(vec![Array(Box::new(any())), any()], None, |a| {
            Ok(Value::Bool(a[0].as_array().is_some_and(|l| l.contains(&a[1]))))
        }),
    );
    ctx.declare_func("lookup", f(vec![Object(Box::new(any())), String], Some(any()), lookup));
    ctx.declare_func(
        "keys",
        f(vec![Object(Box::new(any()))], None, |a| {
            Ok(Value::Array(
                a[0].as_object().map(|o| sorted_keys(o).into_iter().map(Value::from).collect()).unwrap_or_default(),
            ))
        }),
    );
    ctx.declare_func(
        "values",
        f(vec![Object(Box::new(any()))], None, |a| {
            let o = a[0].as_object().cloned().unwrap_or_default();
            Ok(Value::Array(sorted_keys(&o).iter().map(|k| o[k].clone()).collect()))
        }),
    );
    ctx.declare_func(
        "coalesce",
        f(vec![], Some(any()), |a| {
            a.iter()
                .find(|v| !v.is_null() && v.as_str() != Some(""))
                .cloned()
                .ok_or_else(|| "coalesce: every argument is null or empty".to_string())
        }),
    );
    ctx.declare_func("file", f(vec![String], None, file));
    ctx.declare_func("templatefile", f(vec![String, Object(Box::new(any()))], None, templatefile));
    ctx.declare_func(
        "toset",
        f(vec![Array(Box::new(any()))], None, |a| {
            let mut out: Vec<Value> = Vec::new();
            for v in a[0].as_array().into_iter().flatten() {
                if !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
                    return Err(format!("toset: elements must be strings, numbers or bools, got {}", describe(v)));
                }
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }),
    );
    ctx.declare_func(
        "jsonencode",
        f(vec![any()], None, |a| serde_json::to_string(&a[0]).map(Value::from).map_err(|e| format!("jsonencode: {e}"))),
    );
    ctx.declare_func(
        "jsondecode",
        f(vec![String], None, |a| {
            serde_json::from_str::<Value>(a[0].as_str().unwrap_or_default())
                .map_err(|e| format!("jsondecode: invalid JSON: {e}"))
        }),
    );
    ctx.declare_func(
        "tostring",
        f(vec![any()], None, |a| match &a[0] {
            Value::String(s) => Ok(Value::from(s.clone())),
            Value::Number(n) => Ok(Value::from(n.to_string())),
            Value::Bool(b) => Ok(Value::from(b.to_string())),
            Value::Null => Ok(Value::Null),
            _ => Err("tostring: only a string, number or bool can be converted".into()),
        }),
    );
    ctx.declare_func(
        "tonumber",
        f(vec![any()], None, |a| match &a[0] {
            Value::Number(n) => Ok(Value::Number(*n)),
            Value::String(s) => parse_number(s).ok_or_else(|| format!("tonumber: \"{s}\" is not a number")),
            Value::Null => Ok(Value::Null),
            _ => Err("tonumber: only a string or number can be converted".into()),
        }),
    );
    ctx.declare_func("min", f(vec![], Some(Number), |a| extreme(&a, "min", |x, y| x < y)));
    ctx.declare_func("max", f(vec![], Some(Number), |a| extreme(&a, "max", |x, y| x > y)));
}

/// Parses "3" as an integer and "2.5" as a float.
pub fn parse_number(s: &str) -> Option<Value> {
    let s = s.trim();
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::from(i));
    }
    s.parse::<f64>().ok().and_then(hcl::Number::from_f64).map(Value::Number)
}

fn sorted_keys(o: &hcl::Map<String, Value>) -> Vec<String> {
    let mut k: Vec<String> = o.keys().cloned().collect();
    k.sort();
    k
}

fn as_text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(format!("expected a string, got {}", describe(other))),
    }
}

fn join(a: FuncArgs) -> Result<Value, String> {
    let sep = a[0].as_str().unwrap_or_default();
    let items = a[1].as_array().cloned().unwrap_or_default();
    let parts: Result<Vec<String>, String> = items.iter().map(as_text).collect();
    Ok(parts.map_err(|e| format!("join: {e}"))?.join(sep).into())
}

fn split(a: FuncArgs) -> Result<Value, String> {
    let sep = a[0].as_str().unwrap_or_default();
    let s = a[1].as_str().unwrap_or_default();
    if sep.is_empty() {
        return Err("split: the separator must not be empty".into());
    }
    Ok(Value::Array(s.split(sep).map(Value::from).collect()))
}

fn format(a: FuncArgs) -> Result<Value, String> {
    let spec = a[0].as_str().unwrap_or_default().to_string();
    let mut args = a.iter().skip(1);
    let mut out = String::new();
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(verb @ ('s' | 'd' | 'v')) => {
                let v = args.next().ok_or_else(|| format!("format: not enough arguments for \"{spec}\""))?;
                if verb == 'd' && !matches!(v, Value::Number(_)) {
                    return Err(format!("format: %d needs a number, got {}", describe(v)));
                }
                out.push_str(&match v {
                    Value::Array(_) | Value::Object(_) => serde_json::to_string(v).unwrap_or_default(),
                    other => as_text(other)?,
                });
            }
            other => return Err(format!("format: unsupported verb %{}", other.unwrap_or(' '))),
        }
    }
    if args.next().is_some() {
        return Err(format!("format: too many arguments for \"{spec}\""));
    }
    Ok(out.into())
}

fn length(a: FuncArgs) -> Result<Value, String> {
    match &a[0] {
        Value::String(s) => Ok(Value::from(s.chars().count() as u64)),
        Value::Array(l) => Ok(Value::from(l.len() as u64)),
        Value::Object(o) => Ok(Value::from(o.len() as u64)),
        other => Err(format!("length: needs a string, list or map, got {}", describe(other))),
    }
}

fn merge(a: FuncArgs) -> Result<Value, String> {
    let mut out = hcl::Map::new();
    for v in a.iter() {
        if let Some(o) = v.as_object() {
            for (k, v) in o {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(Value::Object(out))
}

fn concat(a: FuncArgs) -> Result<Value, String> {
    Ok(Value::Array(a.iter().flat_map(|v| v.as_array().cloned().unwrap_or_default()).collect()))
}

fn lookup(a: FuncArgs) -> Result<Value, String> {
    let key = a[1].as_str().unwrap_or_default();
    match a[0].as_object().and_then(|o| o.get(key)) {
        Some(v) => Ok(v.clone()),
        None => a.get(2).cloned().ok_or_else(|| format!("lookup: no key \"{key}\" and no default given")),
    }
}

fn file(a: FuncArgs) -> Result<Value, String> {
    let rel = a[0].as_str().unwrap_or_default();
    let path = BASE_DIR.with(|d| d.borrow().join(rel));
    super::files::read_to_string(&path)
        .map(Value::from)
        .map_err(|e| format!("file: cannot read {}: {e}", path.display()))
}

/// `templatefile(path, vars)`: the file is an HCL template (`${…}`, `%{ if }`, `%{ for }`)
/// evaluated with `vars` as its only variables, and the built-in functions.
fn templatefile(a: FuncArgs) -> Result<Value, String> {
    use hcl::eval::Evaluate;
    let rel = a[0].as_str().unwrap_or_default();
    let path = BASE_DIR.with(|d| d.borrow().join(rel));
    let text = super::files::read_to_string(&path)
        .map_err(|e| format!("templatefile: cannot read {}: {e}", path.display()))?;
    let template: hcl::Template =
        text.parse().map_err(|e| format!("templatefile: {} is not a valid template: {e}", path.display()))?;
    let mut ctx = hcl::eval::Context::new();
    declare(&mut ctx);
    for (k, v) in a[1].as_object().into_iter().flatten() {
        ctx.declare_var(k.as_str(), v.clone());
    }
    template.evaluate(&ctx).map(Value::from).map_err(|e| format!("templatefile: in {}: {}", path.display(), e.kind()))
}

fn extreme(a: &FuncArgs, name: &str, better: fn(f64, f64) -> bool) -> Result<Value, String> {
    let mut best: Option<&Value> = None;
    for v in a.iter() {
        let x = v.as_f64().ok_or_else(|| format!("{name}: arguments must be numbers"))?;
        if best.is_none_or(|b| better(x, b.as_f64().unwrap_or(0.0))) {
            best = Some(v);
        }
    }
    best.cloned().ok_or_else(|| format!("{name}: needs at least one number"))
}

/// A short description of a value's type, for messages ("string \"two\"").
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("bool {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() > 60 => format!("a string of {} characters", s.chars().count()),
        Value::String(s) => format!("string \"{s}\""),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl::eval::Evaluate;

    fn eval(src: &str) -> Result<Value, String> {
        let ctx = crate::config::eval::context(&[]);
        let expr: hcl::Expression = src.parse::<hcl::Expression>().map_err(|e| e.to_string())?;
        expr.evaluate(&ctx).map_err(|e| e.to_string())
    }

    #[test]
    fn functions_behave_like_terraform() {
        assert_eq!(eval(r#"join("-", ["a", "b", 1])"#).unwrap(), Value::from("a-b-1"));
        assert_eq!(eval(r#"format("%s-%d", "tm", 3)"#).unwrap(), Value::from("tm-3"));
        assert_eq!(eval(r#"upper("ab")"#).unwrap(), Value::from("AB"));
        assert_eq!(eval(r#"length([1, 2, 3])"#).unwrap(), Value::from(3u64));
        assert_eq!(eval("max(1, 5, 3)").unwrap(), Value::from(5));
        assert_eq!(eval("min(4, 2)").unwrap(), Value::from(2));
        assert_eq!(eval(r#"tonumber("12")"#).unwrap(), Value::from(12));
        assert_eq!(eval(r#"jsonencode({a = 1})"#).unwrap(), Value::from(r#"{"a":1}"#));
        assert_eq!(eval(r#"lookup({a = 1}, "b", 7)"#).unwrap(), Value::from(7));
        assert_eq!(eval(r#"length(concat([1], [2, 3]))"#).unwrap(), Value::from(3u64));
    }

    /// Every function, once with good and once with bad input; a bad call names the function.
    #[test]
    fn every_function_with_good_and_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.txt"), "hello").unwrap();
        std::fs::write(
            dir.path().join("t.tpl"),
            "%{ for n in names ~}\n${upper(n)}:${port}\n%{ endfor ~}\n%{ if port > 80 }high%{ else }low%{ endif }",
        )
        .unwrap();
        set_base_dir(dir.path().to_path_buf());
        let good: &[(&str, Value)] = &[
            (r#"join(",", ["a", "b"])"#, "a,b".into()),
            (r#"split(",", "a,b")"#, Value::Array(vec!["a".into(), "b".into()])),
            (r#"format("%s=%d %%", "x", 2)"#, "x=2 %".into()),
            (r#"lower("AB")"#, "ab".into()),
            (r#"upper("ab")"#, "AB".into()),
            (r#"length("héllo")"#, Value::from(5u64)),
            (r#"merge({a = 1}, {a = 2, b = 3})"#, hcl::value!({ a = 2, b = 3 })),
            ("concat([1], [2])", Value::Array(vec![1.into(), 2.into()])),
            (r#"contains(["a", "b"], "b")"#, true.into()),
            (r#"lookup({a = "x"}, "a")"#, "x".into()),
            (r#"keys({b = 1, a = 2})"#, Value::Array(vec!["a".into(), "b".into()])),
            (r#"values({b = 1, a = 2})"#, Value::Array(vec![2.into(), 1.into()])),
            (r#"file("x.txt")"#, "hello".into()),
            (r#"templatefile("t.tpl", { names = ["a", "b"], port = 81 })"#, "A:81\nB:81\nhigh".into()),
            (r#"jsonencode(["a", 1])"#, r#"["a",1]"#.into()),
            (r#"jsondecode("{\"a\": [1]}")"#, hcl::value!({ a = [1] })),
            ("tostring(12)", "12".into()),
            (r#"tonumber("2.5")"#, Value::from(2.5)),
            ("min(3, 1, 2)", 1.into()),
            ("max(3, 1, 2)", 3.into()),
            (r#"coalesce(null, "", "x")"#, "x".into()),
            (r#"toset(["a", "a", "b"])"#, Value::Array(vec!["a".into(), "b".into()])),
        ];
        for (src, want) in good {
            assert_eq!(&eval(src).unwrap_or_else(|e| panic!("{src}: {e}")), want, "{src}");
        }
        let bad: &[(&str, &str)] = &[
            (r#"join(",", [[1]])"#, "join: expected a string"),
            (r#"split("", "a")"#, "split: the separator must not be empty"),
            (r#"format("%s %s", "x")"#, "format: not enough arguments"),
            ("lower(1)", "lower"),
            ("upper([])", "upper"),
            ("length(1)", "length: needs a string, list or map"),
            ("merge(1)", "merge"),
            ("concat(1)", "concat"),
            ("contains(1, 1)", "contains"),
            (r#"lookup({}, "k")"#, "lookup: no key \"k\""),
            ("keys(1)", "keys"),
            ("values(1)", "values"),
            (r#"file("missing.txt")"#, "file: cannot read"),
            (r#"templatefile("t.tpl", {})"#, "templatefile: in"),
            (r#"jsondecode("{")"#, "jsondecode: invalid JSON"),
            ("tostring([])", "tostring: only a string, number or bool"),
            (r#"tonumber("x")"#, "tonumber: \"x\" is not a number"),
            ("min()", "min: needs at least one number"),
            (r#"max("a")"#, "max"),
            ("coalesce(null)", "coalesce: every argument is null or empty"),
            ("toset([[1]])", "toset: elements must be"),
            ("jsonencode()", "jsonencode"),
        ];
        for (src, want) in bad {
            let err = eval(src).expect_err(src);
            assert!(err.contains(want), "{src}: {err}");
        }
    }

    #[test]
    fn bad_arguments_are_clear_errors() {
        assert!(eval(r#"tonumber("x")"#).unwrap_err().contains("not a number"));
        assert!(eval(r#"format("%d", "x")"#).unwrap_err().contains("needs a number"));
        assert!(eval(r#"lookup({a = 1}, "b")"#).unwrap_err().contains("no default"));
    }
}
