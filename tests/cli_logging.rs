//! `FLINKFORM_LOG=debug` shows the pipeline's stages and what the executor lowered, never a
//! secret. Planned from the state alone (`--refresh=false`), so no engine is asked.

mod common;
use common::*;

const HCL: &str = r#"
flinkform {
  project = "fflog"
}

variable "token" {
  type      = string
  sensitive = true
}

container "app" {
  image   = "flinkform-offline/busybox:static"
  command = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
  env     = { TOKEN = var.token }
}
"#;

#[test]
fn debug_logging_shows_the_stages_and_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.hcl"), HCL).unwrap();
    let secret = "s3cr3t-value-never-logged";
    let out = run_in(
        dir.path(),
        &["plan", "--refresh=false", "--var", &format!("token={secret}")],
        &[("FLINKFORM_LOG", "debug")],
    );
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    for stage in ["loading the configuration", "configuration loaded", "expanded", "planned"] {
        assert!(stderr.contains(stage), "`{stage}` is logged:\n{stderr}");
    }
    assert!(stdout.contains("container.app will be created"), "{stdout}");
    assert!(!stderr.contains(secret) && !stdout.contains(secret), "the secret never shows:\n{stderr}\n{stdout}");
}

/// Issue 15, item 13: `FLINKFORM_LOG=trace` through a real apply (the engine is asked to create
/// a container whose environment holds the secret) logs no secret, even asked for bollard's own.
#[test]
fn trace_logging_of_a_real_apply_shows_no_secret() {
    if !require_docker() {
        return;
    }
    let mut p = Project::new("fflog", HCL);
    let secret = "s3cr3t-trace-never-logged";
    p.env.push(("FLINKFORM_VAR_token".into(), secret.into()));
    for filter in ["trace", "bollard=trace,hyper=trace,trace"] {
        p.env.retain(|(k, _)| k != "FLINKFORM_LOG");
        p.env.push(("FLINKFORM_LOG".into(), filter.into()));
        let out = p.run(&["apply", "--auto-approve"]);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("TRACE") || stderr.contains("DEBUG"), "{filter}: logging is on:\n{stderr}");
        assert!(!stderr.contains(secret) && !stdout.contains(secret), "{filter}: the secret shows:\n{stderr}");
        p.ok(&["destroy", "--auto-approve"]);
    }
}
