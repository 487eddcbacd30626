//! The executor's operation graph, without Docker: a plan lowered into operations (what, on
//! which address, after which others, and why), asserted through its text form.

mod fixtures;

use fixtures::{applied, desired, jobs_applied, jobs_with_jobmanager_memory, quorum};
use flinkform::apply::operations::Operations;
use flinkform::model::Kind;
use flinkform::observe::Snapshot;
use flinkform::plan::{self, Plan};
use flinkform::state::State;
use std::collections::BTreeMap;

fn operations(plan: &Plan) -> String {
    Operations::lower(plan).to_string()
}

#[test]
fn a_new_cluster_comes_up_network_first_and_taskmanagers_as_soon_as_their_jobmanager_runs() {
    let (d, project) = desired("quickstart", &[]);
    let p = plan::compute(&d, &State::new(), &Snapshot::default(), &project, false).unwrap();
    insta::assert_snapshot!("ops_quickstart_create", operations(&p));
}

#[test]
fn scaling_up_creates_only_the_new_taskmanagers() {
    let (d, project) = desired("quickstart", &[]);
    let (state, live) = applied(&d, &project);
    let (d4, _) = desired("quickstart", &["taskmanagers=4"]);
    let p = plan::compute(&d4, &state, &live, &project, false).unwrap();
    insta::assert_snapshot!("ops_scale_up", operations(&p));
}

#[test]
fn scaling_down_removes_only_the_last_taskmanagers() {
    let (d, project) = desired("quickstart", &[]);
    let (state, live) = applied(&d, &project);
    let (d1, _) = desired("quickstart", &["taskmanagers=1"]);
    let p = plan::compute(&d1, &state, &live, &project, false).unwrap();
    insta::assert_snapshot!("ops_scale_down", operations(&p));
}

#[test]
fn a_taskmanager_setting_replaces_each_taskmanager_remove_then_create() {
    let (d, project) = desired("quickstart", &[]);
    let (state, live) = applied(&d, &project);
    let (d4, _) = desired("quickstart", &["slots=4"]);
    let p = plan::compute(&d4, &state, &live, &project, false).unwrap();
    insta::assert_snapshot!("ops_slots_replace", operations(&p));
}

#[test]
fn an_ha_cluster_comes_up_zookeeper_then_jobmanagers_then_taskmanagers() {
    let (d, project) = desired("ha", &[]);
    let p = plan::compute(&d, &State::new(), &Snapshot::default(), &project, false).unwrap();
    insta::assert_snapshot!("ops_ha_create", operations(&p));
}

/// Issue 15, item 20: a quorum is replaced one server at a time, each after the one before it
/// answers as a member again; each server keeps its own volume.
#[test]
fn a_zookeeper_quorum_is_replaced_one_server_at_a_time() {
    let d = quorum("512m");
    let (state, live) = applied(&d, "ha");
    let p = plan::compute(&quorum("768m"), &state, &live, "ha", false).unwrap();
    let text = operations(&p);
    insta::assert_snapshot!("ops_quorum_replace", text);
    assert!(d.contains_key("cluster.ha.volume[\"zookeeper-2\"]"), "each server has its volume");
}

#[test]
fn a_jobmanager_replacement_under_a_job_stops_it_with_a_savepoint_first_and_resubmits_after() {
    let (_, state, live, project) = jobs_applied(&[]);
    let d = jobs_with_jobmanager_memory("1280m");
    let p = plan::compute(&d, &state, &live, &project, false).unwrap();
    insta::assert_snapshot!("ops_jobmanager_replaced_under_job", operations(&p));
}

#[test]
fn a_job_upgrade_is_a_stop_with_savepoint_then_a_submit() {
    let (d, state, live, project) = jobs_applied(&["parallelism=4"]);
    let p = plan::compute(&d, &state, &live, &project, false).unwrap();
    insta::assert_snapshot!("ops_job_upgrade", operations(&p));
}

#[test]
fn destroy_removes_in_reverse_dependency_order() {
    let (d, project) = desired("quickstart", &[]);
    let (state, live) = applied(&d, &project);
    let p = plan::compute(&d, &state, &live, &project, true).unwrap();
    insta::assert_snapshot!("ops_quickstart_destroy", operations(&p));
}

#[test]
fn destroy_with_a_running_job_takes_a_final_savepoint_and_keeps_the_volume() {
    let (d, state, live, project) = jobs_applied(&[]);
    let p = plan::compute(&d, &state, &live, &project, true).unwrap();
    insta::assert_snapshot!("ops_destroy_with_job", operations(&p));
}

#[test]
fn a_container_stopped_outside_flinkform_is_started_and_waited_for() {
    let (d, project) = desired("quickstart", &[]);
    let (state, mut live) = applied(&d, &project);
    let jm = live.objects.get_mut(&(Kind::Container, "quickstart-quickstart-jobmanager-0".into())).unwrap();
    jm.running = false;
    jm.state = "exited".into();
    let p = plan::compute(&d, &state, &live, &project, false).unwrap();
    insta::assert_snapshot!("ops_start_stopped", operations(&p));
}

#[test]
fn a_cancelled_job_is_only_resubmitted() {
    let (d, state, mut live, project) = jobs_applied(&[]);
    live.jobs.insert("cluster.jobs".into(), Some(BTreeMap::from([("j1".to_string(), "CANCELED".to_string())])));
    let p = plan::compute(&d, &state, &live, &project, false).unwrap();
    insta::assert_snapshot!("ops_job_resubmitted", operations(&p));
}

#[test]
fn lowering_is_deterministic_and_every_dependency_points_backwards_or_forwards_acyclically() {
    let (d, project) = desired("ha", &[]);
    let p = plan::compute(&d, &State::new(), &Snapshot::default(), &project, false).unwrap();
    let (a, b) = (Operations::lower(&p), Operations::lower(&p));
    assert_eq!(a, b);
    assert_eq!(a.to_string(), b.to_string());
    // A walk in index order that only starts an operation once its dependencies are done
    // finishes everything: no operation waits for one that never comes.
    let mut done = vec![false; a.ops.len()];
    for _ in 0..a.ops.len() {
        for (i, op) in a.ops.iter().enumerate() {
            if !done[i] && op.after.iter().all(|&j| done[j]) {
                done[i] = true;
            }
        }
    }
    assert!(done.iter().all(|d| *d), "a cycle in:\n{a}");
}

/// Issue 15, mutual TLS: the keystores are written into the TLS volume after it is made and
/// before any Flink container of the cluster is created.
#[test]
fn a_tls_cluster_writes_its_keystores_before_its_flink_containers_start() {
    let (d, project) = desired("secure", &[]);
    let p = plan::compute(&d, &State::new(), &Snapshot::default(), &project, false).unwrap();
    insta::assert_snapshot!("ops_tls_create", operations(&p));
}

/// Issue 15, rotation: replacing the TLS volume replaces every container that reads it, and
/// writes the new keystores before they are created again.
#[test]
fn replacing_the_tls_volume_rotates_the_keystores_under_every_flink_container() {
    let (d, project) = desired("secure", &[]);
    let (state, live) = applied(&d, &project);
    let replace = vec!["cluster.secure.volume[\"tls\"]".to_string()];
    let p = plan::compute_with(&d, &state, &live, &project, false, &replace).unwrap();
    insta::assert_snapshot!("ops_tls_rotate", operations(&p));
}

/// Turning TLS off: the TLS volume is removed only after the containers that mounted it.
#[test]
fn turning_tls_off_removes_the_tls_volume_after_the_containers_that_read_it() {
    let (d, project) = desired("secure", &[]);
    let (state, live) = applied(&d, &project);
    let (off, _) = desired("secure", &["tls=false"]);
    let p = plan::compute(&off, &state, &live, &project, false).unwrap();
    insta::assert_snapshot!("ops_tls_off", operations(&p));
}

/// A stopped Flink container of a TLS cluster: the keystores are written again before it starts
/// (a volume a killed run left empty is filled).
#[test]
fn a_stopped_container_of_a_tls_cluster_gets_its_keystores_written_before_it_starts() {
    let (d, project) = desired("secure", &[]);
    let (state, mut live) = applied(&d, &project);
    let tm = live.objects.get_mut(&(Kind::Container, "secure-secure-taskmanager-1".into())).unwrap();
    tm.running = false;
    tm.state = "exited".into();
    let p = plan::compute(&d, &state, &live, &project, false).unwrap();
    insta::assert_snapshot!("ops_tls_start_stopped", operations(&p));
}

/// The application example, applied, its application running as job "a1"; then planned with
/// `edit` applied to its text and `vars`.
fn application_plan(edit: (&str, &str), vars: &[&str]) -> Plan {
    let load = |text: &str, vars: &[&str]| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), text).unwrap();
        let inputs =
            flinkform::config::VarInputs { var_files: vec![], vars: vars.iter().map(|s| s.to_string()).collect() };
        let cfg = flinkform::config::load(dir.path(), &inputs).unwrap();
        flinkform::model::expand(&cfg, &flinkform::model::sensitive::Masker::salted("salt"))
    };
    let text = std::fs::read_to_string("examples/application/main.hcl").unwrap();
    let d = load(&text, &[]);
    let (mut state, mut live) = applied(&d, "application");
    let mut app = state.resource("cluster.counter.application").unwrap().clone();
    app.id = "a1".into();
    state.put(app);
    live.objects.retain(|(kind, _), _| *kind != Kind::Job);
    live.jobs.insert("cluster.counter".into(), Some(BTreeMap::from([("a1".to_string(), "RUNNING".to_string())])));
    let edited = text.replacen(edit.0, edit.1, 1);
    plan::compute(&load(&edited, vars), &state, &live, "application", false).unwrap()
}

/// An application's JobManager runs its job: an upgrade stops the job with a savepoint before
/// anything is removed, creates the JobManager after (it starts from that savepoint), and waits
/// for the job after the cluster is ready.
#[test]
fn an_application_upgrade_stops_first_and_starts_with_its_jobmanager() {
    let p = application_plan(("", ""), &["app_version=2"]);
    insta::assert_snapshot!("ops_application_upgrade", operations(&p));
}

/// Every TaskManager replaced under a running application: the job stops, and since only a
/// JobManager start runs it again, the JobManager is replaced too.
#[test]
fn an_application_restarts_with_its_jobmanager_when_every_taskmanager_is_replaced() {
    let p = application_plan(("slots    = 2", "slots    = 3"), &[]);
    insta::assert_snapshot!("ops_application_taskmanagers", operations(&p));
    let plan = flinkform::plan::render::human(&p);
    assert!(plan.contains("the application restarts with its JobManager"), "{plan}");
}

/// Suspended: stopped with a savepoint, then every Flink container removed.
#[test]
fn a_suspended_application_runs_nothing() {
    let p = application_plan(("", ""), &["app_state=suspended"]);
    insta::assert_snapshot!("ops_application_suspend", operations(&p));
}
