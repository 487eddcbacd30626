//! End to end (issue 15, mutual TLS): a running cluster switched to `security { tls = true }`
//! is planned as a replacement that says why; afterwards Flink's REST API refuses a client
//! without flinkform's certificate and answers one with it (curl, as a user would, with the
//! bundle apply leaves); the job moved across through a savepoint and is upgraded again
//! through one over TLS; the TaskManager replaced alone registers with the JobManager that kept
//! running; `-replace` of the TLS volume rotates the certificates, with a plan that
//! lists every container it restarts. No key material in state, plan, labels or output.

mod common;
use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

variable "tls" {
  type    = bool
  default = false
}

variable "parallelism" {
  type    = number
  default = 2
}

cluster "sec" {
  image = "flinkform-offline/flink:2.3.0-java17"

  security {
    tls = var.tls
  }

  jobmanager {
    memory = "1024m"
  }

  taskmanager {
    replicas = 1
    slots    = 2
    memory   = "1024m"
  }
}

job "counter" {
  cluster      = cluster.sec.name
  jar          = "stateful-counter.jar"
  entry_class  = "org.flinkform.examples.StatefulCounter"
  args         = ["20"]
  parallelism  = var.parallelism
  upgrade_mode = "savepoint"
}

output "rest_url" {
  value = cluster.sec.rest_url
}

output "tls_bundle" {
  value = cluster.sec.tls_bundle
}
"#;

/// curl, as a user runs it; the body on success, None when curl fails (a refused handshake).
fn curl(args: &[&str], url: &str) -> Option<String> {
    let out = Command::new("curl").args(["-sS", "--fail", "--max-time", "10"]).args(args).arg(url).output().unwrap();
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).to_string())
}

/// curl with the bundle in `dir` (the CA, and the client certificate unless `with_cert` is off).
fn curl_tls(dir: &std::path::Path, with_cert: bool, url: &str) -> Option<String> {
    let ca = dir.join("ca.pem").display().to_string();
    let cert = dir.join("client.pem").display().to_string();
    let key = dir.join("client-key.pem").display().to_string();
    let mut args = vec!["--cacert", ca.as_str()];
    if with_cert {
        args.extend(["--cert", cert.as_str(), "--key", key.as_str()]);
    }
    curl(&args, url)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// The job id the state records for job.counter.
fn job_id(p: &Project) -> String {
    let state: Value = json(&std::fs::read_to_string(p.state_path()).unwrap());
    let job = state["resources"].as_array().unwrap().iter().find(|r| r["address"] == "job.counter").unwrap().clone();
    job["id"].as_str().unwrap().to_string()
}

/// The savepoint the state records for job.counter.
fn recorded_savepoint(p: &Project) -> Option<String> {
    let state: Value = json(&std::fs::read_to_string(p.state_path()).unwrap());
    let job = state["resources"].as_array().unwrap().iter().find(|r| r["address"] == "job.counter").unwrap().clone();
    job["savepoint"].as_str().map(str::to_string)
}

#[test]
fn a_cluster_switched_to_mutual_tls_refuses_clients_without_the_certificate_and_keeps_its_job() {
    if !require_docker() {
        return;
    }
    let build = Command::new("bash").arg("examples/jobs/build.sh").status().unwrap();
    assert!(build.success(), "examples/jobs/build.sh compiles the job");
    let p = Project::new("fft-tls", HCL);
    std::fs::copy("examples/jobs/stateful-counter.jar", p.path().join("stateful-counter.jar")).unwrap();
    p.ok(&["apply", "-auto-approve"]);
    let plain = p.ok(&["output", "-raw", "rest_url"]);
    assert!(plain.starts_with("http://"), "{plain}");
    let jm = "fft-tls-sec-jobmanager-0";
    let jm_before = p.container_id(jm).unwrap();

    // Turning TLS on: every Flink container is replaced, and the plan says why.
    let plan = p.ok(&["plan", "-var", "tls=true"]);
    for what in [
        "cluster.sec.jobmanager[0] must be replaced",
        "cluster.sec.taskmanager[0] must be replaced",
        "cluster.sec.volume[\"tls\"] will be created",
        "+ mount./flink-tls",
        "security.ssl.rest.authentication-enabled: true",
        "forces replacement: a JobManager reads its configuration only at start",
        "job.counter",
    ] {
        assert!(plan.contains(what), "the plan shows {what:?}:\n{plan}");
    }
    assert!(plan.contains("keystore-password: (sensitive value)"), "{plan}");
    let j1 = job_id(&p);
    p.ok(&["apply", "-auto-approve", "-var", "tls=true"]);
    assert_ne!(p.container_id(jm).unwrap(), jm_before, "the JobManager was replaced");
    let url = p.ok(&["output", "-raw", "rest_url"]).trim().to_string();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let bundle = p.path().join(p.ok(&["output", "-raw", "tls_bundle"]).trim());
    for f in ["ca.pem", "client.pem", "client-key.pem"] {
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(bundle.join(f)).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600, "{f} is owner-only");
    }

    // Without the client certificate the handshake is refused; with it, Flink answers.
    assert_eq!(curl_tls(&bundle, false, &format!("{url}/overview")), None, "no client certificate, no answer");
    assert_eq!(curl(&["-k"], &format!("{url}/overview")), None, "not even with verification off");
    let overview = json(&curl_tls(&bundle, true, &format!("{url}/overview")).expect("Flink answers the client"));
    // Flink itself reports internal SSL on (its TaskManager registered through it).
    let config = json(&curl_tls(&bundle, true, &format!("{url}/jobmanager/config")).unwrap());
    let setting = |k: &str| config.as_array().unwrap().iter().find(|e| e["key"] == k).map(|e| e["value"].clone());
    assert_eq!(setting("security.ssl.internal.enabled"), Some("true".into()), "{config}");
    assert_eq!(setting("security.ssl.rest.authentication-enabled"), Some("true".into()), "{config}");
    assert_eq!(overview["taskmanagers"], 1, "{overview}");
    assert_eq!(overview["slots-total"], 2, "{overview}");

    // The job crossed over through a savepoint and runs on the TLS cluster.
    let j2 = job_id(&p);
    assert_ne!(j1, j2);
    let job = |url: &str, jid: &str| json(&curl_tls(&bundle, true, &format!("{url}/jobs/{jid}")).unwrap());
    let restored = |url: &str, jid: &str| {
        let c = json(&curl_tls(&bundle, true, &format!("{url}/jobs/{jid}/checkpoints")).unwrap());
        c["latest"]["restored"]["external_path"].as_str().map(str::to_string)
    };
    eventually("the job to run on the TLS cluster", Duration::from_secs(60), || {
        (job(&url, &j2)["state"] == "RUNNING").then_some(())
    });
    let from = eventually("Flink to report the savepoint the job restored from", Duration::from_secs(30), || {
        restored(&url, &j2)
    });
    assert_eq!(Some(from), recorded_savepoint(&p), "restored from the savepoint taken over http");

    // An upgrade over TLS: stop with a savepoint, resubmit from it.
    p.ok(&["apply", "-auto-approve", "-var", "tls=true", "-var", "parallelism=1"]);
    let j3 = job_id(&p);
    assert_ne!(j2, j3);
    eventually("the upgraded job to run", Duration::from_secs(60), || {
        (job(&url, &j3)["state"] == "RUNNING").then_some(())
    });
    let parallelism =
        job(&url, &j3)["vertices"].as_array().unwrap().iter().map(|v| v["parallelism"].as_u64().unwrap()).max();
    assert_eq!(parallelism, Some(1));
    let from = eventually("Flink to report the savepoint", Duration::from_secs(30), || restored(&url, &j3));
    assert_eq!(Some(from), recorded_savepoint(&p), "the upgrade restored from the savepoint taken over TLS");
    let status = json(&p.ok(&["status", "--json"]));
    assert_eq!(status[0]["taskmanagers"], 1, "status speaks TLS too: {status}");

    // The TaskManager alone replaced: its keystores, derived again by this run, hold the
    // certificates the JobManager kept running with, so it registers over TLS.
    let (jm_id, tm) = (p.container_id(jm).unwrap(), "fft-tls-sec-taskmanager-0");
    let tm_id = p.container_id(tm).unwrap();
    let only_tm = ["-var", "tls=true", "-var", "parallelism=1", "-replace", "cluster.sec.taskmanager[0]"];
    p.ok(&[&["apply", "-auto-approve"][..], &only_tm].concat());
    assert_eq!(p.container_id(jm).unwrap(), jm_id, "the JobManager kept running");
    assert_ne!(p.container_id(tm).unwrap(), tm_id, "the TaskManager was replaced");
    let overview = json(&curl_tls(&bundle, true, &format!("{url}/overview")).unwrap());
    assert_eq!(overview["taskmanagers"], 1, "the new TaskManager registered: {overview}");
    let j3 = job_id(&p);
    eventually("the job to run on the new TaskManager", Duration::from_secs(60), || {
        (job(&url, &j3)["state"] == "RUNNING").then_some(())
    });

    // No key material or keystore password where a reviewer or the engine's labels would show it.
    let env = docker(&["inspect", jm, "--format", "{{json .Config.Env}}"]);
    let password = env
        .split("keystore-password: ")
        .nth(1)
        .and_then(|s| s.split("\\n").next())
        .expect("the JobManager's FLINK_PROPERTIES name a keystore password")
        .to_string();
    let state = std::fs::read_to_string(p.state_path()).unwrap();
    let labels = docker(&["inspect", jm, "--format", "{{json .Config.Labels}}"]);
    let tls_labels = docker(&["volume", "inspect", "fft-tls-sec-tls", "--format", "{{json .Labels}}"]);
    for (what, text) in [("state", &state), ("plan", &plan), ("labels", &labels), ("volume labels", &tls_labels)] {
        assert!(!text.contains(&password), "the keystore password is not in the {what}");
        assert!(!text.contains("PRIVATE KEY"), "no private key in the {what}");
    }

    // Rotation: the plan lists every container it restarts; afterwards the old certificate is
    // refused and the new one answers.
    let old = tempfile::tempdir().unwrap();
    for f in ["ca.pem", "client.pem", "client-key.pem"] {
        std::fs::copy(bundle.join(f), old.path().join(f)).unwrap();
    }
    let rotate = ["-var", "tls=true", "-var", "parallelism=1", "-replace", "cluster.sec.volume[\"tls\"]"];
    let plan = p.ok(&[&["plan"][..], &rotate].concat());
    for replaced in ["cluster.sec.jobmanager[0]", "cluster.sec.taskmanager[0]", "cluster.sec.volume[\"tls\"]"] {
        assert!(plan.contains(&format!("{replaced} must be replaced")), "{replaced} in:\n{plan}");
    }
    assert!(plan.contains("forced by the replacement of cluster.sec.volume[\"tls\"]"), "{plan}");
    p.ok(&[&["apply", "-auto-approve"][..], &rotate].concat());
    let url = p.ok(&["output", "-raw", "rest_url"]).trim().to_string();
    assert_ne!(
        std::fs::read(bundle.join("client.pem")).unwrap(),
        std::fs::read(old.path().join("client.pem")).unwrap()
    );
    assert_eq!(curl_tls(old.path(), true, &format!("{url}/overview")), None, "the rotated-out certificate is refused");
    let j4 = job_id(&p);
    eventually("the job to run after the rotation", Duration::from_secs(60), || {
        (job(&url, &j4)["state"] == "RUNNING").then_some(())
    });
    assert!(p.ok(&["plan", "-var", "tls=true", "-var", "parallelism=1"]).contains("No changes."));

    // And off again: the job's savepoint is taken over TLS, the cluster comes back plain.
    p.ok(&["apply", "-auto-approve", "-var", "parallelism=1"]);
    let url = p.ok(&["output", "-raw", "rest_url"]).trim().to_string();
    assert!(url.starts_with("http://"), "{url}");
    let j5 = job_id(&p);
    assert_ne!(j4, j5);
    let plain_job = |path: &str| http_get(&format!("{url}/jobs/{j5}{path}")).map(|b| json(&b));
    eventually("the job to run on the plain cluster", Duration::from_secs(60), || {
        plain_job("").filter(|j| j["state"] == "RUNNING")
    });
    let from = eventually("Flink to report the savepoint", Duration::from_secs(30), || {
        plain_job("/checkpoints")?["latest"]["restored"]["external_path"].as_str().map(str::to_string)
    });
    assert_eq!(Some(from), recorded_savepoint(&p), "restored from the savepoint taken over TLS");
    assert!(
        docker(&["volume", "ls", "-q", "--filter", "name=fft-tls-sec-tls"]).trim().is_empty(),
        "the TLS volume is gone"
    );
}
