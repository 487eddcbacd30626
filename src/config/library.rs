//! The part of Terraform's built-in library that needs more than the standard library: YAML and
//! CSV, UUIDv5, dates (`formatdate`, `timeadd`, `timestamp`), regular expressions (`regex`,
//! `regexall`, and `replace` with a `/pattern/`), and IPv4 and IPv6 prefixes for the `cidr*`
//! functions. Each follows Terraform's documentation; `functions` declares these beside the rest.

use super::functions::def;
use hcl::Value;
use hcl::eval::{Context, FuncArgs, ParamType};
use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const NAMES: &[&str] = &[
    "cidrhost",
    "cidrnetmask",
    "cidrsubnet",
    "csvdecode",
    "formatdate",
    "regex",
    "regexall",
    "replace",
    "timeadd",
    "timestamp",
    "uuidv5",
    "yamldecode",
    "yamlencode",
];

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

pub fn declare(ctx: &mut Context) {
    use ParamType::{Any, Number, String};
    ctx.declare_func("yamlencode", def(vec![Any], None, |a| Ok(yaml::encode(&a[0]).into())));
    ctx.declare_func(
        "yamldecode",
        def(vec![String], None, |a| {
            let v: serde_json::Value =
                yaml_serde::from_str(text(&a[0])).map_err(|e| format!("yamldecode: not YAML: {e}"))?;
            hcl::to_value(v).map_err(|e| e.to_string())
        }),
    );
    ctx.declare_func("csvdecode", def(vec![String], None, |a| csvdecode(text(&a[0]))));
    ctx.declare_func("uuidv5", def(vec![String, String], None, |a| uuidv5(text(&a[0]), text(&a[1]))));
    ctx.declare_func("formatdate", def(vec![String, String], None, |a| dates::formatdate(text(&a[0]), text(&a[1]))));
    ctx.declare_func("timeadd", def(vec![String, String], None, |a| dates::timeadd(text(&a[0]), text(&a[1]))));
    ctx.declare_func("timestamp", def(vec![], None, |_| timestamp()));
    ctx.declare_func("regex", def(vec![String, String], None, |a| regex_match(text(&a[0]), text(&a[1]))));
    ctx.declare_func("regexall", def(vec![String, String], None, |a| regexall(text(&a[0]), text(&a[1]))));
    ctx.declare_func("replace", def(vec![String, String, String], None, |a| replace(&a)));
    ctx.declare_func("cidrhost", def(vec![String, Number], None, |a| cidr::host(text(&a[0]), &a[1])));
    ctx.declare_func("cidrnetmask", def(vec![String], None, |a| cidr::netmask(text(&a[0]))));
    ctx.declare_func(
        "cidrsubnet",
        def(vec![String, Number, Number], None, |a| cidr::subnet(text(&a[0]), &a[1], &a[2])),
    );
}

/// What `timestamp()` gives where it is evaluated: a time only in outputs (as Terraform, it is
/// known only after apply: the plan shows "(known after apply)"); anywhere else it is refused,
/// since a container carrying it would be replaced by every apply.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TimestampMode {
    Refused,
    KnownAfterApply,
    Now,
}

thread_local! {
    static TIMESTAMP: Cell<TimestampMode> = const { Cell::new(TimestampMode::Refused) };
}

/// Runs `f` (an output's evaluation) with `timestamp()` allowed: "(known after apply)" unless
/// the time is asked for already ([`with_timestamp`]).
pub fn in_output<T>(f: impl FnOnce() -> T) -> T {
    let mode = match TIMESTAMP.with(Cell::get) {
        TimestampMode::Refused => TimestampMode::KnownAfterApply,
        other => other,
    };
    with_timestamp(mode, f)
}

/// Runs `f` with `timestamp()` answering as `mode`.
pub fn with_timestamp<T>(mode: TimestampMode, f: impl FnOnce() -> T) -> T {
    let before = TIMESTAMP.with(|t| t.replace(mode));
    let out = f();
    TIMESTAMP.with(|t| t.set(before));
    out
}

fn timestamp() -> Result<Value, String> {
    match TIMESTAMP.with(Cell::get) {
        TimestampMode::Now => Ok(crate::clock::now_rfc3339().into()),
        TimestampMode::KnownAfterApply => Ok(super::KNOWN_AFTER_APPLY.into()),
        TimestampMode::Refused => Err("timestamp() changes on every run, so a resource using it would be replaced by every apply: use it in an output, or pass a time in with a variable".into()),
    }
}

fn csvdecode(s: &str) -> Result<Value, String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(s.as_bytes());
    let headers = reader.headers().map_err(|e| format!("csvdecode: {e}"))?.clone();
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("csvdecode: {e}"))?;
        let row: hcl::Map<std::string::String, Value> =
            headers.iter().zip(record.iter()).map(|(h, v)| (h.to_string(), Value::from(v))).collect();
        rows.push(Value::Object(row));
    }
    Ok(Value::Array(rows))
}

fn uuidv5(namespace: &str, name: &str) -> Result<Value, String> {
    let ns = match namespace {
        "dns" => uuid::Uuid::NAMESPACE_DNS,
        "url" => uuid::Uuid::NAMESPACE_URL,
        "oid" => uuid::Uuid::NAMESPACE_OID,
        "x500" => uuid::Uuid::NAMESPACE_X500,
        other => uuid::Uuid::parse_str(other)
            .map_err(|_| format!("uuidv5: the namespace must be dns, url, oid, x500 or a UUID, got \"{other}\""))?,
    };
    Ok(uuid::Uuid::new_v5(&ns, name.as_bytes()).to_string().into())
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| format!("invalid regular expression \"{pattern}\": {e}"))
}

/// One match as Terraform returns it: the match itself without groups, a list of the groups
/// when they are unnamed, an object when they are named.
fn captured(re: &regex::Regex, caps: &regex::Captures) -> Value {
    if re.captures_len() == 1 {
        return caps.get(0).map(|m| m.as_str()).unwrap_or_default().into();
    }
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    let group = |i: usize| caps.get(i).map(|m| Value::from(m.as_str())).unwrap_or(Value::Null);
    if names.iter().all(Option::is_some) {
        let object = names.iter().enumerate().map(|(i, n)| (n.unwrap_or_default().to_string(), group(i + 1)));
        Value::Object(object.collect())
    } else {
        Value::Array((1..re.captures_len()).map(group).collect())
    }
}

fn regex_match(pattern: &str, s: &str) -> Result<Value, String> {
    let re = compile(pattern)?;
    let caps = re.captures(s).ok_or_else(|| format!("regex: \"{pattern}\" does not match \"{s}\""))?;
    Ok(captured(&re, &caps))
}

fn regexall(pattern: &str, s: &str) -> Result<Value, String> {
    let re = compile(pattern)?;
    Ok(Value::Array(re.captures_iter(s).map(|c| captured(&re, &c)).collect()))
}

/// `replace(s, substring, replacement)`; a substring written `/…/` is a regular expression, and
/// the replacement may then name groups (`$1`, `${name}`).
fn replace(a: &FuncArgs) -> Result<Value, String> {
    let (s, find, with) = (text(&a[0]), text(&a[1]), text(&a[2]));
    match find.strip_prefix('/').and_then(|f| f.strip_suffix('/')).filter(|_| find.len() > 1) {
        Some(pattern) => Ok(compile(pattern)?.replace_all(s, with).into_owned().into()),
        None => Ok(s.replace(find, with).into()),
    }
}

/// `yamlencode` as Terraform writes YAML: block style, object keys sorted, strings double-quoted.
mod yaml {
    use hcl::Value;

    pub fn encode(v: &Value) -> String {
        let mut out = String::new();
        match v {
            Value::Object(o) if !o.is_empty() => object(&mut out, o, 0),
            Value::Array(a) if !a.is_empty() => array(&mut out, a, 0),
            other => {
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
        out
    }

    fn scalar(v: &Value) -> String {
        match v {
            Value::Null => "null".into(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
            Value::Array(_) => "[]".into(),
            Value::Object(_) => "{}".into(),
        }
    }

    fn nested(v: &Value) -> bool {
        matches!(v, Value::Object(o) if !o.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
    }

    fn object(out: &mut String, o: &hcl::Map<String, Value>, indent: usize) {
        let mut keys: Vec<&String> = o.keys().collect();
        keys.sort();
        for (i, k) in keys.into_iter().enumerate() {
            // The first key of an object in a list follows its "- ".
            if i > 0 || !out.ends_with("- ") {
                out.push_str(&" ".repeat(indent));
            }
            out.push_str(&serde_json::to_string(k).unwrap_or_default());
            out.push(':');
            value(out, &o[k], indent);
        }
    }

    fn array(out: &mut String, a: &[Value], indent: usize) {
        for (i, item) in a.iter().enumerate() {
            if i > 0 || !out.ends_with("- ") {
                out.push_str(&" ".repeat(indent));
            }
            out.push_str("- ");
            match item {
                Value::Object(o) if !o.is_empty() => object(out, o, indent + 2),
                Value::Array(inner) if !inner.is_empty() => array(out, inner, indent + 2),
                other => {
                    out.push_str(&scalar(other));
                    out.push('\n');
                }
            }
        }
    }

    /// After `key:`: a scalar on the line, or a nested block below it.
    fn value(out: &mut String, v: &Value, indent: usize) {
        if !nested(v) {
            out.push(' ');
            out.push_str(&scalar(v));
            out.push('\n');
            return;
        }
        out.push('\n');
        match v {
            Value::Object(o) => object(out, o, indent + 2),
            Value::Array(a) => array(out, a, indent),
            _ => {}
        }
    }
}

/// `formatdate` and `timeadd`, on RFC 3339 timestamps as Terraform reads them.
mod dates {
    use chrono::{DateTime, Datelike, FixedOffset, Timelike};
    use hcl::Value;

    fn parse(ts: &str) -> Result<DateTime<FixedOffset>, String> {
        DateTime::parse_from_rfc3339(ts)
            .map_err(|_| format!("\"{ts}\" is not an RFC 3339 timestamp such as 2018-01-02T23:12:01Z"))
    }

    pub fn timeadd(ts: &str, duration: &str) -> Result<Value, String> {
        let t = parse(ts)?;
        let nanos = go_duration(duration)?;
        let t = t + chrono::Duration::nanoseconds(nanos);
        Ok(crate::clock::rfc3339(&t).into())
    }

    /// Go's duration syntax (`1h30m`, `-10s`, `1.5h`, `300ms`), which Terraform's `timeadd` takes.
    fn go_duration(d: &str) -> Result<i64, String> {
        let bad = || format!("\"{d}\" is not a duration such as 1h30m, 10m or -2h");
        let (sign, mut rest) = match d.strip_prefix('-') {
            Some(r) => (-1.0, r),
            None => (1.0, d.strip_prefix('+').unwrap_or(d)),
        };
        if rest == "0" {
            return Ok(0);
        }
        let mut total = 0.0;
        while !rest.is_empty() {
            let n = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or_else(bad)?;
            let value: f64 = rest[..n].parse().map_err(|_| bad())?;
            rest = &rest[n..];
            let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
            let scale = match &rest[..unit_len] {
                "ns" => 1.0,
                "us" | "µs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                _ => return Err(bad()),
            };
            total += value * scale;
            rest = &rest[unit_len..];
        }
        Ok((sign * total) as i64)
    }

    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

    /// Terraform's format specification: `YYYY YY MMMM MMM MM M DD D EEEE EEE hh h HH H AA aa
    /// mm m ss s ZZZZZ ZZZZ ZZZ Z`, and `'literal'` text.
    pub fn formatdate(spec: &str, ts: &str) -> Result<Value, String> {
        let t = parse(ts)?;
        let chars: Vec<char> = spec.chars().collect();
        let mut out = String::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == '\'' {
                let end =
                    chars[i + 1..].iter().position(|&c| c == '\'').ok_or("formatdate: an unterminated 'literal'")?;
                let literal: String = chars[i + 1..i + 1 + end].iter().collect();
                out.push_str(if literal.is_empty() { "'" } else { &literal });
                i += end + 2;
                continue;
            }
            if !c.is_ascii_alphabetic() {
                out.push(c);
                i += 1;
                continue;
            }
            let run = chars[i..].iter().take_while(|&&x| x == c).count();
            out.push_str(&token(c, run, &t)?);
            i += run;
        }
        Ok(out.into())
    }

    fn token(c: char, n: usize, t: &DateTime<FixedOffset>) -> Result<String, String> {
        let offset = t.offset().local_minus_utc();
        let (sign, abs) = (if offset < 0 { '-' } else { '+' }, offset.abs());
        let (oh, om) = (abs / 3600, abs % 3600 / 60);
        let hour12 = match t.hour() % 12 {
            0 => 12,
            h => h,
        };
        Ok(match (c, n) {
            ('Y', 4) => format!("{:04}", t.year()),
            ('Y', 2) => format!("{:02}", t.year() % 100),
            ('M', 4) => MONTHS[t.month0() as usize].to_string(),
            ('M', 3) => MONTHS[t.month0() as usize][..3].to_string(),
            ('M', 2) => format!("{:02}", t.month()),
            ('M', 1) => t.month().to_string(),
            ('D', 2) => format!("{:02}", t.day()),
            ('D', 1) => t.day().to_string(),
            ('E', 4) => DAYS[t.weekday().num_days_from_monday() as usize].to_string(),
            ('E', 3) => DAYS[t.weekday().num_days_from_monday() as usize][..3].to_string(),
            ('h', 2) => format!("{:02}", t.hour()),
            ('h', 1) => t.hour().to_string(),
            ('H', 2) => format!("{hour12:02}"),
            ('H', 1) => hour12.to_string(),
            ('A', 2) => (if t.hour() < 12 { "AM" } else { "PM" }).into(),
            ('a', 2) => (if t.hour() < 12 { "am" } else { "pm" }).into(),
            ('m', 2) => format!("{:02}", t.minute()),
            ('m', 1) => t.minute().to_string(),
            ('s', 2) => format!("{:02}", t.second()),
            ('s', 1) => t.second().to_string(),
            ('Z', 5) => format!("{sign}{oh:02}:{om:02}"),
            ('Z', 4) => format!("{sign}{oh:02}{om:02}"),
            ('Z', 3) if offset == 0 => "UTC".into(),
            ('Z', 3) => format!("{sign}{oh:02}{om:02}"),
            ('Z', 1) if offset == 0 => "Z".into(),
            ('Z', 1) => format!("{sign}{oh:02}:{om:02}"),
            _ => {
                let seq: String = std::iter::repeat_n(c, n).collect();
                return Err(format!("formatdate: invalid date format verb \"{seq}\""));
            }
        })
    }
}

/// IPv4 and IPv6 prefixes for `cidrhost`, `cidrnetmask`, `cidrsubnet`.
mod cidr {
    use super::*;

    /// A prefix: its network address as a number (host bits cleared), its length, its width.
    struct Prefix {
        net: u128,
        bits: u32,
        width: u32,
    }

    fn parse(s: &str) -> Result<Prefix, String> {
        let bad = || format!("\"{s}\" is not a network prefix such as 10.0.0.0/16 or fd00::/56");
        let (ip, bits) = s.split_once('/').ok_or_else(bad)?;
        let (addr, width) = match ip.parse::<IpAddr>().map_err(|_| bad())? {
            IpAddr::V4(a) => (u32::from(a) as u128, 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        };
        let bits: u32 = bits.parse().ok().filter(|b| *b <= width).ok_or_else(bad)?;
        Ok(Prefix { net: addr & mask(bits, width), bits, width })
    }

    fn mask(bits: u32, width: u32) -> u128 {
        let all = if width == 128 { u128::MAX } else { (1u128 << width) - 1 };
        if bits == 0 { 0 } else { all & !(all >> bits) }
    }

    fn show(addr: u128, width: u32) -> String {
        if width == 32 { Ipv4Addr::from(addr as u32).to_string() } else { Ipv6Addr::from(addr).to_string() }
    }

    pub fn host(prefix: &str, n: &Value) -> Result<Value, String> {
        let p = parse(prefix)?;
        let host = n.as_f64().unwrap_or_default() as i128;
        let size: i128 = if p.width - p.bits >= 127 { i128::MAX } else { 1i128 << (p.width - p.bits) };
        let offset = if host < 0 { size + host } else { host };
        if offset < 0 || offset >= size {
            return Err(format!("cidrhost: {prefix} has no host number {host}"));
        }
        Ok(show(p.net + offset as u128, p.width).into())
    }

    pub fn netmask(prefix: &str) -> Result<Value, String> {
        let p = parse(prefix)?;
        if p.width != 32 {
            return Err(format!("cidrnetmask: only IPv4 prefixes have a netmask, got {prefix}"));
        }
        Ok(show(mask(p.bits, 32), 32).into())
    }

    pub fn subnet(prefix: &str, newbits: &Value, netnum: &Value) -> Result<Value, String> {
        let p = parse(prefix)?;
        let (newbits, netnum) =
            (newbits.as_f64().unwrap_or_default() as u32, netnum.as_f64().unwrap_or_default() as u128);
        let length = p.bits + newbits;
        if length > p.width || newbits >= 128 || netnum >= (1u128 << newbits) {
            return Err(format!("cidrsubnet: {prefix} cannot hold subnet {netnum} of {newbits} more bits"));
        }
        let net = p.net | (netnum << (p.width - length));
        Ok(format!("{}/{length}", show(net, p.width)).into())
    }
}
