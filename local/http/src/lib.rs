//! A plain-HTTP (`http://`, no TLS) client for the local stack's own endpoints: the approval
//! pages, the gateway's `/_local` API and moto's API. What the CLI, the tests and the gateway
//! need of one, over hyper-util's maintained client: one request, its whole response (status,
//! headers, body as text), bounded by a timeout.
//!
//! A client is built per request, without a pool: each request has its own connection, so
//! nothing outlives the (test's) runtime it was made in, and [`blocking`] can run one from a
//! `Drop`.

use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// A response: its status, the server's reason phrase, its headers and its body (as text).
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    /// The reason phrase as sent (`Conflict` in `409 Conflict`), or the status's canonical one.
    pub reason: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Response {
    /// `409 Conflict`.
    pub fn status_line(&self) -> String {
        format!("{} {}", self.status.as_u16(), self.reason)
            .trim_end()
            .to_string()
    }
}

/// `method url` with `body` (content type, content), the whole response read within `timeout`.
/// Errors name the request and say what failed (the URL, connecting, the time).
pub async fn request(
    method: &str,
    url: &str,
    body: Option<(&str, &str)>,
    timeout: Duration,
) -> Result<Response, String> {
    let what = format!("{method} {url}");
    tokio::time::timeout(timeout, exchange(method, url, body))
        .await
        .map_err(|_| format!("{what}: no complete response within {} s", timeout.as_secs()))?
        .map_err(|e| format!("{what}: {e}"))
}

/// [`request`] from synchronous code (a `Drop`, say): run on a thread of its own with a
/// single-threaded runtime, so it works inside and outside of an async runtime.
pub fn blocking(method: &str, url: &str, body: Option<(&str, &str)>, timeout: Duration) -> Result<Response, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("{method} {url}: a runtime: {e}"))?
                    .block_on(request(method, url, body, timeout))
            })
            .join()
            .unwrap_or_else(|_| Err(format!("{method} {url}: the request's thread panicked")))
    })
}

async fn exchange(method: &str, url: &str, body: Option<(&str, &str)>) -> Result<Response, String> {
    if !url.starts_with("http://") {
        return Err(format!("only http:// URLs are supported, not {url:?}"));
    }
    let method = Method::from_bytes(method.as_bytes()).map_err(|e| format!("the method: {e}"))?;
    let mut builder = Request::builder().method(method).uri(url);
    let content = match body {
        Some((content_type, content)) => {
            builder = builder.header(CONTENT_TYPE, content_type);
            Bytes::copy_from_slice(content.as_bytes())
        }
        None => Bytes::new(),
    };
    let request = builder
        .body(Full::new(content))
        .map_err(|e| format!("the request: {e}"))?;
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(0)
        .build_http::<Full<Bytes>>();
    let response = client.request(request).await.map_err(|e| {
        // The cause (connection refused, reset...) is in the source chain, not in the top error.
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    })?;
    let (parts, incoming) = response.into_parts();
    let bytes = incoming
        .collect()
        .await
        .map_err(|e| format!("reading the body: {e}"))?
        .to_bytes();
    let reason = parts
        .extensions
        .get::<hyper::ext::ReasonPhrase>()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
        .or_else(|| parts.status.canonical_reason().map(str::to_string))
        .unwrap_or_default();
    Ok(Response {
        status: parts.status,
        reason,
        headers: parts.headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-shot server: answers the first request with `answer`, and hands back what it read.
    async fn serve_once(answer: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while !String::from_utf8_lossy(&seen).contains("\r\n\r\n") {
                let n = s.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
            }
            let text = String::from_utf8_lossy(&seen).into_owned();
            if let Some(length) = text.lines().find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_string())
            }) {
                let head = text.find("\r\n\r\n").unwrap() + 4;
                let want: usize = length.parse().unwrap();
                while seen.len() < head + want {
                    let n = s.read(&mut buf).await.unwrap();
                    seen.extend_from_slice(&buf[..n]);
                }
            }
            s.write_all(answer.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&seen).into_owned()
        });
        (url, task)
    }

    #[tokio::test]
    async fn a_post_sends_its_form_and_reads_status_reason_headers_and_body() {
        let (url, server) =
            serve_once("HTTP/1.1 409 Conflict\r\nX-Amz-Function-Error: Unhandled\r\nContent-Length: 2\r\n\r\nok").await;
        let r = super::request(
            "POST",
            &format!("{url}/approvals/ab"),
            Some(("application/x-www-form-urlencoded", "a=1&b=2")),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        assert_eq!(
            (r.status.as_u16(), r.status_line().as_str(), r.body.as_str()),
            (409, "409 Conflict", "ok")
        );
        assert!(r.headers.contains_key("x-amz-function-error"));
        let seen = server.await.unwrap();
        assert!(seen.starts_with("POST /approvals/ab HTTP/1.1\r\n"), "{seen}");
        assert!(
            seen.to_ascii_lowercase()
                .contains("content-type: application/x-www-form-urlencoded"),
            "{seen}"
        );
        assert!(seen.ends_with("\r\n\r\na=1&b=2"), "{seen}");
    }

    #[tokio::test]
    async fn a_body_cut_short_a_refused_connection_and_a_silent_server_are_errors() {
        let (url, _server) = serve_once("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok").await;
        assert!(super::request("GET", &url, None, Duration::from_secs(10))
            .await
            .is_err());

        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", closed.local_addr().unwrap());
        drop(closed);
        let e = super::request("GET", &url, None, Duration::from_secs(10))
            .await
            .unwrap_err();
        assert!(e.starts_with(&format!("GET {url}: ")), "{e}");

        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", silent.local_addr().unwrap());
        let e = super::request("GET", &url, None, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(e.contains("no complete response within"), "{e}");
        assert!(
            super::request("GET", "https://example.com/", None, Duration::from_secs(1))
                .await
                .is_err()
        );
    }

    #[test]
    fn a_blocking_request_works_from_inside_a_runtime_too() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let (url, _server) = rt.block_on(serve_once("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes"));
        let r = rt
            .block_on(async { super::blocking("DELETE", &format!("{url}/x?owner=o"), None, Duration::from_secs(10)) });
        assert_eq!(r.unwrap().body, "yes");
    }
}
