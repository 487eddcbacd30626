//! More of Terraform's built-in library, as Terraform documents each function: strings,
//! collections, encoding, hashes, numbers and paths. `functions` declares these
//! beside the first set; the README's table says what exists and what does not, and why.

use super::functions::{def, describe};
use hcl::Value;
use hcl::eval::{Context, FuncArgs, ParamType};

/// The names declared here (for "did you mean" and the list of what exists).
pub const NAMES: &[&str] = &[
    "abs",
    "abspath",
    "alltrue",
    "anytrue",
    "base64decode",
    "base64encode",
    "basename",
    "ceil",
    "chomp",
    "compact",
    "dirname",
    "distinct",
    "element",
    "endswith",
    "fileexists",
    "flatten",
    "floor",
    "index",
    "md5",
    "one",
    "parseint",
    "pathexpand",
    "pow",
    "range",
    "reverse",
    "sha1",
    "sha256",
    "signum",
    "slice",
    "sort",
    "startswith",
    "strrev",
    "substr",
    "sum",
    "title",
    "tobool",
    "tolist",
    "tomap",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "urlencode",
    "zipmap",
];

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn list(v: &Value) -> Vec<Value> {
    v.as_array().cloned().unwrap_or_default()
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_default()
}

/// A whole number as HCL keeps it (an integer when it is one).
fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        hcl::Number::from_f64(x).map(Value::Number).unwrap_or(Value::Null)
    }
}

fn hex_digest<D: sha2::Digest>(s: &str) -> Value {
    hex::encode(D::digest(s.as_bytes())).into()
}

/// Declares every function named in [`NAMES`].
pub fn declare(ctx: &mut Context) {
    use ParamType::{Any, Array, Number, Object, String};
    let any = || Any;
    // Strings.
    ctx.declare_func("trimspace", def(vec![String], None, |a| Ok(text(&a[0]).trim().into())));
    ctx.declare_func(
        "trim",
        def(vec![String, String], None, |a| {
            let cut = text(&a[1]);
            Ok(text(&a[0]).trim_matches(|c| cut.contains(c)).into())
        }),
    );
    ctx.declare_func(
        "trimprefix",
        def(vec![String, String], None, |a| Ok(text(&a[0]).strip_prefix(text(&a[1])).unwrap_or(text(&a[0])).into())),
    );
    ctx.declare_func(
        "trimsuffix",
        def(vec![String, String], None, |a| Ok(text(&a[0]).strip_suffix(text(&a[1])).unwrap_or(text(&a[0])).into())),
    );
    ctx.declare_func("chomp", def(vec![String], None, |a| Ok(text(&a[0]).trim_end_matches(['\n', '\r']).into())));
    ctx.declare_func(
        "startswith",
        def(vec![String, String], None, |a| Ok(text(&a[0]).starts_with(text(&a[1])).into())),
    );
    ctx.declare_func("endswith", def(vec![String, String], None, |a| Ok(text(&a[0]).ends_with(text(&a[1])).into())));
    ctx.declare_func(
        "strrev",
        def(vec![String], None, |a| Ok(text(&a[0]).chars().rev().collect::<std::string::String>().into())),
    );
    ctx.declare_func("title", def(vec![String], None, |a| Ok(title(text(&a[0])).into())));
    ctx.declare_func("substr", def(vec![String, Number, Number], None, substr));
    // Collections.
    ctx.declare_func("flatten", def(vec![Array(Box::new(any()))], None, |a| Ok(Value::Array(flatten(&list(&a[0]))))));
    ctx.declare_func(
        "distinct",
        def(vec![Array(Box::new(any()))], None, |a| {
            let mut out: Vec<Value> = Vec::new();
            for v in list(&a[0]) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        }),
    );
    ctx.declare_func(
        "reverse",
        def(vec![Array(Box::new(any()))], None, |a| Ok(Value::Array(list(&a[0]).into_iter().rev().collect()))),
    );
    ctx.declare_func(
        "sort",
        def(vec![Array(Box::new(String))], None, |a| {
            let mut items: Vec<std::string::String> = list(&a[0]).iter().map(|v| text(v).to_string()).collect();
            items.sort();
            Ok(Value::Array(items.into_iter().map(Value::from).collect()))
        }),
    );
    ctx.declare_func(
        "slice",
        def(vec![Array(Box::new(any())), Number, Number], None, |a| {
            let items = list(&a[0]);
            let (from, to) = (number(&a[1]) as usize, number(&a[2]) as usize);
            if from > to || to > items.len() {
                return Err(format!("slice: [{from}, {to}) is outside a list of {}", items.len()));
            }
            Ok(Value::Array(items[from..to].to_vec()))
        }),
    );
    ctx.declare_func(
        "element",
        def(vec![Array(Box::new(any())), Number], None, |a| {
            let items = list(&a[0]);
            if items.is_empty() {
                return Err("element: the list is empty".into());
            }
            Ok(items[number(&a[1]) as usize % items.len()].clone())
        }),
    );
    ctx.declare_func(
        "index",
        def(vec![Array(Box::new(any())), any()], None, |a| {
            let items = list(&a[0]);
            let at = items
                .iter()
                .position(|v| *v == a[1])
                .ok_or_else(|| "index: the value is not in the list".to_string())?;
            Ok(Value::from(at as i64))
        }),
    );
    ctx.declare_func("range", def(vec![], Some(Number), range));
    ctx.declare_func(
        "compact",
        def(vec![Array(Box::new(any()))], None, |a| {
            Ok(Value::Array(
                list(&a[0]).into_iter().filter(|v| !matches!(v, Value::Null) && v.as_str() != Some("")).collect(),
            ))
        }),
    );
    ctx.declare_func(
        "zipmap",
        def(vec![Array(Box::new(String)), Array(Box::new(any()))], None, |a| {
            let (keys, values) = (list(&a[0]), list(&a[1]));
            if keys.len() != values.len() {
                return Err(format!("zipmap: {} keys but {} values", keys.len(), values.len()));
            }
            Ok(Value::Object(keys.iter().map(|k| text(k).to_string()).zip(values).collect()))
        }),
    );
    ctx.declare_func(
        "sum",
        def(vec![Array(Box::new(Number))], None, |a| Ok(num(list(&a[0]).iter().map(number).sum()))),
    );
    ctx.declare_func("alltrue", def(vec![Array(Box::new(any()))], None, |a| Ok(list(&a[0]).iter().all(truthy).into())));
    ctx.declare_func("anytrue", def(vec![Array(Box::new(any()))], None, |a| Ok(list(&a[0]).iter().any(truthy).into())));
    ctx.declare_func(
        "one",
        def(vec![Array(Box::new(any()))], None, |a| match list(&a[0]).as_slice() {
            [] => Ok(Value::Null),
            [v] => Ok(v.clone()),
            more => Err(format!("one: the list has {} elements; it must have at most one", more.len())),
        }),
    );
    ctx.declare_func("tolist", def(vec![Array(Box::new(any()))], None, |a| Ok(Value::Array(list(&a[0])))));
    ctx.declare_func("tomap", def(vec![Object(Box::new(any()))], None, |a| Ok(a[0].clone())));
    ctx.declare_func(
        "tobool",
        def(vec![any()], None, |a| match &a[0] {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if s == "true" || s == "false" => Ok(Value::Bool(s == "true")),
            Value::Null => Ok(Value::Null),
            other => Err(format!("tobool: cannot convert {} to bool", describe(other))),
        }),
    );
    // Encoding and hashes.
    ctx.declare_func(
        "base64encode",
        def(vec![String], None, |a| {
            use base64::Engine;
            Ok(base64::engine::general_purpose::STANDARD.encode(text(&a[0])).into())
        }),
    );
    ctx.declare_func(
        "base64decode",
        def(vec![String], None, |a| {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text(&a[0]))
                .map_err(|e| format!("base64decode: {e}"))?;
            std::string::String::from_utf8(bytes)
                .map(Value::from)
                .map_err(|_| "base64decode: the result is not UTF-8 text".into())
        }),
    );
    ctx.declare_func(
        "urlencode",
        def(vec![String], None, |a| {
            Ok(form_urlencoded::byte_serialize(text(&a[0]).as_bytes()).collect::<std::string::String>().into())
        }),
    );
    ctx.declare_func("sha256", def(vec![String], None, |a| Ok(hex_digest::<sha2::Sha256>(text(&a[0])))));
    ctx.declare_func("sha1", def(vec![String], None, |a| Ok(hex_digest::<sha1::Sha1>(text(&a[0])))));
    ctx.declare_func("md5", def(vec![String], None, |a| Ok(hex_digest::<md5::Md5>(text(&a[0])))));
    // Numbers.
    ctx.declare_func("abs", def(vec![Number], None, |a| Ok(num(number(&a[0]).abs()))));
    ctx.declare_func("ceil", def(vec![Number], None, |a| Ok(num(number(&a[0]).ceil()))));
    ctx.declare_func("floor", def(vec![Number], None, |a| Ok(num(number(&a[0]).floor()))));
    ctx.declare_func("pow", def(vec![Number, Number], None, |a| Ok(num(number(&a[0]).powf(number(&a[1]))))));
    ctx.declare_func(
        "signum",
        def(vec![Number], None, |a| Ok(num(if number(&a[0]) == 0.0 { 0.0 } else { number(&a[0]).signum() }))),
    );
    ctx.declare_func(
        "parseint",
        def(vec![String, Number], None, |a| {
            let base = number(&a[1]) as u32;
            if !(2..=62).contains(&base) {
                return Err(format!("parseint: base {base} is not between 2 and 62"));
            }
            i64::from_str_radix(text(&a[0]), base.min(36))
                .map(Value::from)
                .map_err(|_| format!("parseint: \"{}\" is not a base-{base} integer", text(&a[0])))
        }),
    );
    // Paths.
    ctx.declare_func(
        "basename",
        def(vec![String], None, |a| {
            Ok(std::path::Path::new(text(&a[0]))
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default()
                .into())
        }),
    );
    ctx.declare_func(
        "dirname",
        def(vec![String], None, |a| {
            let parent =
                std::path::Path::new(text(&a[0])).parent().map(|p| p.to_string_lossy().to_string()).unwrap_or_default();
            Ok(if parent.is_empty() { ".".to_string() } else { parent }.into())
        }),
    );
    ctx.declare_func(
        "abspath",
        def(vec![String], None, |a| {
            let path = super::functions::resolve(text(&a[0]));
            Ok(path.to_string_lossy().to_string().into())
        }),
    );
    ctx.declare_func(
        "fileexists",
        def(vec![String], None, |a| Ok(super::functions::resolve(text(&a[0])).is_file().into())),
    );
    ctx.declare_func(
        "pathexpand",
        def(vec![String], None, |a| {
            let s = text(&a[0]);
            match (s.strip_prefix('~'), std::env::var("HOME")) {
                (Some(rest), Ok(home)) if rest.is_empty() || rest.starts_with('/') => {
                    Ok(format!("{home}{rest}").into())
                }
                _ => Ok(s.into()),
            }
        }),
    );
}

fn truthy(v: &Value) -> bool {
    matches!(v, Value::Bool(true)) || v.as_str() == Some("true")
}

fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// Terraform's `substr`: a negative offset counts from the end, a length of -1 runs to the end.
fn substr(a: FuncArgs) -> Result<Value, String> {
    let chars: Vec<char> = text(&a[0]).chars().collect();
    let n = chars.len() as i64;
    let mut offset = number(&a[1]) as i64;
    if offset < 0 {
        offset += n;
    }
    if !(0..=n).contains(&offset) {
        return Err(format!("substr: offset {} is outside a string of {n} characters", number(&a[1])));
    }
    let length = number(&a[2]) as i64;
    let end = if length < 0 { n } else { (offset + length).min(n) };
    Ok(chars[offset as usize..end as usize].iter().collect::<String>().into())
}

fn flatten(items: &[Value]) -> Vec<Value> {
    items.iter().flat_map(|v| if let Value::Array(inner) = v { flatten(inner) } else { vec![v.clone()] }).collect()
}

/// `range(limit)`, `range(start, limit)`, `range(start, limit, step)`.
fn range(a: FuncArgs) -> Result<Value, String> {
    let n: Vec<f64> = a.iter().map(number).collect();
    let (start, limit, step) = match n.as_slice() {
        [l] => (0.0, *l, 1.0),
        [s, l] => (*s, *l, if l >= s { 1.0 } else { -1.0 }),
        [s, l, st] => (*s, *l, *st),
        _ => return Err("range: takes one to three numbers".into()),
    };
    if step == 0.0 {
        return Err("range: the step must not be zero".into());
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < limit) || (step < 0.0 && x > limit) {
        if out.len() >= 1024 {
            return Err("range: more than 1024 elements".into());
        }
        out.push(num(x));
        x += step;
    }
    Ok(Value::Array(out))
}
