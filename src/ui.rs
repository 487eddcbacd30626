//! Terraform's machine-readable UI (`apply -json`, `destroy -json`): one JSON object a line,
//! each with `@level`, `@message`, `@module`, `@timestamp` and a `type` (`version`,
//! `planned_change`, `change_summary`, `apply_progress`, `outputs`, `diagnostic`), so the tools
//! that read `terraform apply -json` read flinkform's.

use serde_json::{Map, Value, json};

/// Prints one line of type `kind` with its message and the fields of `extra`.
pub fn line(level: &str, message: &str, kind: &str, extra: Value) {
    let mut out = Map::new();
    out.insert("@level".into(), level.into());
    out.insert("@message".into(), message.into());
    out.insert("@module".into(), "flinkform.ui".into());
    out.insert("@timestamp".into(), crate::clock::now_rfc3339().into());
    out.insert("type".into(), kind.into());
    if let Value::Object(fields) = extra {
        out.extend(fields);
    }
    let text = Value::Object(out).to_string();
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{text}");
    let _ = stdout.flush();
}

/// The first line: which program, which UI version.
pub fn version() {
    let v = env!("CARGO_PKG_VERSION");
    line("info", &format!("flinkform {v}"), "version", json!({ "flinkform": v, "ui": "1.2" }));
}

/// A resource's hook object, as Terraform names a resource in its UI lines.
pub fn resource(address: &str) -> Value {
    json!({ "resource": { "addr": address } })
}
