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
  command = ["sleep", "600"]
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
