//! Which engine to talk to, chosen as the docker CLI chooses it: the `flinkform` block's
//! `docker_host`, else `DOCKER_HOST` (with `DOCKER_TLS_VERIFY` / `DOCKER_CERT_PATH`), else the
//! Docker context named by `DOCKER_CONTEXT`, else the config file's `currentContext`, else the
//! local socket. A context is read from the docker CLI's own store (`$DOCKER_CONFIG`, default
//! `~/.docker`): `contexts/meta/<sha256 of the name>/meta.json` for the host, and
//! `contexts/tls/<same>/docker/{ca,cert,key}.pem` for its TLS material.

use super::DockerError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const DEFAULT_SOCKET: &str = "unix:///var/run/docker.sock";

/// The engine's address, its TLS material, and where it came from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub host: String,
    pub tls: Option<TlsFiles>,
    pub from: From,
}

/// Client certificate, key and the CA that signed the engine's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum From {
    Configured,
    DockerHost,
    /// A Docker context, and whether `DOCKER_CONTEXT` named it (else `currentContext`).
    Context {
        name: String,
        from_env: bool,
    },
    Default,
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.from {
            From::Configured => write!(f, "{} (docker_host in the flinkform block)", self.host),
            From::DockerHost => write!(f, "{} (DOCKER_HOST)", self.host),
            From::Context { name, from_env: true } => {
                write!(f, "{} (Docker context \"{name}\", DOCKER_CONTEXT)", self.host)
            }
            From::Context { name, from_env: false } => {
                write!(f, "{} (Docker context \"{name}\", the current context)", self.host)
            }
            From::Default => write!(f, "{}", self.host),
        }
    }
}

/// The environment and files the choice reads; [`Inputs::from_process`] in the program.
pub struct Inputs {
    pub docker_host: Option<String>,
    pub tls_verify: bool,
    pub cert_path: Option<PathBuf>,
    pub docker_context: Option<String>,
    /// `$DOCKER_CONFIG`, else `~/.docker`.
    pub config_dir: Option<PathBuf>,
}

impl Inputs {
    pub fn from_process() -> Inputs {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let config_dir = var("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")));
        Inputs {
            docker_host: var("DOCKER_HOST"),
            tls_verify: var("DOCKER_TLS_VERIFY").is_some_and(|v| v != "0"),
            cert_path: var("DOCKER_CERT_PATH").map(PathBuf::from).or_else(|| config_dir.clone()),
            docker_context: var("DOCKER_CONTEXT"),
            config_dir,
        }
    }
}

/// The engine flinkform talks to, `configured` being the `flinkform` block's `docker_host`.
pub fn resolve(configured: Option<&str>, inputs: &Inputs) -> Result<Address, DockerError> {
    let env_tls = || {
        let dir = inputs.cert_path.clone().unwrap_or_default();
        inputs.tls_verify.then(|| TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        })
    };
    if let Some(host) = configured {
        return Ok(Address { host: host.to_string(), tls: env_tls(), from: From::Configured });
    }
    if let Some(host) = &inputs.docker_host {
        return Ok(Address { host: host.clone(), tls: env_tls(), from: From::DockerHost });
    }
    let (name, from_env) = match &inputs.docker_context {
        Some(name) => (Some(name.clone()), true),
        None => (current_context(inputs.config_dir.as_deref())?, false),
    };
    match name.filter(|n| n != "default") {
        Some(name) => context(&name, from_env, inputs.config_dir.as_deref()),
        None => Ok(Address { host: DEFAULT_SOCKET.into(), tls: None, from: From::Default }),
    }
}

/// `currentContext` of the docker CLI's config file, when it names one.
fn current_context(config_dir: Option<&Path>) -> Result<Option<String>, DockerError> {
    let Some(path) = config_dir.map(|d| d.join("config.json")) else { return Ok(None) };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DockerError::Other(format!("cannot read {}: {e}", path.display()))),
    };
    let config: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| DockerError::Other(format!("{} is not valid JSON ({e}); fix or remove it", path.display())))?;
    Ok(config.get("currentContext").and_then(|c| c.as_str()).filter(|c| !c.is_empty()).map(str::to_string))
}

/// The docker endpoint of context `name`, from the CLI's context store.
fn context(name: &str, from_env: bool, config_dir: Option<&Path>) -> Result<Address, DockerError> {
    let dir = config_dir.unwrap_or(Path::new("~/.docker"));
    let id = hex::encode(Sha256::digest(name.as_bytes()));
    let meta = dir.join("contexts/meta").join(&id).join("meta.json");
    let named_by = if from_env { "DOCKER_CONTEXT" } else { "currentContext in config.json" };
    let text = std::fs::read_to_string(&meta).map_err(|_| {
        DockerError::Other(format!(
            "Docker context \"{name}\" ({named_by}) does not exist in {}. List contexts with `docker context ls`; \
             create it with `docker context create`, or unset {}",
            dir.display(),
            if from_env { "DOCKER_CONTEXT" } else { "it with `docker context use default`" }
        ))
    })?;
    let bad = |what: &str| DockerError::Other(format!("Docker context \"{name}\": {} {what}", meta.display()));
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(&format!("is not valid JSON ({e})")))?;
    let host = v
        .pointer("/Endpoints/docker/Host")
        .and_then(|h| h.as_str())
        .filter(|h| !h.is_empty())
        .ok_or_else(|| bad("has no docker endpoint host"))?
        .to_string();
    let tls_dir = dir.join("contexts/tls").join(&id).join("docker");
    let tls = tls_dir.join("ca.pem").exists().then(|| TlsFiles {
        ca: tls_dir.join("ca.pem"),
        cert: tls_dir.join("cert.pem"),
        key: tls_dir.join("key.pem"),
    });
    Ok(Address { host, tls, from: From::Context { name: name.to_string(), from_env } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(dir: &Path) -> Inputs {
        Inputs {
            docker_host: None,
            tls_verify: false,
            cert_path: None,
            docker_context: None,
            config_dir: Some(dir.into()),
        }
    }

    fn write_context(dir: &Path, name: &str, host: &str, tls: bool) {
        let id = hex::encode(Sha256::digest(name.as_bytes()));
        let meta = dir.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        let json = serde_json::json!({"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}}});
        std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
        if tls {
            let t = dir.join("contexts/tls").join(&id).join("docker");
            std::fs::create_dir_all(&t).unwrap();
            for f in ["ca.pem", "cert.pem", "key.pem"] {
                std::fs::write(t.join(f), "x").unwrap();
            }
        }
    }

    #[test]
    fn the_choice_follows_the_docker_clis_order() {
        let dir = tempfile::tempdir().unwrap();
        write_context(dir.path(), "remote", "tcp://10.0.0.5:2376", true);
        write_context(dir.path(), "colima", "unix:///home/u/.colima/docker.sock", false);
        std::fs::write(dir.path().join("config.json"), r#"{"currentContext": "colima"}"#).unwrap();

        let mut i = inputs(dir.path());
        let a = resolve(None, &i).unwrap();
        assert_eq!(a.host, "unix:///home/u/.colima/docker.sock");
        assert_eq!(a.from, From::Context { name: "colima".into(), from_env: false });

        i.docker_context = Some("remote".into());
        let a = resolve(None, &i).unwrap();
        assert_eq!(a.host, "tcp://10.0.0.5:2376");
        assert!(a.tls.as_ref().is_some_and(|t| t.cert.ends_with("docker/cert.pem")), "the context's TLS material");
        assert!(a.to_string().contains("Docker context \"remote\", DOCKER_CONTEXT"));

        i.docker_host = Some("tcp://127.0.0.1:2375".into());
        assert_eq!(resolve(None, &i).unwrap().from, From::DockerHost, "DOCKER_HOST wins over a context");
        assert_eq!(resolve(Some("unix:///x.sock"), &i).unwrap().host, "unix:///x.sock", "the configuration wins");

        i.docker_host = None;
        i.docker_context = Some("default".into());
        assert_eq!(resolve(None, &i).unwrap().host, DEFAULT_SOCKET);
        i.docker_context = Some("gone".into());
        let e = resolve(None, &i).unwrap_err().to_string();
        assert!(
            e.contains("Docker context \"gone\" (DOCKER_CONTEXT) does not exist") && e.contains("docker context ls"),
            "{e}"
        );
    }

    #[test]
    fn without_any_setting_it_is_the_local_socket() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resolve(None, &inputs(dir.path())).unwrap().host, DEFAULT_SOCKET);
        std::fs::write(dir.path().join("config.json"), r#"{"auths": {}}"#).unwrap();
        assert_eq!(resolve(None, &inputs(dir.path())).unwrap().from, From::Default);
    }
}
