//! An in-tree fuzz harness (no cargo-fuzz toolchain needed): seeded mutations of real
//! configurations go through loading, evaluation and expansion, and mutations of a real state
//! file through state parsing. Any panic or hang fails the run and names the input.
//!
//! In CI it runs for a few seconds; `scripts/fuzz.sh SECONDS [SEED]` runs it longer.

use flinkform::config::{self, VarInputs};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one input may take before it counts as a hang.
const HANG: Duration = Duration::from_secs(10);

struct Rng(u64);
impl Rng {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below.max(1) as u64) as usize
    }
}

/// Tokens that steer mutations towards the language's corners.
const DICTIONARY: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "(",
    ")",
    "\"",
    "${",
    "%{",
    "~}",
    "=",
    "==",
    "?",
    ":",
    ",",
    "\n",
    "#",
    "/*",
    "*/",
    "<<EOT\n",
    "\nEOT\n",
    "null",
    "true",
    "-1",
    "0",
    "65536",
    "1e309",
    "0.5",
    "count",
    "for_each",
    "count.index",
    "each.key",
    "each.value",
    "var.",
    "local.",
    "cluster.",
    "module.",
    "container.",
    "depends_on = [",
    "lifecycle {",
    "ignore_changes = [",
    "sensitive = true",
    "for x in ",
    " : ",
    "[*]",
    "if ",
    "else",
    "endif",
    "endfor",
    "templatefile(\"",
    "jsondecode(",
    "format(\"%d\", ",
    "tonumber(",
    "merge(",
    "toset(",
    "lookup(",
    "coalesce(",
    "module \"m\" {\n source = \"./\"\n}\n",
    "variable \"v\" {\n type = list(object({ a = number }))\n}\n",
    "validation {\n condition = false\n error_message = \"x\"\n}\n",
    "\u{0}",
    "é",
    "\\",
];

fn seeds() -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = Vec::new();
    for root in ["examples", "modules"] {
        for e in std::fs::read_dir(root).unwrap().flatten() {
            dirs.push(e.path());
        }
    }
    dirs.sort();
    for d in dirs {
        let mut files: Vec<PathBuf> =
            std::fs::read_dir(&d).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        files.retain(|f| f.extension().is_some_and(|e| e == "hcl"));
        files.sort();
        for f in files {
            out.push(std::fs::read_to_string(f).unwrap());
        }
    }
    out.push(
        r#"
variable "m" {
  type    = map(object({ n = number, tags = list(string) }))
  default = { a = { n = 1, tags = ["x"] } }
}
locals {
  names = [for k, v in var.m : "${k}-${v.n}" if v.n > 0]
  t     = "%{ for n in local.names }${upper(n)}%{ endfor }"
}
container "c" {
  for_each = var.m
  image    = format("img:%d", each.value.n)
  env      = { T = local.t, J = jsonencode(each.value.tags) }
  lifecycle {
    ignore_changes = [env]
  }
}
"#
        .into(),
    );
    out
}

fn mutate(rng: &mut Rng, seeds: &[String]) -> String {
    let mut s: Vec<char> = seeds[rng.next(seeds.len())].chars().collect();
    for _ in 0..1 + rng.next(6) {
        let at = rng.next(s.len() + 1);
        match rng.next(6) {
            0 if !s.is_empty() => {
                let end = (at + rng.next(40)).min(s.len());
                s.drain(at.min(end)..end);
            }
            1 if !s.is_empty() => {
                let start = rng.next(s.len());
                let end = (start + rng.next(60)).min(s.len());
                let copy: Vec<char> = s[start..end].to_vec();
                s.splice(at..at, copy);
            }
            2 => {
                let other: Vec<char> = seeds[rng.next(seeds.len())].chars().collect();
                let start = rng.next(other.len());
                let end = (start + rng.next(200)).min(other.len());
                s.splice(at..at, other[start..end].iter().copied());
            }
            3 if at < s.len() => s[at] = char::from(b' ' + rng.next(95) as u8),
            _ => {
                let tok = DICTIONARY[rng.next(DICTIONARY.len())];
                s.splice(at..at, tok.chars());
            }
        }
    }
    s.into_iter().collect()
}

/// Runs `f` on its own thread; a panic or a hang is returned as an error message.
fn guarded<F: FnOnce() + Send + 'static>(f: F) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r.map_err(|p| {
            p.downcast_ref::<String>().cloned().or(p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
        }));
    });
    match rx.recv_timeout(HANG) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(panic)) => Err(format!("panicked: {panic}")),
        Err(_) => Err(format!("hung for more than {HANG:?}")),
    }
}

fn keep_failure(kind: &str, input: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{kind}-{:016x}", fxhash(input)));
    std::fs::write(&path, input).unwrap();
    path
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

fn budget() -> (Duration, u64) {
    let secs = std::env::var("FLINKFORM_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(4);
    let seed = std::env::var("FLINKFORM_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed_f11e);
    (Duration::from_secs(secs), seed)
}

#[test]
fn fuzz_config_loading_and_evaluation() {
    let (time, seed) = budget();
    let seeds = seeds();
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.txt"), "x").unwrap();
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < time {
        let input = mutate(&mut rng, &seeds);
        std::fs::write(dir.path().join("main.hcl"), &input).unwrap();
        let path = dir.path().to_path_buf();
        let result = guarded(move || {
            if let Ok(c) = config::load(&path, &VarInputs::default()) {
                let _ = flinkform::model::expand(&c, &flinkform::model::sensitive::Masker::salted("salt"));
                let _ = c.evaluate_outputs(&|_| Some(flinkform::config::LiveRest { port: 8081, url: None }), true);
            }
        });
        if let Err(e) = result {
            panic!("config loading {e}; input kept at {}", keep_failure("config", &input).display());
        }
        runs += 1;
    }
    eprintln!("fuzzed config loading with {runs} inputs in {:?} (seed {seed})", start.elapsed());
    assert!(runs > 10, "the harness ran");
}

#[test]
fn fuzz_state_parsing() {
    let (time, seed) = budget();
    let state = r#"{
  "version": 1,
  "flinkform_version": "0.1.0",
  "serial": 3,
  "lineage": "3f1c3c6e-0000-4000-8000-000000000000",
  "salt": "00ff",
  "resources": [
    {
      "address": "cluster.a.jobmanager[0]",
      "kind": "container",
      "name": "p-a-jobmanager-0",
      "id": "abc",
      "attributes": { "image": "x", "env.K": "sensitive:v1:00" },
      "config_hash": "v1:00",
      "dependencies": ["cluster.a.network"],
      "ports": { "8081/tcp": 32768 },
      "savepoint": "file:///x"
    }
  ],
  "outputs": { "o": { "value": [1, {"a": null}], "sensitive": false } },
  "forgotten": ["id1"]
}
"#;
    let seeds = vec![state.to_string()];
    let mut rng = Rng(seed ^ 0xabcdef);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flinkform.state.json");
    let start = Instant::now();
    let mut runs = 0u64;
    while start.elapsed() < time {
        let input = mutate(&mut rng, &seeds);
        std::fs::write(&path, &input).unwrap();
        let p = path.clone();
        if let Err(e) = guarded(move || {
            if let Ok(s) = flinkform::state::State::load(&p) {
                let _ = s.to_bytes();
            }
        }) {
            panic!("state parsing {e}; input kept at {}", keep_failure("state", &input).display());
        }
        runs += 1;
    }
    eprintln!("fuzzed state parsing with {runs} inputs in {:?} (seed {seed})", start.elapsed());
    assert!(runs > 10, "the harness ran");
}

/// A saved plan as `plan --out` writes it, for the fuzzer to tamper with.
fn saved_plan_bytes(path: &Path, key: &flinkform::key::Key) -> String {
    use flinkform::plan::saved::{FORMAT, KIND, Reviewed, ReviewedChange, SavedPlan};
    let change = |i: usize| ReviewedChange {
        address: format!("container.c[{i}]"),
        kind: flinkform::model::Kind::Container,
        name: format!("p-c-{i}"),
        action: flinkform::plan::Action::Create,
        before: None,
        after: Some([("image".to_string(), "busybox".to_string())].into()),
        reasons: vec![],
        keep_object: false,
        drift: None,
    };
    let mut saved = SavedPlan {
        kind: KIND.into(),
        format: FORMAT,
        flinkform_version: "0.1.0".into(),
        destroy: false,
        targets: vec![],
        replace: vec![],
        lineage: "3f1c3c6e-0000-4000-8000-000000000000".into(),
        serial: 3,
        config_fingerprint: "00".repeat(32),
        live_fingerprint: "11".repeat(32),
        vars: vec!["n=2".into()],
        var_files: vec![],
        sensitive_vars: [("token".to_string(), "22".repeat(32))].into(),
        plan: Reviewed { changes: vec![change(0), change(1)], outputs: vec![], foreign: vec![], moved: vec![] },
        applied: false,
        key: String::new(),
        mac: String::new(),
    };
    saved.write(path, key).unwrap();
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn fuzz_saved_plan_files() {
    let (time, seed) = budget();
    let key = flinkform::key::Key::from_bytes(b"a-fuzzing-key-of-at-least-32-bytes");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tfplan");
    let original = saved_plan_bytes(&path, &key);
    assert!(flinkform::plan::saved::SavedPlan::read(&path, &key).is_ok(), "the untouched file is read");
    let seeds = vec![original.clone()];
    let mut rng = Rng(seed ^ 0x5a7ed);
    let start = Instant::now();
    let (mut runs, mut tampered) = (0u64, 0u64);
    while start.elapsed() < time {
        let input = mutate(&mut rng, &seeds);
        std::fs::write(&path, &input).unwrap();
        let (p, k) = (path.clone(), key.clone());
        let changed = input != original;
        let result = guarded(move || {
            let read = flinkform::plan::saved::SavedPlan::read(&p, &k);
            assert!(!changed || read.is_err(), "a tampered saved plan was accepted");
        });
        if let Err(e) = result {
            panic!("saved plan reading {e}; input kept at {}", keep_failure("saved-plan", &input).display());
        }
        runs += 1;
        tampered += u64::from(changed);
    }
    eprintln!("fuzzed saved plans with {runs} inputs ({tampered} tampered, all refused) in {:?}", start.elapsed());
    assert!(tampered > 10, "the harness ran");
}
