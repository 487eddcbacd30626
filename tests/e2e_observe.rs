//! The two ways flinkform reads the engine — by hand over its socket (`docker::wire`, what every
//! command uses here) and through bollard (what TLS and ssh engines get) — see the same objects on
//! the real engine, and what they see is what the docker CLI shows.

mod common;
use common::*;
use flinkform::model::Kind;
use flinkform::observe::Snapshot;
use flinkform::observe::docker::{self as observe, Selection, Source};

const HCL: &str = r#"
flinkform {
  project = "PROJECT"
}

network "net" {}

volume "data" {}

container "web" {
  image   = "flinkform-offline/busybox:static"
  command = ["sh", "-c", "trap 'exit 0' TERM; sleep 2147483647 & wait"]
  network = network.net.name
  ports   = ["8080", "9000/udp"]
  volumes = ["${volume.data.name}:/data"]
  memory  = "16m"
  restart = "no"
}

container "idle" {
  count   = 2
  image   = "flinkform-offline/busybox:static"
  command = ["sh", "-c", "trap 'exit 0' TERM; sleep 2147483647 & wait"]
  memory  = "16m"
  restart = "no"
}
"#;

#[test]
fn by_hand_and_through_bollard_the_engine_reads_the_same() {
    if !require_docker() {
        return;
    }
    let p = Project::new("fft-observe", HCL);
    // Not the project's: found only by the name selection, and removed by its own name.
    let stray = "fft-observe-stray";
    docker(&["rm", "-f", stray]);
    p.ok(&["apply", "--auto-approve"]);
    docker(&["stop", "-t", "0", "fft-observe-idle-1"]);
    docker(&["create", "--name", stray, "flinkform-offline/busybox:static", "true"]);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (labelled, named) = runtime.block_on(async {
        let engine = flinkform::docker::connect(None).await.unwrap();
        let endpoint = engine.wire.clone().expect("the local socket is read by hand");
        let mut seen = Vec::new();
        for selection in [
            Selection::Labelled { project: "fft-observe" },
            Selection::Named { prefix: Some("fft-observe-"), names: &[] },
        ] {
            let by_hand = observe::list(Source::Wire(&endpoint), selection, true).await.unwrap();
            let by_bollard = observe::list(Source::Bollard(&engine.docker), selection, true).await.unwrap();
            assert_eq!(by_hand.objects, by_bollard.objects, "{selection:?}");
            seen.push(by_hand);
        }
        (seen.remove(0), seen.remove(0))
    });
    docker(&["rm", "-f", stray]);

    let names = |live: &Snapshot, kind: Kind| -> Vec<String> {
        live.objects.keys().filter(|(k, _)| *k == kind).map(|(_, n)| n.clone()).collect()
    };
    assert_eq!(names(&labelled, Kind::Container), ["fft-observe-idle-0", "fft-observe-idle-1", "fft-observe-web"]);
    assert_eq!(names(&labelled, Kind::Network), ["fft-observe-net"]);
    assert_eq!(names(&labelled, Kind::Volume), ["fft-observe-data"]);
    assert_eq!(
        names(&named, Kind::Container),
        ["fft-observe-idle-0", "fft-observe-idle-1", "fft-observe-stray", "fft-observe-web"]
    );
    assert!(!named.objects[&(Kind::Container, stray.to_string())].managed_by("fft-observe"));

    // What the docker CLI says of the same objects.
    let web = &labelled.objects[&(Kind::Container, "fft-observe-web".to_string())];
    assert_eq!(web.id, docker(&["inspect", "-f", "{{.Id}}", "fft-observe-web"]).trim());
    assert_eq!(web.image_id.as_deref(), Some(docker(&["inspect", "-f", "{{.Image}}", "fft-observe-web"]).trim()));
    assert!(web.running && web.state == "running");
    assert!(web.managed_by("fft-observe"));
    assert_eq!(web.address(), Some("container.web"));
    for port in ["8080/tcp", "9000/udp"] {
        let cli = docker(&["port", "fft-observe-web", port]);
        let host_port: u16 = cli.lines().next().and_then(|l| l.rsplit(':').next()).unwrap().trim().parse().unwrap();
        assert_eq!(web.ports.get(port), Some(&host_port), "{port}: {cli}");
    }
    let stopped = &labelled.objects[&(Kind::Container, "fft-observe-idle-1".to_string())];
    assert!(!stopped.running && stopped.state == "exited", "{stopped:?}");
    let net = &labelled.objects[&(Kind::Network, "fft-observe-net".to_string())];
    assert_eq!(net.id, docker(&["network", "inspect", "-f", "{{.Id}}", "fft-observe-net"]).trim());
}
