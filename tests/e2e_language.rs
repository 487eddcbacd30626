//! The language on the real engine (issue 4): a shipped module with inputs and outputs, a
//! supporting container with `count`, healthcheck readiness and a volume from `for_each`; a
//! sensitive value given through `FLINKFORM_VAR_…` that reaches the containers but appears in
//! no output, file or label; removing one count index and one for_each key destroys only those.

mod common;
use common::*;
use std::time::Duration;

const SECRET: &str = "Zq9-s3cr3t-value-4711";

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "secret" {
  type      = string
  sensitive = true
}

variable "probes" {
  type    = number
  default = 2
}

variable "regions" {
  type    = set(string)
  default = ["eu", "us"]
}

module "analytics" {
  source       = "MODULES/flink-session"
  taskmanagers = 1
  flink_config = { "s3.secret-key" = var.secret }
}

volume "scratch" {
  for_each = var.regions
}

container "probe" {
  count   = var.probes
  image   = "flinkform-offline/base:java17"
  command = ["bash", "-c", "while true; do sleep 5; done"]
  network = module.analytics.network
  env     = { TOKEN = var.secret, INDEX = count.index }
  volumes = ["${volume.scratch["eu"].name}:/scratch"]

  healthcheck {
    test     = ["CMD", "curl", "-fsS", "http://${module.analytics.jobmanager_host}:8081/overview"]
    interval = "1s"
  }
}

network "side" {
  name = "fflangside"
}

# Its own Docker name (outside the project prefix), on two networks, started after the probes.
container "named" {
  name       = "fflangnamed"
  image      = "flinkform-offline/base:java17"
  command    = ["sleep", "infinity"]
  networks   = [module.analytics.network, network.side.name]
  user       = "65534"
  depends_on = [container.probe]
}

output "rest_url" {
  value = module.analytics.rest_url
}

output "token" {
  value = "t-${var.secret}"
}
"#;

fn text(out: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn modules_count_for_each_and_a_sensitive_value_on_the_real_engine() {
    assert!(require_docker());
    let modules = concat!(env!("CARGO_MANIFEST_DIR"), "/modules");
    let mut p = Project::new("fflang", &HCL.replace("MODULES", modules));
    p.env.push(("FLINKFORM_VAR_secret".into(), SECRET.into()));
    let clean = |what: &str, s: &str| assert!(!s.contains(SECRET), "{what} shows the secret:\n{s}");

    // Everything a reviewer or CI reads before apply.
    for args in [&["plan"][..], &["plan", "--json"], &["plan", "--markdown"], &["plan", "--out", "tfplan"]] {
        let out = p.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        clean(&format!("{args:?}"), &text(&out));
    }
    let plan_file = std::fs::read_to_string(p.path().join("tfplan")).unwrap();
    clean("the saved plan file", &plan_file);
    let shown = p.run(&["show", "tfplan"]);
    clean("show tfplan", &text(&shown));
    assert!(text(&shown).contains("module.analytics.cluster.flink.jobmanager[0]"), "{}", text(&shown));
    assert!(
        text(&shown).lines().any(|l| l.contains("+ env.TOKEN") && l.ends_with("= \"(sensitive value)\"")),
        "{}",
        text(&shown)
    );

    let applied = p.run(&["apply", "tfplan"]);
    assert!(applied.status.success(), "{}", text(&applied));
    clean("apply", &text(&applied));

    // The module's cluster serves REST at the module output's URL, with its TaskManager.
    let url = p.ok(&["output", "--raw", "rest_url"]).trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    eventually("one TaskManager in /overview", Duration::from_secs(60), || overview(&url).filter(|o| o.0 == 1));

    // Both probes exist, passed their healthcheck (apply waited for it), and got the secret.
    for i in 0..2 {
        let name = format!("fflang-probe-{i}");
        assert_eq!(docker(&["inspect", "-f", "{{.State.Health.Status}}", &name]).trim(), "healthy");
        let env = docker(&["inspect", "-f", "{{json .Config.Env}}", &name]);
        assert!(env.contains(&format!("TOKEN={SECRET}")), "the container needs the real value: {env}");
        assert!(env.contains(&format!("INDEX={i}")), "{env}");
        let mounts = docker(&["inspect", "-f", "{{json .Mounts}}", &name]);
        assert!(mounts.contains("fflang-scratch-eu"), "{mounts}");
    }
    let nets = docker(&["inspect", "-f", "{{json .NetworkSettings.Networks}}", "fflangnamed"]);
    assert!(nets.contains("fflang-analytics-flink") && nets.contains("fflangside"), "{nets}");
    assert_eq!(docker(&["inspect", "-f", "{{.Config.User}}", "fflangnamed"]).trim(), "65534");
    let jm = "fflang-analytics-flink-jobmanager-0";
    let props = docker(&["inspect", "-f", "{{json .Config.Env}}", jm]);
    assert!(props.contains(&format!("s3.secret-key: {SECRET}")), "Flink needs the real value: {props}");

    // Labels, state, and every reading command keep it hidden.
    for (name, _) in p.containers() {
        clean(&format!("labels of {name}"), &docker(&["inspect", "-f", "{{json .Config.Labels}}", &name]));
    }
    let state = std::fs::read_to_string(p.state_path()).unwrap();
    clean("the state file", &state);
    assert!(state.contains("sensitive:v2:"), "the state keeps a keyed hash to see changes");
    for args in [&["show"][..], &["output"], &["output", "token"], &["output", "--json"], &["state", "list"]] {
        let out = p.run(args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        clean(&format!("{args:?}"), &text(&out));
    }
    assert_eq!(p.ok(&["output", "token"]).trim(), "(sensitive value)");
    assert!(p.ok(&["plan"]).contains("No changes."));

    // A changed secret is seen through its hash, and still not shown.
    let changed = run_in(p.path(), &["plan"], &[("FLINKFORM_VAR_secret", "another-value-0815")]);
    let changed = text(&changed);
    assert!(changed.contains("env.TOKEN: (sensitive value) → (sensitive value)"), "{changed}");
    assert!(!changed.contains("another-value-0815"), "{changed}");

    // Removing one count index and one for_each key destroys only those.
    let keep: Vec<(String, String)> = p.containers().into_iter().filter(|(n, _)| n != "fflang-probe-1").collect();
    let vars = ["--var", "probes=1", "--var", "regions=[\"eu\"]"];
    let plan = p.ok(&[&["plan"][..], &vars].concat());
    assert!(plan.contains("Plan: 0 to add, 0 to change, 2 to destroy."), "{plan}");
    assert!(!plan.contains("fflangnamed"), "a container outside the prefix is seen and kept: {plan}");
    assert!(plan.contains("# container.probe[1] will be destroyed"), "{plan}");
    assert!(plan.contains("# volume.scratch[\"us\"] will be destroyed"), "{plan}");
    p.ok(&[&["apply", "--auto-approve"][..], &vars].concat());
    let after: Vec<(String, String)> = p.containers();
    assert_eq!(after, keep, "the other containers were not touched");
    assert!(docker(&["volume", "ls", "-q"]).lines().any(|v| v == "fflang-scratch-eu"));
    assert!(!docker(&["volume", "ls", "-q"]).lines().any(|v| v == "fflang-scratch-us"));

    p.ok(&[&["destroy", "--auto-approve"][..], &vars].concat());
    assert!(p.labelled().is_empty(), "{:?}", p.labelled());
}
