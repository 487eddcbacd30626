//! Property tests of the diff (no Docker): for generated configurations, the plan of a
//! configuration against itself applied is empty, and applying any plan (simulated as Docker
//! and the state would record it) then planning again is empty.

use flinkform::apply::{
    self,
    operations::{OpKind, Operations},
};
use flinkform::config::{self, VarInputs};
use flinkform::model::{self, Desired};
use flinkform::observe::{LiveObject, Snapshot};
use flinkform::plan::{self, Action, Plan};
use flinkform::state::{Resource, State};
use proptest::prelude::*;
use std::collections::BTreeMap;

/// A generated configuration: clusters, counted containers, for_each volumes.
#[derive(Debug, Clone)]
struct Gen {
    clusters: Vec<(u32, u32, bool)>,
    containers: Vec<(u32, String)>,
    volumes: Vec<String>,
}

fn configs() -> impl Strategy<Value = Gen> {
    (
        prop::collection::vec((0u32..4, 1u32..4, any::<bool>()), 0..3),
        prop::collection::vec((0u32..4, "[a-z]{1,6}"), 0..3),
        prop::collection::vec("[a-z]{1,4}", 0..3),
    )
        .prop_map(|(clusters, containers, volumes)| Gen { clusters, containers, volumes })
}

fn hcl(g: &Gen) -> String {
    let mut s = String::from("flinkform {\n  project = \"prop\"\n}\n");
    for (i, (tms, slots, ha)) in g.clusters.iter().enumerate() {
        s += &format!("cluster \"c{i}\" {{\n  taskmanager {{\n    replicas = {tms}\n    slots = {slots}\n  }}\n");
        if *ha {
            s += "  zookeeper {\n    replicas = 1\n  }\n";
        }
        s += "}\n";
    }
    for (i, (count, env)) in g.containers.iter().enumerate() {
        s += &format!(
            "container \"s{i}\" {{\n  count = {count}\n  image = \"busybox\"\n  env = {{ V = \"{env}-${{count.index}}\" }}\n}}\n"
        );
    }
    let keys: Vec<String> = g.volumes.iter().map(|v| format!("\"{v}\"")).collect();
    s += &format!("volume \"v\" {{\n  for_each = toset([{}])\n}}\n", keys.join(", "));
    s
}

fn desired(g: &Gen) -> Desired {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("main.hcl"), hcl(g)).unwrap();
    let cfg = config::load(dir.path(), &VarInputs::default()).unwrap_or_else(|e| panic!("{e:?}\n{}", hcl(g)));
    model::expand(&cfg, &flinkform::model::sensitive::Masker::salted("salt"))
}

fn live_object(r: &Resource) -> LiveObject {
    LiveObject {
        kind: r.kind,
        id: r.id.clone(),
        name: r.name.clone(),
        labels: BTreeMap::from([
            ("io.flinkform.managed".to_string(), "true".to_string()),
            ("io.flinkform.project".to_string(), "prop".to_string()),
            ("io.flinkform.address".to_string(), r.address.clone()),
            ("io.flinkform.config-hash".to_string(), r.config_hash.clone()),
        ]),
        running: true,
        state: "running".into(),
        image_id: None,
        ports: BTreeMap::new(),
        host: None,
        replicas: None,
        nodes: Vec::new(),
        rolling: None,
        changed_outside: Vec::new(),
    }
}

/// What Docker and the state hold after `plan` was applied without failures: the executor's
/// own lowering, its records, operation by operation in their order.
fn simulate(plan: &Plan, mut state: State) -> (State, Snapshot) {
    apply::record_unchanged(plan, &mut state);
    for op in &Operations::lower(plan).ops {
        let c = &plan.changes[op.change];
        match (op.kind, &c.desired) {
            (OpKind::Remove, _) => state.remove(&c.address),
            (OpKind::Create, Some(d)) => {
                state.put(apply::record(d, &format!("new-{}", d.address), BTreeMap::new(), None))
            }
            (OpKind::Start, Some(d)) => {
                state.put(apply::record(d, c.live_id.as_deref().unwrap_or(""), BTreeMap::new(), None))
            }
            _ => {}
        }
    }
    let mut live = Snapshot::default();
    for r in &state.resources {
        live.objects.insert((r.kind, r.name.clone()), live_object(r));
    }
    (state, live)
}

fn changes(p: &Plan) -> Vec<String> {
    p.changes.iter().filter(|c| c.action != Action::NoOp).map(|c| format!("{:?} {}", c.action, c.address)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn a_configuration_against_itself_plans_nothing(g in configs()) {
        let d = desired(&g);
        let first = plan::compute(&d, &State::new(), &Snapshot::default(), "prop", false).unwrap();
        let (state, live) = simulate(&first, State::new());
        let again = plan::compute(&d, &state, &live, "prop", false).unwrap();
        prop_assert!(changes(&again).is_empty(), "{:?}", changes(&again));
    }

    #[test]
    fn applying_any_plan_then_planning_again_is_empty(a in configs(), b in configs()) {
        let (da, db) = (desired(&a), desired(&b));
        let first = plan::compute(&da, &State::new(), &Snapshot::default(), "prop", false).unwrap();
        let (state, live) = simulate(&first, State::new());
        let to_b = plan::compute(&db, &state, &live, "prop", false).unwrap();
        let (state, live) = simulate(&to_b, state);
        let again = plan::compute(&db, &state, &live, "prop", false).unwrap();
        prop_assert!(changes(&again).is_empty(), "{:?}", changes(&again));
        // And the destroy plan of what is there removes every object.
        let destroy = plan::compute(&db, &state, &live, "prop", true).unwrap();
        let (state, _) = simulate(&destroy, state);
        prop_assert!(state.resources.is_empty(), "{:?}", state.resources.iter().map(|r| &r.address).collect::<Vec<_>>());
    }
}
