//! `flinkform fmt` in the Terraform sense (issue 3): re-indents, aligns `=`, keeps every comment,
//! idempotent; `--check` exits 3 when a file would change, `--diff` shows how.

mod common;
use common::*;

const MESSY: &str = "# the cluster\ncluster \"a\" {\nimage = \"x\"   # pinned\n    flink_config = {\n\"a.b\" = \"1\"\n      \"long.key.name\"   =    \"2\"\n }\n\n\n  taskmanager {\n  slots=2\n  replicas = 3\n  }\n}\n";

#[test]
fn check_diff_write_and_idempotence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.hcl"), MESSY).unwrap();

    let out = run_in(dir.path(), &["fmt", "--check", "--diff"], &[]);
    assert_eq!(out.status.code(), Some(3), "a file would change");
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(
        diff.contains("-image = \"x\"   # pinned") && diff.contains("+  image        = \"x\"   # pinned"),
        "{diff}"
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("main.hcl")).unwrap(), MESSY, "--check writes nothing");

    let out = run_in(dir.path(), &["fmt"], &[]);
    assert!(out.status.success());
    let formatted = std::fs::read_to_string(dir.path().join("main.hcl")).unwrap();
    assert_eq!(
        formatted,
        "# the cluster\ncluster \"a\" {\n  image        = \"x\"   # pinned\n  flink_config = {\n    \"a.b\"           = \"1\"\n    \"long.key.name\" = \"2\"\n  }\n\n  taskmanager {\n    slots    = 2\n    replicas = 3\n  }\n}\n"
    );
    let out = run_in(dir.path(), &["fmt", "--check"], &[]);
    assert_eq!(out.status.code(), Some(0), "idempotent");
}

#[test]
fn every_example_and_module_is_formatted_and_formatting_keeps_comments() {
    for top in ["examples", "modules"] {
        let out = run_in(std::path::Path::new(top), &["fmt", "--check", "--recursive"], &[]);
        assert_eq!(out.status.code(), Some(0), "unformatted in {top}: {}", String::from_utf8_lossy(&out.stdout));
    }
    fn hcl_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                hcl_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "hcl") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    hcl_files(std::path::Path::new("examples"), &mut files);
    hcl_files(std::path::Path::new("modules"), &mut files);
    assert!(files.len() >= 9, "{files:?}");
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let once = flinkform::config::format::format(&src).unwrap();
        assert_eq!(flinkform::config::format::format(&once).unwrap(), once, "{} idempotent", f.display());
        let comments = |s: &str| s.lines().filter(|l| l.trim_start().starts_with('#')).count();
        assert_eq!(comments(&src), comments(&once), "{} keeps its comments", f.display());
    }
}
