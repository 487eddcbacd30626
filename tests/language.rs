//! The configuration language without Docker: modules (inputs, outputs, nesting, addresses),
//! count/for_each, expressions, typed variables with validation and precedence, sensitivity.
//! Each test writes a small configuration and checks what a user would read: addresses, Docker
//! names, values, error messages.

use flinkform::config::{self, Config, VarInputs};
use flinkform::model;
use std::path::Path;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn load(files: &[(&str, &str)], vars: &[&str]) -> Result<(Config, tempfile::TempDir), String> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), files);
    let inputs = VarInputs { var_files: vec![], vars: vars.iter().map(|s| s.to_string()).collect() };
    match config::load(dir.path(), &inputs) {
        Ok(c) => Ok((c, dir)),
        Err(e) => Err(e.errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("\n")),
    }
}

fn addresses(c: &Config) -> Vec<String> {
    model::expand(c, &flinkform::model::sensitive::Masker::salted("salt")).keys().cloned().collect()
}

const SESSION: &str = r#"
variable "taskmanagers" {
  type    = number
  default = 1
}
variable "label" {
  type = string
}
cluster "flink" {
  taskmanager {
    replicas = var.taskmanagers
  }
}
output "name" {
  value = cluster.flink.name
}
output "greeting" {
  value = "hello ${var.label}"
}
"#;

#[test]
fn module_inputs_outputs_nesting_and_addresses() {
    let files = [
        (
            "main.hcl",
            "flinkform {\n  project = \"p\"\n}\nmodule \"outer\" {\n  source = \"./modules/outer\"\n  tms = 2\n}\noutput \"inner_name\" {\n  value = module.outer.inner_name\n}\noutput \"greeting\" {\n  value = module.outer.greeting\n}\n",
        ),
        (
            "modules/outer/main.hcl",
            "variable \"tms\" {\n  type = number\n}\nmodule \"inner\" {\n  source = \"../session\"\n  taskmanagers = var.tms\n  label = \"from outer\"\n}\noutput \"inner_name\" {\n  value = module.inner.name\n}\noutput \"greeting\" {\n  value = module.inner.greeting\n}\n",
        ),
        ("modules/session/main.hcl", SESSION),
    ];
    let (c, _dir) = load(&files, &[]).unwrap();
    let a = addresses(&c);
    assert!(a.contains(&"module.outer.module.inner.cluster.flink.jobmanager[0]".to_string()), "{a:?}");
    assert!(a.contains(&"module.outer.module.inner.cluster.flink.taskmanager[1]".to_string()), "{a:?}");
    assert!(!a.iter().any(|x| x.contains("taskmanager[2]")), "{a:?}");
    let d = model::expand(&c, &flinkform::model::sensitive::Masker::salted("salt"));
    assert_eq!(d["module.outer.module.inner.cluster.flink.jobmanager[0]"].name, "p-outer-inner-flink-jobmanager-0");
    assert_eq!(c.outputs["inner_name"].value, hcl::Value::from("outer-inner-flink"));
    assert_eq!(c.outputs["greeting"].value, hcl::Value::from("hello from outer"));
}

#[test]
fn modules_repeat_with_count_and_for_each() {
    let files = [
        (
            "main.hcl",
            r#"flinkform {
  project = "p"
}
variable "regions" {
  default = { eu = 2, us = 1 }
}
module "region" {
  for_each     = var.regions
  source       = "./modules/session"
  taskmanagers = each.value
  label        = each.key
}
module "canary" {
  count  = 2
  source = "./modules/session"
  label  = "canary-${count.index}"
}
container "probe" {
  image      = "busybox"
  env        = { TARGET = module.region["eu"].name }
  depends_on = [module.canary]
}
output "greetings" {
  value = { for k, m in module.region : k => m.greeting }
}
output "canaries" {
  value = module.canary[*].name
}
"#,
        ),
        ("modules/session/main.hcl", SESSION),
    ];
    let (c, _dir) = load(&files, &[]).unwrap();
    let a = addresses(&c);
    for want in [
        "module.region[\"eu\"].cluster.flink.taskmanager[1]",
        "module.region[\"us\"].cluster.flink.taskmanager[0]",
        "module.canary[0].cluster.flink.jobmanager[0]",
        "module.canary[1].cluster.flink.jobmanager[0]",
    ] {
        assert!(a.contains(&want.to_string()), "{want} in {a:?}");
    }
    assert!(!a.contains(&"module.region[\"us\"].cluster.flink.taskmanager[1]".to_string()), "{a:?}");
    let d = model::expand(&c, &flinkform::model::sensitive::Masker::salted("salt"));
    assert_eq!(d["module.region[\"eu\"].cluster.flink.jobmanager[0]"].name, "p-region-eu-flink-jobmanager-0");
    assert_eq!(d["module.canary[1].cluster.flink.jobmanager[0]"].name, "p-canary-1-flink-jobmanager-0");
    // A dependency on a repeated module waits for every instance.
    let deps = &d["container.probe"].dependencies;
    assert!(deps.contains(&"module.canary[0].cluster.flink.jobmanager[0]".to_string()), "{deps:?}");
    assert!(deps.contains(&"module.canary[1].cluster.flink.taskmanager[0]".to_string()), "{deps:?}");
    assert!(deps.contains(&"module.region[\"eu\"].cluster.flink.jobmanager[0]".to_string()), "{deps:?}");
    // As in Terraform, a reference to one instance depends on the module call (every instance).
    let greetings = hcl::Value::from_iter(
        [("eu", "hello eu"), ("us", "hello us")].map(|(k, v)| (k.to_string(), hcl::Value::from(v))),
    );
    assert_eq!(c.outputs["greetings"].value, greetings);
    assert_eq!(c.outputs["canaries"].value, hcl::Value::from(vec!["canary-0-flink", "canary-1-flink"]));
    // Targeting one instance of a repeated module selects what is inside it only.
    let t: flinkform::address::Address = "module.region[\"eu\"]".parse().unwrap();
    assert!(t.selects(&"module.region[\"eu\"].cluster.flink.jobmanager[0]".parse().unwrap()));
    assert!(!t.selects(&"module.region[\"us\"].cluster.flink.jobmanager[0]".parse().unwrap()));
}

/// A repeated module with a sensitive output: what refers to any of its instances is sensitive.
#[test]
fn a_repeated_modules_sensitive_output_stays_sensitive() {
    let files = [
        (
            "main.hcl",
            "module \"m\" {\n  for_each = toset([\"a\"])\n  source   = \"./m\"\n}\noutput \"o\" {\n  value = module.m[\"a\"].secret\n}\noutput \"plain\" {\n  value = \"x\"\n}\n",
        ),
        ("m/main.hcl", "output \"secret\" {\n  value     = \"hunter2\"\n  sensitive = true\n}\n"),
    ];
    let (c, _dir) = load(&files, &[]).unwrap();
    assert!(c.outputs["o"].sensitive, "through an instance key");
    assert!(!c.outputs["plain"].sensitive);
}

#[test]
fn module_input_mistakes_are_named() {
    let files = [("main.hcl", "module \"s\" {\n  source = \"./m\"\n  taskmanager = 2\n}\n"), ("m/main.hcl", SESSION)];
    let err = load(&files, &[]).unwrap_err();
    assert!(err.contains("module \"s\" (./m) has no variable `taskmanager`"), "{err}");
    assert!(err.contains("module \"s\" (./m) needs a value for: label"), "{err}");
    let err = load(&[("main.hcl", "module \"s\" {\n  source = \"./nowhere\"\n}\n")], &[]).unwrap_err();
    assert!(err.contains("module source \"./nowhere\" has no configuration files"), "{err}");
}

#[test]
fn count_and_for_each_give_indexed_addresses_and_names() {
    let hcl = r#"
flinkform {
  project = "p"
}
variable "regions" {
  type    = map(number)
  default = { eu = 2, us = 1 }
}
cluster "r" {
  for_each = var.regions
  taskmanager {
    replicas = each.value
  }
  flink_config = { "pipeline.name" = "region-${each.key}" }
}
container "gen" {
  count   = 2
  image   = "busybox"
  command = ["echo", "gen-${count.index}"]
  network = cluster.r["eu"].network
}
job "j" {
  for_each    = toset(["a"])
  cluster     = cluster.r["us"].name
  jar         = "job.jar"
  parallelism = 1
}
"#;
    let (c, _dir) = load(&[("main.hcl", hcl), ("job.jar", "jar")], &[]).unwrap();
    let d = model::expand(&c, &flinkform::model::sensitive::Masker::salted("salt"));
    assert!(d.contains_key("cluster.r[\"eu\"].taskmanager[1]"));
    assert!(d.contains_key("cluster.r[\"us\"].taskmanager[0]"));
    assert!(!d.contains_key("cluster.r[\"us\"].taskmanager[1]"));
    assert_eq!(d["cluster.r[\"eu\"].jobmanager[0]"].name, "p-r-eu-jobmanager-0");
    assert_eq!(d["container.gen[1]"].name, "p-gen-1");
    assert_eq!(d["container.gen[1]"].attributes["command"], "[\"echo\", \"gen-1\"]");
    assert_eq!(d["container.gen[0]"].attributes["networks"], "p-r-eu");
    assert!(d["container.gen[0]"].dependencies.contains(&"cluster.r[\"eu\"].network".to_string()));
    assert_eq!(d["job.j[\"a\"]"].cluster, "cluster.r[\"us\"]");
    assert!(d["job.j[\"a\"]"].dependencies.contains(&"cluster.r[\"us\"].jobmanager[0]".to_string()));
}

#[test]
fn count_index_outside_count_is_an_error() {
    let err = load(&[("main.hcl", "container \"c\" {\n  image = \"x-${count.index}\"\n}\n")], &[]).unwrap_err();
    assert!(err.contains("`count.index` is only available in a block with `count`"), "{err}");
    let err = load(&[("main.hcl", "container \"c\" {\n  count = -1\n  image = \"x\"\n}\n")], &[]).unwrap_err();
    assert!(err.contains("`count` must be a whole number ≥ 0"), "{err}");
    let err = load(&[("main.hcl", "container \"c\" {\n  for_each = 3\n  image = \"x\"\n}\n")], &[]).unwrap_err();
    assert!(err.contains("`for_each` must be a map or a set of strings"), "{err}");
}

#[test]
fn conditionals_for_splat_and_template_directives() {
    let hcl = r#"
flinkform {
  project = "p"
}
variable "big" {
  type    = bool
  default = true
}
locals {
  sizes   = [for n in ["a", "b", "c"] : upper(n) if n != "b"]
  objects = [{ port = 1 }, { port = 2 }]
  ports   = local.objects[*].port
  names   = { for i, n in local.sizes : n => i }
  text    = "%{ for s in local.sizes }size ${s};%{ endfor }%{ if var.big }big%{ else }small%{ endif }"
}
container "c" {
  image = var.big ? "big:1" : "small:1"
  env = {
    SIZES = join(",", local.sizes)
    PORTS = jsonencode(local.ports)
    NAMES = jsonencode(local.names)
    TEXT  = local.text
  }
}
"#;
    let (c, _dir) = load(&[("main.hcl", hcl)], &[]).unwrap();
    let ctr = &c.containers["container.c"];
    assert_eq!(ctr.image, "big:1");
    assert_eq!(ctr.env["SIZES"], "A,C");
    assert_eq!(ctr.env["PORTS"], "[1,2]");
    assert_eq!(ctr.env["NAMES"], r#"{"A":0,"C":1}"#);
    assert_eq!(ctr.env["TEXT"], "size A;size C;big");
    let (c, _dir) = load(&[("main.hcl", hcl)], &["big=false"]).unwrap();
    assert_eq!(c.containers["container.c"].image, "small:1");
}

const TYPED: &str = r#"
variable "ports" {
  type    = list(number)
  default = [1]
}
variable "tags" {
  type    = map(string)
  default = {}
}
variable "tm" {
  type    = object({ replicas = number, memory = string })
  default = { replicas = 1, memory = "1g" }
}
variable "name" {
  type     = string
  default  = "dflt"
  nullable = false
}
variable "slots" {
  type    = number
  default = 2
  validation {
    condition     = var.slots >= 1 && var.slots <= 8
    error_message = "slots must be between 1 and 8."
  }
}
"#;

#[test]
fn typed_variables_from_every_source_in_terraform_precedence() {
    let (c, _d) = load(&[("main.hcl", TYPED)], &["ports=[2, 3]", "tags={ team = \"data\" }"]).unwrap();
    assert_eq!(c.var_values["ports"], hcl::value!([2, 3]));
    assert_eq!(c.var_values["tags"], hcl::value!({ team = "data" }));
    assert_eq!(c.var_values["tm"], hcl::value!({ memory = "1g", replicas = 1 }));
    // default < flinkform.vars < *.auto.vars < --var
    let files =
        [("main.hcl", TYPED), ("flinkform.vars", "slots = 3\nname = \"from-vars\"\n"), ("b.auto.vars", "slots = 4\n")];
    let (c, _d) = load(&files, &[]).unwrap();
    assert_eq!(c.var_values["slots"], hcl::Value::from(4));
    assert_eq!(c.var_values["name"], hcl::Value::from("from-vars"));
    let (c, _d) = load(&files, &["slots=5"]).unwrap();
    assert_eq!(c.var_values["slots"], hcl::Value::from(5));
    // null for a non-nullable variable takes its default
    let (c, _d) = load(&[("main.hcl", TYPED), ("x.auto.vars", "name = null\n")], &[]).unwrap();
    assert_eq!(c.var_values["name"], hcl::Value::from("dflt"));
}

#[test]
fn type_and_validation_errors_name_the_variable() {
    let err = load(&[("main.hcl", TYPED)], &["slots=9"]).unwrap_err();
    assert!(err.contains("invalid value for variable `slots`: slots must be between 1 and 8."), "{err}");
    let err = load(&[("main.hcl", TYPED)], &["ports=[\"x\"]"]).unwrap_err();
    assert!(err.contains("value of variable `ports` element 0 must be a number"), "{err}");
    let err = load(&[("main.hcl", TYPED), ("x.auto.vars", "tm = { replicas = 1, memory = \"1g\", cpu = 2 }\n")], &[])
        .unwrap_err();
    assert!(err.contains("has attribute `cpu`, which the type does not declare"), "{err}");
    let err = load(&[("main.hcl", "variable \"a\" {}\nvariable \"b\" {}\nvariable \"c\" {\n  default = 1\n}\n")], &[])
        .unwrap_err();
    assert!(err.contains("no value for required variable `a` (missing: a, b)"), "{err}");
    assert!(err.contains("no value for required variable `b` (missing: a, b)"), "{err}");
}

#[test]
fn sensitive_values_flow_and_stay_masked() {
    let hcl = r#"
variable "secret" {
  type      = string
  sensitive = true
}
locals {
  dsn = "postgres://app:${var.secret}@db"
}
container "app" {
  image = "app:1"
  env   = { DSN = local.dsn, PLAIN = "x" }
}
cluster "c" {
  flink_config = { "s3.secret-key" = var.secret, "parallelism.default" = "2" }
}
output "dsn" {
  value = local.dsn
}
"#;
    let (c, _d) = load(&[("main.hcl", hcl)], &["secret=hunter2"]).unwrap();
    assert!(c.outputs["dsn"].sensitive, "an output derived from a sensitive value is sensitive");
    let d = model::expand(&c, &flinkform::model::sensitive::Masker::salted("salt"));
    let app = &d["container.app"];
    assert_eq!(app.attributes["env.PLAIN"], "x");
    assert!(app.attributes["env.DSN"].starts_with("sensitive:v1:"));
    let tm = &d["cluster.c.taskmanager[0]"];
    let shown = format!("{:?}{:?}", tm.attributes, app.attributes);
    assert!(!shown.contains("hunter2"), "{shown}");
    // The container still gets the real value.
    let model::Spec::Container(spec) = &app.spec else { panic!() };
    assert_eq!(spec.env["DSN"], "postgres://app:hunter2@db");
    // The hash changes with the secret.
    let (c2, _d) = load(&[("main.hcl", hcl)], &["secret=other"]).unwrap();
    assert_ne!(
        model::expand(&c2, &flinkform::model::sensitive::Masker::salted("salt"))["container.app"].config_hash,
        app.config_hash
    );
    // A sensitive value where flinkform cannot mask it is refused.
    let bad = hcl.replace("image = \"app:1\"", "image = var.secret");
    let err = load(&[("main.hcl", &bad)], &["secret=hunter2"]).unwrap_err();
    assert!(err.contains("`image` cannot hold a sensitive value"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn the_module_examples_load_with_module_prefixed_addresses() {
    let c = config::load(Path::new("examples/platform"), &VarInputs::default()).unwrap();
    let d = model::expand(&c, &flinkform::model::sensitive::Masker::salted("salt"));
    assert!(d.contains_key("module.analytics.cluster.flink.taskmanager[1]"));
    assert_eq!(d["container.probe[0]"].readiness, model::Readiness::Healthy);
    assert!(d["container.probe[0]"].dependencies.contains(&"module.analytics.cluster.flink.jobmanager[0]".into()));
    let c = config::load(Path::new("examples/ha-module"), &VarInputs::default()).unwrap();
    let d = model::expand(&c, &flinkform::model::sensitive::Masker::salted("salt"));
    assert!(d.contains_key("module.critical.cluster.flink.zookeeper[0]"));
    assert!(d.contains_key("module.critical.cluster.flink.jobmanager[1]"));
}

#[test]
fn depends_on_and_references_become_dependencies() {
    let hcl = r#"
flinkform {
  project = "p"
}
volume "data" {}
container "db" {
  image   = "db:1"
  volumes = ["${volume.data.name}:/data"]
}
container "app" {
  image      = "app:1"
  depends_on = [container.db]
}
module "m" {
  source = "./m"
}
container "after_module" {
  image      = "x:1"
  depends_on = [module.m]
}
"#;
    let m = "cluster \"c\" {}\n";
    let (c, _d) = load(&[("main.hcl", hcl), ("m/main.hcl", m)], &[]).unwrap();
    let d = model::expand(&c, &flinkform::model::sensitive::Masker::salted("salt"));
    assert_eq!(d["container.db"].dependencies, ["volume.data"]);
    assert_eq!(d["container.app"].dependencies, ["container.db"]);
    let deps = &d["container.after_module"].dependencies;
    assert!(deps.contains(&"module.m.cluster.c.jobmanager[0]".to_string()), "{deps:?}");
    let err =
        load(&[("main.hcl", "container \"a\" {\n  image = \"x\"\n  depends_on = [var.x]\n}\n")], &[]).unwrap_err();
    assert!(err.contains("`depends_on` lists blocks"), "{err}");
}

#[test]
fn environment_variables_sit_between_defaults_and_files() {
    // nextest runs each test in its own process, so this variable is seen by this test only.
    unsafe { std::env::set_var("FLINKFORM_VAR_slots", "6") };
    let (c, _d) = load(&[("main.hcl", TYPED)], &[]).unwrap();
    assert_eq!(c.var_values["slots"], hcl::Value::from(6));
    let (c, _d) = load(&[("main.hcl", TYPED), ("flinkform.vars", "slots = 7\n")], &[]).unwrap();
    assert_eq!(c.var_values["slots"], hcl::Value::from(7));
    unsafe { std::env::set_var("FLINKFORM_VAR_ports", "[8, 9]") };
    let (c, _d) = load(&[("main.hcl", TYPED)], &[]).unwrap();
    assert_eq!(c.var_values["ports"], hcl::value!([8, 9]));
}

#[test]
fn names_docker_would_refuse_and_unsupported_attributes_are_errors() {
    let err = load(&[("main.hcl", "container \"c\" {\n  name = \"-bad\"\n  image = \"x\"\n}\n")], &[]).unwrap_err();
    assert!(err.contains("\"-bad\" is not a valid container name"), "{err}");
    let err = load(&[("main.hcl", "volume \"v\" {\n  name = \"a b\"\n}\n")], &[]).unwrap_err();
    assert!(err.contains("\"a b\" is not a valid volume name"), "{err}");
    // Network and volume labels would not reach Docker: refused rather than silently dropped.
    let err = load(&[("main.hcl", "network \"n\" {\n  labels = { a = \"b\" }\n}\n")], &[]).unwrap_err();
    assert!(err.contains("unknown attribute `labels`"), "{err}");
}

#[test]
fn outputs_are_evaluated_from_the_files_as_loaded_not_as_edited_since() {
    let module = "variable \"label\" {\n  type = string\n}\n\noutput \"shown\" {\n  value = var.label\n}\n";
    let root = "module \"m\" {\n  source = \"./m\"\n  label  = file(\"label.txt\")\n}\n\noutput \"label\" {\n  value = module.m.shown\n}\n";
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &[("main.hcl", root), ("label.txt", "as loaded"), ("m/main.hcl", module)]);
    let config = config::load(dir.path(), &VarInputs::default()).unwrap();
    // Edited while apply waits for its `yes`: the outputs apply records are still the loaded ones.
    write(dir.path(), &[("main.hcl", "output \"label\" {\n  value = \"edited\"\n}\n"), ("label.txt", "edited")]);
    write(dir.path(), &[("m/main.hcl", "output \"shown\" {\n  value = \"edited\"\n}\n")]);
    let outputs = config.evaluate_outputs(&|_| None, true).unwrap();
    assert_eq!(outputs["label"].value, hcl::Value::from("as loaded"));
}

#[test]
fn rest_ports_past_65535_are_refused_not_wrapped() {
    let hcl = "cluster \"c\" {\n  zookeeper {\n    replicas = 1\n  }\n  jobmanager {\n    replicas  = 3\n    rest_port = 65535\n  }\n}\n";
    let err = load(&[("main.hcl", hcl)], &[]).unwrap_err();
    assert!(err.contains("would publish REST on port 65537, past 65535"), "{err}");
    let ok = "cluster \"c\" {\n  zookeeper {\n    replicas = 1\n  }\n  jobmanager {\n    replicas  = 3\n    rest_port = 65533\n  }\n}\n";
    assert!(load(&[("main.hcl", ok)], &[]).is_ok());
}

#[test]
fn a_module_that_calls_itself_is_a_cycle_found_at_once() {
    // Three self-calls would expand 3^16 times before the depth limit: the cycle is found by path.
    let inner = "module \"a\" {\n  source = \".\"\n}\nmodule \"b\" {\n  source = \".\"\n}\nmodule \"c\" {\n  source = \"../m\"\n}\n";
    let started = std::time::Instant::now();
    let err = load(&[("main.hcl", "module \"m\" {\n  source = \"./m\"\n}\n"), ("m/main.hcl", inner)], &[]).unwrap_err();
    assert!(err.contains("which is already being expanded: a module cycle"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "found without expanding it");
}

#[test]
fn a_flink_setting_with_a_line_break_is_refused_without_showing_it() {
    // A newline would smuggle in a second setting; a sensitive one (a PEM key) is not echoed.
    let hcl = "variable \"key\" {\n  type      = string\n  sensitive = true\n}\n\ncluster \"c\" {\n  flink_config = {\n    \"s3.secret-key\" = var.key\n  }\n}\n";
    let err = load(&[("main.hcl", hcl)], &["key=-----BEGIN KEY-----\nc2VjcmV0\nsecurity.ssl.rest.enabled: false"])
        .unwrap_err();
    assert!(err.contains("`flink_config`.\"s3.secret-key\" spans several lines"), "{err}");
    assert!(!err.contains("c2VjcmV0") && !err.contains("security.ssl.rest.enabled"), "{err}");
    let job = "cluster \"c\" {}\n\njob \"j\" {\n  cluster = cluster.c.name\n  jar     = \"j.jar\"\n  flink_config = {\n    \"a\" = \"x\\nsecurity.ssl.rest.enabled: false\"\n  }\n}\n";
    let err = load(&[("main.hcl", job), ("j.jar", "jar")], &[]).unwrap_err();
    assert!(err.contains("spans several lines"), "{err}");
}

/// Issue 15, item 6: a chain of 10,000 locals evaluates (each local is evaluated against the
/// names it refers to, not a copy of every local: linear, where it was quadratic and took 29 s).
#[test]
fn ten_thousand_chained_locals_evaluate() {
    let mut hcl = String::from("locals {\n  l0 = 1\n");
    for i in 1..10_000 {
        hcl.push_str(&format!("  l{i} = local.l{} + 1\n", i - 1));
    }
    hcl.push_str("}\n\noutput \"last\" {\n  value = local.l9999\n}\n");
    let (config, _dir) = load(&[("main.hcl", &hcl)], &[]).unwrap();
    let outputs = config.evaluate_outputs(&|_| None, true).unwrap();
    assert_eq!(outputs["last"].value, hcl::Value::from(10_000));
}

/// Issue 17: Terraform's built-in functions, each checked against an example from Terraform's
/// own documentation (the expression and the result it documents).
#[test]
fn terraform_functions_give_terraforms_documented_results() {
    let cases: &[(&str, &str)] = &[
        (r#"replace("1 + 2 + 3", "+", "-")"#, r#""1 - 2 - 3""#),
        (r#"trimspace("  hello\n\n")"#, r#""hello""#),
        (r#"trim("?!hello?!", "!?")"#, r#""hello""#),
        (r#"trimprefix("helloworld", "hello")"#, r#""world""#),
        (r#"trimsuffix("helloworld", "world")"#, r#""hello""#),
        (r#"chomp("hello\n")"#, r#""hello""#),
        (r#"startswith("hello world", "hello")"#, "true"),
        (r#"endswith("hello world", "world")"#, "true"),
        (r#"strrev("hello")"#, r#""olleh""#),
        (r#"title("hello world")"#, r#""Hello World""#),
        (r#"substr("hello world", 1, 4)"#, r#""ello""#),
        (r#"substr("hello world", -5, -1)"#, r#""world""#),
        (r#"flatten([["a", "b"], [], ["c"]])"#, r#"["a","b","c"]"#),
        (r#"distinct(["a", "b", "a", "c", "d", "b"])"#, r#"["a","b","c","d"]"#),
        ("reverse([1, 2, 3])", "[3,2,1]"),
        (r#"sort(["e", "d", "a", "x"])"#, r#"["a","d","e","x"]"#),
        (r#"slice(["a", "b", "c", "d"], 1, 3)"#, r#"["b","c"]"#),
        (r#"element(["a", "b", "c"], 1)"#, r#""b""#),
        (r#"element(["a", "b", "c"], 3)"#, r#""a""#),
        (r#"index(["a", "b", "c"], "b")"#, "1"),
        ("range(3)", "[0,1,2]"),
        ("range(1, 4)", "[1,2,3]"),
        ("range(1, 8, 2)", "[1,3,5,7]"),
        (r#"compact(["a", "", "b", null, "c"])"#, r#"["a","b","c"]"#),
        (r#"zipmap(["a", "b"], [1, 2])"#, r#"{"a":1,"b":2}"#),
        ("sum([10, 13, 6, 4.5])", "33.5"),
        ("alltrue([true, true])", "true"),
        ("anytrue([false, true])", "true"),
        (r#"one(["hello"])"#, r#""hello""#),
        (r#"tobool("true")"#, "true"),
        (r#"base64encode("Hello World")"#, r#""SGVsbG8gV29ybGQ=""#),
        (r#"base64decode("SGVsbG8gV29ybGQ=")"#, r#""Hello World""#),
        (r#"urlencode("Hello World!")"#, r#""Hello+World%21""#),
        (r#"sha256("hello world")"#, r#""b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9""#),
        (r#"sha1("hello world")"#, r#""2aae6c35c94fcfb415dbe95f408b9ce91ee846ed""#),
        (r#"md5("hello world")"#, r#""5eb63bbbe01eeed093cb22bb8f5acdc3""#),
        ("abs(-12.4)", "12.4"),
        ("ceil(5.1)", "6"),
        ("floor(4.9)", "4"),
        ("pow(3, 2)", "9"),
        ("signum(-13)", "-1"),
        (r#"parseint("100", 10)"#, "100"),
        (r#"parseint("FF", 16)"#, "255"),
        (r#"basename("foo/bar/baz.txt")"#, r#""baz.txt""#),
        (r#"dirname("foo/bar/baz.txt")"#, r#""foo/bar""#),
        (r#"cidrsubnet("172.16.0.0/12", 4, 2)"#, r#""172.18.0.0/16""#),
        (r#"cidrsubnet("10.1.2.0/24", 4, 15)"#, r#""10.1.2.240/28""#),
        (r#"cidrhost("10.12.112.0/20", 16)"#, r#""10.12.112.16""#),
        (r#"cidrhost("10.12.112.0/20", 268)"#, r#""10.12.113.12""#),
        (r#"cidrnetmask("172.16.0.0/12")"#, r#""255.240.0.0""#),
        (r#"cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)"#, r#""fd00:fd12:3456:7800:a200::/72""#),
        (r#"cidrhost("fd00:fd12:3456:7890:00a2::/72", 34)"#, r#""fd00:fd12:3456:7890::22""#),
        (r#"replace("hello world", "/w.*d/", "everybody")"#, r#""hello everybody""#),
        (r#"regex("[a-z]+", "53453453.345345aaabbbccc23454")"#, r#""aaabbbccc""#),
        (r#"regex("(\\d\\d\\d\\d)-(\\d\\d)-(\\d\\d)", "2019-02-01")"#, r#"["2019","02","01"]"#),
        (
            r#"regex("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", "https://terraform.io/docs/")"#,
            r#"{"authority":"terraform.io","scheme":"https"}"#,
        ),
        (r#"regexall("[a-z]+", "1234abcd5678efgh9")"#, r#"["abcd","efgh"]"#),
        (r#"length(regexall("[a-z]+", "1234abcd5678efgh9"))"#, "2"),
        (r#"yamlencode({"a":"b", "c":"d"})"#, r#""\"a\": \"b\"\n\"c\": \"d\"\n""#),
        (r#"yamlencode({"foo":[1, 2, 3], "bar": "baz"})"#, r#""\"bar\": \"baz\"\n\"foo\":\n- 1\n- 2\n- 3\n""#),
        (
            r#"yamlencode({"foo":[1, {"a":"b","c":"d"}, 3], "bar": "baz"})"#,
            r#""\"bar\": \"baz\"\n\"foo\":\n- 1\n- \"a\": \"b\"\n  \"c\": \"d\"\n- 3\n""#,
        ),
        (r#"yamldecode("hello: world")"#, r#"{"hello":"world"}"#),
        (r#"yamldecode("true")"#, "true"),
        (r#"yamldecode("{a: &foo [1, 2, 3], b: *foo}")"#, r#"{"a":[1,2,3],"b":[1,2,3]}"#),
        (r#"csvdecode("a,b,c\n1,2,3\n4,5,6")"#, r#"[{"a":"1","b":"2","c":"3"},{"a":"4","b":"5","c":"6"}]"#),
        (r#"uuidv5("dns", "www.terraform.io")"#, r#""a5008fae-b28c-5ba5-96cd-82b4c53552d6""#),
        (r#"uuidv5("url", "https://www.terraform.io/")"#, r#""9db6f67c-dd95-5ea0-aa5b-e70e5c5f7cf5""#),
        (r#"formatdate("DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z")"#, r#""02 Jan 2018 23:12 UTC""#),
        (
            r#"formatdate("EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z")"#,
            r#""Tuesday, 02-Jan-18 23:12:01 UTC""#,
        ),
        (
            r#"formatdate("EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00")"#,
            r#""Tue, 02 Jan 2018 23:12:01 -0800""#,
        ),
        (r#"formatdate("MMM DD, YYYY", "2018-01-02T23:12:01Z")"#, r#""Jan 02, 2018""#),
        (r#"formatdate("HH:mmaa", "2018-01-02T23:12:01Z")"#, r#""11:12pm""#),
        (r#"timeadd("2017-11-22T00:00:00Z", "10m")"#, r#""2017-11-22T00:10:00Z""#),
        (r#"timeadd("2017-11-22T00:00:00-08:00", "-1h30m")"#, r#""2017-11-21T22:30:00-08:00""#),
        (r#"try(tonumber("x"), 0)"#, "0"),
        (r#"try(tonumber("12"), 0)"#, "12"),
        (r#"try({ a = 1 }["b"], "fallback")"#, r#""fallback""#),
        (r#"can(regex("^[a-z]+$", "abc"))"#, "true"),
        (r#"can(regex("^[a-z]+$", "ABC"))"#, "false"),
        (r#"[for s in ["1", "x"] : try(tonumber(s), -1)]"#, "[1,-1]"),
        (r#"{ for k, v in { a = "1", b = "x" } : k => can(tonumber(v)) }"#, r#"{"a":true,"b":false}"#),
    ];
    let mut hcl = String::new();
    for (i, (expr, _)) in cases.iter().enumerate() {
        hcl.push_str(&format!("output \"f{i}\" {{\n  value = {expr}\n}}\n"));
    }
    let (config, _dir) = load(&[("main.hcl", &hcl)], &[]).unwrap();
    let outputs = config.evaluate_outputs(&|_| None, true).unwrap();
    for (i, (expr, want)) in cases.iter().enumerate() {
        let got = serde_json::to_string(&outputs[&format!("f{i}")].value).unwrap();
        let want: serde_json::Value = serde_json::from_str(want).unwrap();
        let got: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(got, want, "{expr}");
    }
}

/// `timestamp()` is known only after apply: an output shows "(known after apply)" in the plan
/// and the time after apply; a resource may not use it (every apply would replace it).
/// `try`/`can` inside a string template are refused with a way out.
#[test]
fn timestamp_is_known_after_apply_and_try_in_templates_is_named() {
    let (config, _dir) = load(&[("main.hcl", "output \"at\" {\n  value = timestamp()\n}\n")], &[]).unwrap();
    assert_eq!(config.outputs["at"].value, hcl::Value::from(flinkform::config::KNOWN_AFTER_APPLY));
    let planned = config.evaluate_outputs(&|_| None, false).unwrap();
    assert_eq!(planned["at"].value, hcl::Value::from(flinkform::config::KNOWN_AFTER_APPLY));
    let applied = config.evaluate_outputs(&|_| None, true).unwrap();
    let at = applied["at"].value.as_str().unwrap().to_string();
    assert!(at.len() == 20 && at.ends_with('Z') && at.starts_with("20"), "{at}");
    let err = load(&[("main.hcl", "container \"c\" {\n  image = \"busybox\"\n  env = { AT = timestamp() }\n}\n")], &[])
        .unwrap_err();
    assert!(err.contains("timestamp() changes on every run"), "{err}");
    let err = load(&[("main.hcl", "output \"o\" {\n  value = \"${try(tonumber(\"x\"), 0)}\"\n}\n")], &[]).unwrap_err();
    assert!(err.contains("try() and can() inside a string template are not supported"), "{err}");
}

/// Issue 17: one duration syntax everywhere (healthcheck intervals, `--lock-timeout`).
#[test]
fn durations_read_one_way_everywhere() {
    use flinkform::config::parse_duration;
    use std::time::Duration;
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)), "a bare number is seconds");
    assert!(parse_duration("soon").unwrap_err().contains("is not a duration such as 30s"));
    let hcl = "container \"c\" {\n  image = \"busybox\"\n  healthcheck {\n    test     = [\"CMD\", \"true\"]\n    interval = \"1m 30s\"\n    timeout  = \"500ms\"\n  }\n}\n";
    let (config, _dir) = load(&[("main.hcl", hcl)], &[]).unwrap();
    let h = config.containers["container.c"].healthcheck.as_ref().unwrap();
    assert_eq!((h.interval_s, h.timeout_s), (90, 1), "rounded up to whole seconds");
}

/// Issue 15, item 19: the hardened default is the cluster's to change.
#[test]
fn a_clusters_security_block_changes_the_hardened_default() {
    let spec_of = |security: &str| {
        let hcl = format!("cluster \"c\" {{\n  image = \"apache/flink:2.3.0-java17\"\n{security}}}\n");
        let (config, _dir) = load(&[("main.hcl", &hcl)], &[]).unwrap();
        let d = model::expand(&config, &flinkform::model::sensitive::Masker::salted("salt"));
        match &d["cluster.c.jobmanager[0]"].spec {
            flinkform::model::Spec::Container(s) => s.hardening.clone(),
            other => panic!("{other:?}"),
        }
    };
    let default = spec_of("").expect("hardened by default");
    assert!(default.no_new_privileges && default.cap_drop == ["ALL"] && default.pids_limit == 4096);
    assert_eq!(spec_of("  security {\n    pids_limit = 8192\n  }\n").map(|h| h.pids_limit), Some(8192));
    assert_eq!(spec_of("  security {\n    hardened = false\n  }\n"), None);
}

/// Issue 16: the backend block; a mistake in it names its place, and the connection string,
/// given here or in the environment, is never part of a message.
#[test]
fn the_backend_block_is_read_and_its_mistakes_are_named() {
    let with = |backend: &str| format!("flinkform {{\n  project = \"p\"\n{backend}}}\n");
    let (config, _dir) =
        load(&[("main.hcl", &with("  backend \"postgres\" {\n    schema = \"ops\"\n  }\n"))], &[]).unwrap();
    assert_eq!(
        config.settings.backend,
        flinkform::config::BackendSettings::Postgres { conn_str: None, schema: "ops".into() }
    );
    let location = flinkform::pipeline::location(&config.dir, &config.settings);
    let shown = location.shown();
    assert!(shown.contains("schema ops") && shown.contains("project p"), "{shown}");
    let err = load(&[("main.hcl", &with("  backend \"mysql\" {}\n"))], &[]).err().unwrap();
    assert!(err.contains("main.hcl:3:3") && err.contains("unknown backend \"mysql\""), "{err}");
    let err =
        load(&[("main.hcl", &with("  backend \"postgres\" {\n    schema = \"Ops-1\"\n  }\n"))], &[]).err().unwrap();
    assert!(err.contains("main.hcl:4:") && err.contains("not a plain PostgreSQL name"), "{err}");
    let secret = "postgres://u:hunter2-pw@db.example:5432/flink";
    let hcl = with(&format!("  backend \"postgres\" {{\n    conn_str = \"{secret}\"\n  }}\n"));
    let (config, _dir) = load(&[("main.hcl", &hcl)], &[]).unwrap();
    let shown = flinkform::pipeline::location(&config.dir, &config.settings).shown();
    assert!(shown.contains("db.example") && !shown.contains("hunter2"), "{shown}");
}
