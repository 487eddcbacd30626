//! The engine's reads on a no-op plan's critical path, made by hand over a plain socket (unix or
//! TCP without TLS): `GET /_ping` for the API version, and the three list calls.
//!
//! Why not bollard for these: bollard asks `/version` before its first request (the engine then
//! queries containerd and runc, ~5 ms), must know the API version before any request, and
//! deserializes every list entry into its full model (a quarter of a no-op plan's instructions at
//! a hundred containers). Here the version comes from `/_ping`'s `Api-Version` header, as the
//! docker CLI reads it; the lists go out at the same time, unversioned (the engine answers them at
//! its own API version), and only the fields flinkform reads are parsed. bollard does everything
//! else, and these reads too for TLS and ssh engines ([`Endpoint::plain`] is `None` there).

use bollard::ClientVersion;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Where plain HTTP reaches the engine, and the API version its answers named.
#[derive(Debug, Clone)]
pub struct Endpoint {
    socket: Socket,
    /// The `Api-Version` of the first answer that had one (every engine answer carries it).
    seen: Arc<OnceLock<ClientVersion>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Socket {
    Unix(String),
    Tcp(String),
}

impl PartialEq for Endpoint {
    fn eq(&self, other: &Endpoint) -> bool {
        self.socket == other.socket
    }
}

impl Endpoint {
    /// `None` when `host` is not plain HTTP over a socket or TCP (TLS, ssh: bollard's business).
    pub fn plain(host: &str, tls: bool) -> Option<Endpoint> {
        let socket = match host.strip_prefix("unix://") {
            Some(path) => Socket::Unix(path.to_string()),
            None => {
                let addr = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://"))?;
                (!tls).then(|| Socket::Tcp(addr.trim_end_matches('/').to_string()))?
            }
        };
        Some(Endpoint { socket, seen: Default::default() })
    }

    /// The engine's API version as an answer over this endpoint named it, if one did.
    pub fn seen_version(&self) -> Option<ClientVersion> {
        self.seen.get().cloned()
    }

    /// One `GET` (HTTP/1.0: the engine closes the connection after answering, so the body is
    /// whatever comes before the end of the stream), connecting included within [`TIMEOUT`] (a
    /// TCP host that never answers would otherwise wait out the system's connect timeout).
    /// Errors are the reason, for the caller to frame.
    async fn get(&self, path: &str) -> Result<Response, String> {
        let talk = async {
            match &self.socket {
                Socket::Unix(p) => exchange(tokio::net::UnixStream::connect(p).await?, path).await,
                Socket::Tcp(a) => exchange(tokio::net::TcpStream::connect(a).await?, path).await,
            }
        };
        let answer = tokio::time::timeout(TIMEOUT, talk)
            .await
            .map_err(|_| format!("no answer to GET {path} within {}s", TIMEOUT.as_secs()))?
            .map_err(|e| e.to_string())?;
        let response = Response::parse(answer)?;
        if let Some(version) = parse_api_version(&response.head) {
            let _ = self.seen.set(version);
        }
        Ok(response)
    }

    /// The engine's API version; `None` when it answers without the header (bollard negotiates).
    pub async fn api_version(&self) -> Result<Option<ClientVersion>, String> {
        Ok(parse_api_version(&self.get("/_ping").await?.head))
    }

    /// `GET url`, expecting 200 and a JSON body of type `T`.
    pub async fn get_json<T: for<'de> Deserialize<'de>>(&self, url: &str) -> Result<T, String> {
        tracing::debug!(url, "engine: GET");
        let response = self.get(url).await?;
        if response.status != 200 {
            // The engine's errors are `{"message": "..."}`.
            let message = serde_json::from_slice::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&response.body).trim().to_string());
            return Err(format!("the engine answered {}: {message}", response.status));
        }
        serde_json::from_slice(&response.body).map_err(|e| format!("unexpected answer from the engine: {e}"))
    }
}

/// `path?k=v&...`, the values URL-encoded.
pub fn url(path: &str, query: &[(&str, &str)]) -> String {
    format!("{path}?{}", form_urlencoded::Serializer::new(String::new()).extend_pairs(query).finish())
}

async fn exchange(mut stream: impl AsyncRead + AsyncWrite + Unpin, path: &str) -> std::io::Result<Vec<u8>> {
    stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n").as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    Ok(response)
}

/// An HTTP/1.0 answer: status, the head as text, the body as bytes.
#[derive(Debug)]
struct Response {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Response {
    fn parse(bytes: Vec<u8>) -> Result<Response, String> {
        let not_http = || "the other end does not speak HTTP".to_string();
        let split = bytes.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(not_http)?;
        let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
        let status = head
            .strip_prefix("HTTP/")
            .and_then(|rest| rest.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(not_http)?;
        if header(&head, "transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
            // An HTTP/1.0 client must never get a chunked body; a proxy that sends one anyway is
            // refused rather than misread.
            return Err("the engine (or a proxy in front of it) sent a chunked answer to HTTP/1.0".into());
        }
        Ok(Response { status, head, body: bytes[split + 4..].to_vec() })
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, value) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn parse_api_version(head: &str) -> Option<ClientVersion> {
    let (major, minor) = header(head, "api-version")?.split_once('.')?;
    Some(ClientVersion { major_version: major.parse().ok()?, minor_version: minor.parse().ok()? })
}

/// What flinkform reads of a `GET /containers/json` entry (the engine's field names).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Container {
    pub id: String,
    pub names: Option<Vec<String>>,
    pub state: Option<String>,
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "ImageID")]
    pub image_id: Option<String>,
    pub ports: Option<Vec<Port>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Port {
    pub private_port: u16,
    pub public_port: Option<u16>,
    #[serde(rename = "Type")]
    pub typ: Option<String>,
}

/// A `GET /networks` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Network {
    pub id: String,
    pub name: String,
    pub labels: Option<BTreeMap<String, String>>,
}

/// `GET /volumes`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Volumes {
    pub volumes: Option<Vec<Volume>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Volume {
    pub name: String,
    pub labels: Option<BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header_whatever_its_case() {
        let v = parse_api_version("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nServer: Docker").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        let v = parse_api_version("HTTP/1.0 200 OK\r\nAPI-VERSION:1.50").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 50));
    }

    #[test]
    fn no_or_bad_header_is_none() {
        assert!(parse_api_version("HTTP/1.1 200 OK\r\nServer: x").is_none());
        assert!(parse_api_version("HTTP/1.1 200 OK\r\nApi-Version: latest").is_none());
    }

    #[test]
    fn a_response_splits_into_status_head_and_body() {
        let r = Response::parse(b"HTTP/1.0 404 Not Found\r\nA: b\r\n\r\n{\"message\":\"x\"}\r\n\r\n".to_vec()).unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(header(&r.head, "a"), Some("b"));
        assert_eq!(r.body, b"{\"message\":\"x\"}\r\n\r\n");
        assert!(Response::parse(b"SSH-2.0-OpenSSH\r\n\r\n".to_vec()).is_err());
        assert!(Response::parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n".to_vec()).is_err());
    }

    #[test]
    fn plain_endpoints_only() {
        let socket = |host, tls| Endpoint::plain(host, tls).map(|e| e.socket);
        assert_eq!(socket("unix:///run/d.sock", false), Some(Socket::Unix("/run/d.sock".into())));
        assert_eq!(socket("tcp://h:2375/", false), Some(Socket::Tcp("h:2375".into())));
        assert_eq!(socket("tcp://h:2376", true), None);
        assert_eq!(socket("ssh://u@h", false), None);
    }

    #[test]
    fn a_container_entry_keeps_what_flinkform_reads() {
        let json = r#"[{"Id":"abc","Names":["/p-c-0"],"Image":"x","ImageID":"sha256:1","State":"running",
            "Labels":{"k":"v"},"Ports":[{"IP":"0.0.0.0","PrivatePort":8081,"PublicPort":32768,"Type":"tcp"},
            {"PrivatePort":6123,"Type":"tcp"}],"NetworkSettings":{"Networks":{}},"Mounts":[]}]"#;
        let c: Vec<Container> = serde_json::from_str(json).unwrap();
        assert_eq!(c[0].id, "abc");
        assert_eq!(c[0].names.as_deref(), Some(&["/p-c-0".to_string()][..]));
        assert_eq!(c[0].state.as_deref(), Some("running"));
        assert_eq!(c[0].image_id.as_deref(), Some("sha256:1"));
        let ports = c[0].ports.as_ref().unwrap();
        assert_eq!((ports[0].private_port, ports[0].public_port), (8081, Some(32768)));
        assert_eq!(ports[1].public_port, None);
        // The engine sends null for empty maps and lists.
        let c: Vec<Container> =
            serde_json::from_str(r#"[{"Id":"d","Names":null,"Labels":null,"Ports":null}]"#).unwrap();
        assert!(c[0].labels.is_none() && c[0].ports.is_none());
    }
}
