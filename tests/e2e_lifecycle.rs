//! `lifecycle { prevent_destroy, ignore_changes }` and `depends_on` on the real engine: what a
//! user checks with `docker` after apply and destroy, not only what the plan says.

mod common;
use common::*;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "rate" {
  type    = string
  default = "10"
}

variable "cmd" {
  type    = string
  default = "trap 'exit 0' TERM; while :; do sleep 1; done"
}

container "keep" {
  image   = "flinkform-offline/busybox:static"
  command = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
  memory  = "16m"
  lifecycle {
    prevent_destroy = true
  }
}

container "tuned" {
  image      = "flinkform-offline/busybox:static"
  command    = ["sh", "-c", var.cmd]
  env        = { RATE = var.rate }
  memory     = "16m"
  depends_on = [container.keep]
  lifecycle {
    ignore_changes = [env]
  }
}
"#;

/// The id of the container recorded at `address`, by its address label (Docker's word).
fn id_at(p: &Project, address: &str) -> String {
    let ids = docker(&[
        "ps",
        "-aq",
        "--no-trunc",
        "--filter",
        &format!("label=io.flinkform.project={}", p.name),
        "--filter",
        &format!("label=io.flinkform.address={address}"),
    ]);
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 1, "exactly one container at {address}: {ids:?}");
    ids[0].to_string()
}

fn env_of(id: &str) -> String {
    docker(&["inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", id])
}

#[test]
fn ignore_changes_and_prevent_destroy_hold_on_the_engine() {
    if !require_docker() {
        return;
    }
    let p = Project::new("fft-lifecycle-meta", HCL);
    let out = p.ok(&["apply", "--auto-approve"]);
    assert!(out.contains("Resources: 2 added"), "{out}");
    let keep = id_at(&p, "container.keep");
    let tuned = id_at(&p, "container.tuned");
    assert!(env_of(&tuned).contains("RATE=10"));
    // depends_on: `tuned` was started after `keep` (Docker's own start times).
    let started = |id: &str| docker(&["inspect", "-f", "{{.State.StartedAt}}", id]).trim().to_string();
    assert!(started(&keep) <= started(&tuned), "keep {} / tuned {}", started(&keep), started(&tuned));

    // ignore_changes = [env]: a new RATE plans nothing and leaves the container as it is.
    let plan = p.ok(&["plan", "--var", "rate=20"]);
    assert!(plan.contains("No changes."), "{plan}");
    p.ok(&["apply", "--auto-approve", "--var", "rate=20"]);
    assert_eq!(id_at(&p, "container.tuned"), tuned, "the container was not recreated");
    assert!(env_of(&tuned).contains("RATE=10"), "Docker still has the first value");
    // Another change to the same container still replaces it, and it then gets the new env too.
    let cmd = "trap 'exit 0' TERM; while :; do sleep 2; done";
    let plan = p.ok(&["plan", "--var", "rate=20", "--var", &format!("cmd={cmd}")]);
    assert!(plan.contains("container.tuned must be replaced"), "{plan}");
    assert!(plan.contains("Plan: 1 to add, 0 to change, 1 to destroy."), "{plan}");
    p.ok(&["apply", "--auto-approve", "--var", "rate=20", "--var", &format!("cmd={cmd}")]);
    let replaced = id_at(&p, "container.tuned");
    assert_ne!(replaced, tuned);
    assert!(env_of(&replaced).contains("RATE=20"), "{}", env_of(&replaced));
    assert_eq!(id_at(&p, "container.keep"), keep, "keep was not touched");

    // prevent_destroy: destroy is refused before anything is touched.
    let before = std::fs::read(p.state_path()).unwrap();
    let out = p.run(&["destroy", "--auto-approve", "--var", "rate=20", "--var", &format!("cmd={cmd}")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("container.keep has lifecycle.prevent_destroy = true"), "{err}");
    assert_eq!(std::fs::read(p.state_path()).unwrap(), before, "the state is unchanged");
    assert_eq!(id_at(&p, "container.keep"), keep);
    assert_eq!(id_at(&p, "container.tuned"), replaced, "no container was destroyed, not even an unguarded one");
    let running = docker(&["inspect", "-f", "{{.State.Running}}", &keep]);
    assert_eq!(running.trim(), "true");

    // A variable cannot lift the guard (it is a literal, as in Terraform); editing it can.
    let hcl = std::fs::read_to_string(p.path().join("main.hcl")).unwrap();
    p.write("main.hcl", &hcl.replace("prevent_destroy = true", "prevent_destroy = var.rate != \"0\""));
    let out = p.run(&["destroy", "--auto-approve"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("main.hcl:"), "{err}");
    assert!(err.contains("`prevent_destroy` must be a literal true or false"), "{err}");
    assert_eq!(id_at(&p, "container.keep"), keep);
    p.write("main.hcl", &hcl.replace("prevent_destroy = true", "prevent_destroy = false"));
    let out = p.ok(&["destroy", "--auto-approve"]);
    assert!(out.contains("Destroy complete! Resources: 2 destroyed."), "{out}");
    assert_eq!(p.labelled(), Vec::<String>::new());
}
