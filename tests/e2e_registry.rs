//! End to end: images from a real private registry (Debian's distribution registry with basic
//! authentication, started by scripts/registry.sh). Pulled with the login `docker login` wrote,
//! or a credential helper's; refused without credentials with the fix; `pull = "always"` sees a
//! tag that moved and plans the replacement; `pull = "never"` never pulls.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;

const USER: &str = "fftest";

struct Registry {
    dir: tempfile::TempDir,
    address: String,
}

impl Registry {
    fn start(password: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .args(["scripts/registry.sh", "start"])
            .arg(dir.path())
            .args([USER, password])
            .output()
            .unwrap();
        assert!(out.status.success(), "the registry starts: {}", String::from_utf8_lossy(&out.stderr));
        Registry { address: String::from_utf8_lossy(&out.stdout).trim().to_string(), dir }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = Command::new("bash").args(["scripts/registry.sh", "stop"]).arg(self.dir.path()).status();
    }
}

/// The docker CLI with its own config directory (its login is this test's only).
fn cli(config: &Path, args: &[&str], input: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new("docker")
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(i) = input {
        child.stdin.take().unwrap().write_all(i.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A light image of its own (the busybox image with a label), so two versions have two ids.
fn build(tag: &str, version: &str) -> String {
    build_image(
        tag,
        &format!("FROM flinkform-offline/busybox:static\nLABEL io.flinkform.test=registry version={version}\n"),
    );
    image_id(tag).unwrap()
}

fn image_id(image: &str) -> Option<String> {
    let out = Command::new("docker").args(["image", "inspect", "-f", "{{.Id}}", image]).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn hcl(image: &str, pull: &str) -> String {
    format!(
        "flinkform {{\n  project = \"PROJECT\"\n}}\n\ncontainer \"app\" {{\n  image   = \"{image}\"\n  pull    = \"{pull}\"\n  command = [\"sleep\", \"3600\"]\n}}\n"
    )
}

#[test]
fn private_images_are_pulled_with_the_docker_login_and_moved_tags_are_planned() {
    if !require_docker() {
        return;
    }
    let password = format!("pw-{}", std::process::id());
    let reg = Registry::start(&password);
    let image = format!("{}/flinkform-test/app:1", reg.address);
    let (a, b) = (build("flinkform-test/registry-app:a", "a"), build("flinkform-test/registry-app:b", "b"));
    let login = tempfile::tempdir().unwrap();
    cli(login.path(), &["login", &reg.address, "-u", USER, "--password-stdin"], Some(&password));
    cli(login.path(), &["tag", "flinkform-test/registry-app:a", &image], None);
    cli(login.path(), &["push", &image], None);
    let _ = Command::new("docker").args(["rmi", &image]).output();
    assert!(image_id(&image).is_none(), "only the registry has it");

    let mut p = Project::new("fft-registry", &hcl(&image, "missing"));
    let container = "fft-registry-app";

    // Without credentials: refused, with the fix, and nothing made.
    let nobody = tempfile::tempdir().unwrap();
    p.env = vec![("DOCKER_CONFIG".into(), nobody.path().display().to_string())];
    let out = p.run(&["apply", "--auto-approve"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("image {image} is not present locally and could not be pulled")), "{err}");
    assert!(err.contains("docker login"), "{err}");
    assert!(p.container_id(container).is_none());

    // With the login `docker login` wrote: pulled, and the container runs that image.
    p.env = vec![("DOCKER_CONFIG".into(), login.path().display().to_string())];
    p.ok(&["apply", "--auto-approve"]);
    assert_eq!(image_id(&image).as_deref(), Some(a.as_str()));
    assert_eq!(docker(&["inspect", "-f", "{{.Image}}", container]).trim(), a);
    assert!(!std::fs::read_to_string(p.state_path()).unwrap().contains(&password), "no credential in the state");

    // The tag moves in the registry (version b pushed under it); the engine still has a.
    cli(login.path(), &["tag", "flinkform-test/registry-app:b", &image], None);
    cli(login.path(), &["push", &image], None);
    cli(login.path(), &["tag", "flinkform-test/registry-app:a", &image], None);
    assert!(p.ok(&["plan"]).contains("No changes."), "pull = \"missing\" keeps what the engine has");
    p.write("main.hcl", &hcl(&image, "always").replace("PROJECT", "fft-registry"));
    let plan = p.ok(&["plan"]);
    assert!(plan.contains("container.app must be replaced"), "{plan}");
    assert!(plan.contains(&format!("image id changed: {image} is now")), "{plan}");
    p.ok(&["apply", "--auto-approve"]);
    assert_eq!(docker(&["inspect", "-f", "{{.Image}}", container]).trim(), b, "the container runs the moved tag");
    assert!(p.ok(&["plan"]).contains("No changes."));

    // A credential helper (credHelpers) instead of the stored login.
    let helper = tempfile::tempdir().unwrap();
    let asked = helper.path().join("asked");
    let script = helper.path().join("docker-credential-fftest");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nread registry\necho \"$registry\" > {}\nprintf '{{\"Username\":\"{USER}\",\"Secret\":\"{password}\"}}'\n",
            asked.display()
        ),
    )
    .unwrap();
    Command::new("chmod").arg("+x").arg(&script).status().unwrap();
    let helped = tempfile::tempdir().unwrap();
    std::fs::write(
        helped.path().join("config.json"),
        format!("{{\"credHelpers\": {{\"{}\": \"fftest\"}}}}", reg.address),
    )
    .unwrap();
    p.ok(&["destroy", "--auto-approve"]);
    let _ = Command::new("docker").args(["rmi", &image]).output();
    let path = format!("{}:{}", helper.path().display(), std::env::var("PATH").unwrap_or_default());
    p.env = vec![("DOCKER_CONFIG".into(), helped.path().display().to_string()), ("PATH".into(), path)];
    p.ok(&["apply", "--auto-approve"]);
    assert_eq!(std::fs::read_to_string(&asked).unwrap().trim(), reg.address, "the helper was asked for the registry");
    assert_eq!(docker(&["inspect", "-f", "{{.Image}}", container]).trim(), b);

    // pull = "never": an image the engine lacks is an error, never a pull.
    p.ok(&["destroy", "--auto-approve"]);
    let _ = Command::new("docker").args(["rmi", &image]).output();
    p.write("main.hcl", &hcl(&image, "never").replace("PROJECT", "fft-registry"));
    let out = p.run(&["apply", "--auto-approve"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("pull = \"never\""), "{err}");
    assert!(image_id(&image).is_none(), "nothing was pulled");

    for tag in ["flinkform-test/registry-app:a", "flinkform-test/registry-app:b"] {
        let _ = Command::new("docker").args(["rmi", tag]).output();
    }
}
