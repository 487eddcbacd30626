//! End to end: the engine chosen as the docker CLI chooses it. A second endpoint of the same
//! engine (a TCP address, forwarded by this test to the local socket and counting what passes)
//! is made a Docker context with the docker CLI itself, in a private DOCKER_CONFIG; flinkform
//! follows DOCKER_CONTEXT, then `docker context use`, and DOCKER_HOST over both.

mod common;
use common::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A TCP listener on loopback that forwards each connection to the engine's socket.
fn forward_to_engine() -> (u16, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            seen.fetch_add(1, Ordering::SeqCst);
            let Ok(engine) = UnixStream::connect("/var/run/docker.sock") else { continue };
            let (mut c_read, mut e_write) = (client.try_clone().unwrap(), engine.try_clone().unwrap());
            let (mut e_read, mut c_write) = (engine, client);
            std::thread::spawn(move || {
                let _ = copy(&mut c_read, &mut e_write);
                let _ = e_write.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let _ = copy(&mut e_read, &mut c_write);
                let _ = c_write.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (port, count)
}

fn copy(from: &mut impl Read, to: &mut impl Write) -> std::io::Result<u64> {
    std::io::copy(from, to)
}

fn docker_cli(config: &std::path::Path, args: &[&str]) {
    let out = std::process::Command::new("docker").args(args).env("DOCKER_CONFIG", config).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}
container "app" {
  image   = "flinkform-offline/busybox:static"
  command = ["sleep", "3600"]
}
"#;

#[test]
fn a_docker_context_names_the_engine() {
    if !require_docker() {
        return;
    }
    let (port, through_tcp) = forward_to_engine();
    let config = tempfile::tempdir().unwrap();
    docker_cli(config.path(), &["context", "create", "fft-tcp", "--docker", &format!("host=tcp://127.0.0.1:{port}")]);

    let mut p = Project::new("fft-context", HCL);
    p.env = vec![("DOCKER_CONFIG".into(), config.path().to_str().unwrap().into())];
    let dir = config.path().to_str().unwrap().to_string();
    let env = |extra: &[(&'static str, &str)]| -> Vec<(String, String)> {
        let mut all = vec![("DOCKER_CONFIG".to_string(), dir.clone())];
        all.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        all
    };
    let run = |args: &[&str], env: Vec<(String, String)>| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_in(p.path(), args, &env)
    };

    // DOCKER_CONTEXT: the apply goes through the context's TCP endpoint.
    let out = run(&["apply", "--auto-approve"], env(&[("DOCKER_CONTEXT", "fft-tcp")]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let after_apply = through_tcp.load(Ordering::SeqCst);
    assert!(after_apply > 0, "the engine was reached through the context's address");
    assert!(p.container_id("fft-context-app").is_some(), "the container runs on the engine (seen on its socket)");

    // `docker context use`: the CLI's current context, without DOCKER_CONTEXT.
    docker_cli(config.path(), &["context", "use", "fft-tcp"]);
    let out = run(&["plan", "-detailed-exitcode"], env(&[]));
    assert_eq!(out.status.code(), Some(0), "No changes: {}", String::from_utf8_lossy(&out.stdout));
    assert!(through_tcp.load(Ordering::SeqCst) > after_apply, "the current context was used");

    // DOCKER_HOST wins over any context; the message says which address and where it came from.
    let before = through_tcp.load(Ordering::SeqCst);
    let missing = config.path().join("no-engine.sock");
    let host = format!("unix://{}", missing.display());
    let out = run(&["plan"], env(&[("DOCKER_HOST", &host)]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no-engine.sock (DOCKER_HOST)"), "{err}");
    assert_eq!(through_tcp.load(Ordering::SeqCst), before, "the context was not used");

    // A context that does not exist is named, with the fix.
    let out = run(&["plan"], env(&[("DOCKER_CONTEXT", "fft-nowhere")]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Docker context \"fft-nowhere\" (DOCKER_CONTEXT) does not exist"), "{err}");
    assert!(err.contains("docker context ls"), "{err}");

    // Back on the default context, destroy through the socket.
    docker_cli(config.path(), &["context", "use", "default"]);
    let out = run(&["destroy", "--auto-approve"], env(&[]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(p.labelled().is_empty());
}
