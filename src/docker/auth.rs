//! Registry credentials for pulls, found as the docker CLI finds them: in the config file
//! (`$DOCKER_CONFIG/config.json`, default `~/.docker`) a `credHelpers` entry for the registry,
//! else the `credsStore` helper, else the `auths` entry `docker login` wrote. A helper is the
//! `docker-credential-<name>` program, asked `get` with the registry on its stdin.

use base64::Engine as _;
use bollard::auth::DockerCredentials;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The registry an image reference names: its first component when that is a host (it has a
/// `.` or `:`, or is `localhost`), else Docker Hub.
pub fn registry_of(image: &str) -> String {
    match image.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first.to_string(),
        _ => "docker.io".to_string(),
    }
}

/// The keys a registry may have in the config file (Docker Hub's is a URL).
fn config_keys(registry: &str) -> Vec<String> {
    if registry == "docker.io" {
        vec!["https://index.docker.io/v1/".into(), "docker.io".into(), "index.docker.io".into()]
    } else {
        vec![registry.to_string(), format!("https://{registry}"), format!("http://{registry}")]
    }
}

/// Credentials for pulling `image`, if the config file has any. Errors name the file or helper.
pub fn credentials(image: &str, config_dir: Option<&Path>) -> Result<Option<DockerCredentials>, String> {
    let Some(dir) = config_dir else { return Ok(None) };
    let path = dir.join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let config: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    let registry = registry_of(image);
    let keys = config_keys(&registry);
    let helper = keys
        .iter()
        .find_map(|k| config["credHelpers"][k].as_str())
        .or_else(|| config["credsStore"].as_str())
        .filter(|h| !h.is_empty());
    if let Some(helper) = helper {
        return from_helper(helper, &keys[0], &registry);
    }
    for k in &keys {
        let Some(auth) = config["auths"][k]["auth"].as_str().filter(|a| !a.is_empty()) else { continue };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| {
                format!("the `auths` entry for {registry} in {} is not base64 of user:password", path.display())
            })?;
        let (user, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
        return Ok(Some(DockerCredentials {
            username: Some(user.to_string()),
            password: Some(password.to_string()),
            serveraddress: Some(registry.clone()),
            ..Default::default()
        }));
    }
    Ok(None)
}

/// Asks `docker-credential-<helper> get` for `key`'s credentials.
fn from_helper(helper: &str, key: &str, registry: &str) -> Result<Option<DockerCredentials>, String> {
    let program = format!("docker-credential-{helper}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the credential helper {program} for {registry}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(key.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        // "credentials not found" is no credentials, not an error: the pull may be anonymous.
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{program} answered something other than JSON for {registry}: {e}"))?;
    let (user, secret) = (v["Username"].as_str().unwrap_or_default(), v["Secret"].as_str().unwrap_or_default());
    // A helper's "<token>" user means the secret is an identity token.
    let token = user == "<token>";
    Ok(Some(DockerCredentials {
        username: (!token).then(|| user.to_string()),
        password: (!token).then(|| secret.to_string()),
        identitytoken: token.then(|| secret.to_string()),
        serveraddress: Some(registry.to_string()),
        ..Default::default()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_the_first_component_when_it_is_a_host() {
        assert_eq!(registry_of("apache/flink:2.3.0"), "docker.io");
        assert_eq!(registry_of("flink:2.3.0"), "docker.io");
        assert_eq!(registry_of("127.0.0.1:5000/team/app:1"), "127.0.0.1:5000");
        assert_eq!(registry_of("ghcr.io/acme/app:1"), "ghcr.io");
        assert_eq!(registry_of("localhost/app"), "localhost");
    }

    #[test]
    fn logins_are_read_from_auths() {
        let dir = tempfile::tempdir().unwrap();
        let auth = base64::engine::general_purpose::STANDARD.encode("ada:s3cret");
        std::fs::write(
            dir.path().join("config.json"),
            format!(r#"{{"auths": {{"registry.example:5000": {{"auth": "{auth}"}}, "https://index.docker.io/v1/": {{"auth": "{auth}"}}}}}}"#),
        )
        .unwrap();
        let c = credentials("registry.example:5000/app:1", Some(dir.path())).unwrap().unwrap();
        assert_eq!((c.username.as_deref(), c.password.as_deref()), (Some("ada"), Some("s3cret")));
        assert!(credentials("apache/flink:2.3.0", Some(dir.path())).unwrap().is_some(), "Docker Hub's key is a URL");
        assert!(credentials("other.example/app:1", Some(dir.path())).unwrap().is_none());
        assert!(credentials("app:1", None).unwrap().is_none());
    }
}
