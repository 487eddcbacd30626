//! The engine's API version, read the way the docker CLI reads it: the `Api-Version` header of
//! `GET /_ping`. bollard's `negotiate_version` asks `/version` instead, for which the engine
//! queries containerd and runc: about 5 ms here, as long as listing a hundred containers, and
//! every command waits for it before its first real request.

use bollard::ClientVersion;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const TIMEOUT: Duration = Duration::from_secs(30);

/// `None` when `host` is not plain HTTP over a socket or TCP (TLS, ssh: bollard negotiates);
/// `Some(Err)` with the reason when the engine cannot be reached or does not answer as Docker.
pub async fn api_version(host: &str, tls: bool) -> Option<Result<ClientVersion, String>> {
    let answer = if let Some(path) = host.strip_prefix("unix://") {
        match tokio::net::UnixStream::connect(path).await {
            Ok(s) => exchange(s).await,
            Err(e) => Err(e.to_string()),
        }
    } else if let Some(addr) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://"))
        && !tls
    {
        match tokio::net::TcpStream::connect(addr.trim_end_matches('/')).await {
            Ok(s) => exchange(s).await,
            Err(e) => Err(e.to_string()),
        }
    } else {
        return None;
    };
    // An engine that answers without the header is left to bollard's own negotiation.
    answer.transpose()
}

async fn exchange(mut stream: impl AsyncRead + AsyncWrite + Unpin) -> Result<Option<ClientVersion>, String> {
    let talk = async {
        // HTTP/1.0: the engine closes the connection after answering, so reading to the end is safe.
        stream.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n").await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(TIMEOUT, talk)
        .await
        .map_err(|_| format!("no answer to GET /_ping within {}s", TIMEOUT.as_secs()))?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&response);
    if !text.starts_with("HTTP/") {
        return Err("the other end does not speak HTTP".into());
    }
    Ok(parse_api_version(&text))
}

fn parse_api_version(response: &str) -> Option<ClientVersion> {
    let head = response.split("\r\n\r\n").next()?;
    let value = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("api-version").then(|| value.trim())
    })?;
    let (major, minor) = value.split_once('.')?;
    Some(ClientVersion { major_version: major.parse().ok()?, minor_version: minor.parse().ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header_whatever_its_case() {
        let v = parse_api_version("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nServer: Docker\r\n\r\nOK").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 41));
        let v = parse_api_version("HTTP/1.0 200 OK\r\nAPI-VERSION:1.50\r\n\r\n").unwrap();
        assert_eq!((v.major_version, v.minor_version), (1, 50));
    }

    #[test]
    fn no_or_bad_header_is_none() {
        assert!(parse_api_version("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nApi-Version: 1.41").is_none());
        assert!(parse_api_version("HTTP/1.1 200 OK\r\nApi-Version: latest\r\n\r\n").is_none());
    }
}
