//! End to end: a saved plan is applied only as flinkform wrote it (issue 15, item 1). `show`
//! renders it from its data; every option that changes what apply does is inside its
//! authentication; a changed byte, another key or an option given beside it is refused and
//! nothing is created; sensitive values are given again at apply and checked against the plan.

mod common;
use common::*;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "n" {
  type    = number
  default = 1
}

variable "token" {
  type      = string
  sensitive = true
}

container "c" {
  count   = var.n
  image   = "flinkform-offline/busybox:static"
  command = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
  memory  = "16m"
  env     = { TOKEN = var.token }
  ports   = ["${HOSTPORT + count.index}:80"]
}

output "token" {
  value     = var.token
  sensitive = true
}
"#;

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `apply FILE` (and `show FILE`) refuse, naming `why`, and no container was created.
fn refused(p: &Project, args: &[&str], why: &str) {
    let out = p.run(args);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {all}");
    assert!(all.contains(why), "{args:?}: expected `{why}` in:\n{all}");
    assert!(p.containers().is_empty(), "{args:?} created containers: {all}");
}

#[test]
fn saved_plans_are_authenticated_and_carry_their_options() {
    if !require_docker() {
        return;
    }
    // A host port written without an address publishes on the loopback (issue 15, item 16).
    let base = 20_000 + std::process::id() % 4_000 * 10;
    let p = Project::new("ffintegrity", &HCL.replace("HOSTPORT", &base.to_string()));
    let secret = "s3cr3t-value-4711";
    let token = format!("token={secret}");
    let out = p.ok(&["plan", "--var", &token, "--var", "n=2", "--out", "two.plan"]);
    assert!(out.contains("Plan: 2 to add"), "{out}");
    let file = std::fs::read_to_string(p.path().join("two.plan")).unwrap();
    assert!(!file.contains(secret), "the plan file holds no secret:\n{file}");
    assert!(!file.contains("Plan: 2 to add"), "no stored text that could disagree with the data");

    // `show` renders the plan from its data, in every format.
    assert!(p.ok(&["show", "two.plan"]).contains("Plan: 2 to add, 0 to change, 0 to destroy."));
    assert!(p.ok(&["show", "--markdown", "two.plan"]).contains("2 to add"));
    let json: serde_json::Value = serde_json::from_str(&p.ok(&["show", "--json", "two.plan"])).unwrap();
    assert_eq!(json["summary"]["add"], 2);

    // Changed content: one change dropped from the data, as a reviewer would be shown 1.
    let mut doc: serde_json::Value = serde_json::from_str(&file).unwrap();
    doc["plan"]["changes"].as_array_mut().unwrap().pop();
    p.write("one.plan", &format!("{}\n", serde_json::to_string_pretty(&doc).unwrap()));
    for args in [&["show", "one.plan"][..], &["apply", "one.plan", "--var", &token]] {
        refused(&p, args, "was changed after flinkform wrote it");
    }
    // Options inside the authentication: destroy, targets.
    for (field, value) in [("destroy", serde_json::json!(true)), ("targets", serde_json::json!(["container.c[0]"]))] {
        let mut doc: serde_json::Value = serde_json::from_str(&file).unwrap();
        doc[field] = value;
        p.write("opt.plan", &format!("{}\n", serde_json::to_string_pretty(&doc).unwrap()));
        refused(&p, &["apply", "opt.plan", "--var", &token], "was changed after flinkform wrote it");
    }
    // A byte that changes no value (whitespace) is refused too: only what flinkform wrote.
    p.write("space.plan", &file.replacen("{", "{ ", 1));
    refused(&p, &["apply", "space.plan", "--var", &token], "was changed after flinkform wrote it");
    // Another key (the tag is re-computable only with the key that made it).
    let other = run_in(
        p.path(),
        &["apply", "two.plan", "--var", &token],
        &[("FLINKFORM_KEY", "0123456789abcdef0123456789abcdef-other")],
    );
    assert_eq!(other.status.code(), Some(1), "{}", text(&other));
    assert!(text(&other).contains("was saved with key"), "{}", text(&other));
    // Options beside a saved plan: refused, it is applied as reviewed.
    refused(
        &p,
        &["apply", "two.plan", "--var", &token, "--target", "container.c[0]"],
        "cannot be given with a saved plan",
    );

    // Sensitive values are given again and checked against the plan's keyed hashes.
    refused(&p, &["apply", "two.plan"], "token");
    refused(&p, &["apply", "two.plan", "--var", "token=another"], "the sensitive variable `token`");
    let out = p.ok(&["apply", "two.plan", "--var", &token]);
    assert!(out.contains("Apply complete! Resources: 2 added"), "{out}");
    assert_eq!(p.containers().len(), 2, "both containers run");
    let published = docker(&["port", "ffintegrity-c-0", "80/tcp"]);
    assert_eq!(published.trim(), format!("127.0.0.1:{base}"), "published on the loopback only");
    let env = docker(&["inspect", "-f", "{{json .Config.Env}}", "ffintegrity-c-0"]);
    assert!(env.contains(&format!("TOKEN={secret}")), "the container got the real value: {env}");
    // The applied mark is authenticated as well.
    let applied = std::fs::read_to_string(p.path().join("two.plan")).unwrap();
    p.write("two.plan", &applied.replace("\"applied\": true", "\"applied\": false"));
    let out = p.run(&["apply", "two.plan", "--var", &token]);
    assert!(text(&out).contains("was changed after flinkform wrote it"), "{}", text(&out));
}
