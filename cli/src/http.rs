//! A minimal HTTP/1.1 client for the approval links (plain `http://`, as the local stack serves
//! them): one request per connection, the response read until its `Content-Length` is satisfied
//! or the server closes the connection.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a request may take, from connecting to the last byte of the response.
const TIMEOUT: Duration = Duration::from_secs(30);

/// A response: `200 OK` is `status` 200 and `reason` "OK".
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub body: String,
}

impl Response {
    /// `200 OK`.
    pub fn status_line(&self) -> String {
        format!("{} {}", self.status, self.reason).trim_end().to_string()
    }
}

/// `GET url`.
pub async fn get(url: &str) -> Result<Response, String> {
    request("GET", url, None).await
}

/// Posts a link as a browser's form would: the link's query string as an
/// `application/x-www-form-urlencoded` body, to the link's path.
pub async fn post_link(url: &str) -> Result<Response, String> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    request("POST", path, Some(("application/x-www-form-urlencoded", query))).await
}

/// One request; `body` is (content type, content).
pub async fn request(method: &str, url: &str, body: Option<(&str, &str)>) -> Result<Response, String> {
    let what = format!("{method} {url}");
    tokio::time::timeout(TIMEOUT, exchange(method, url, body))
        .await
        .map_err(|_| format!("{what}: no complete response within {} s", TIMEOUT.as_secs()))?
        .map_err(|e| format!("{what}: {e}"))
}

async fn exchange(method: &str, url: &str, body: Option<(&str, &str)>) -> Result<Response, String> {
    let (authority, target) = split_url(url)?;
    let address = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(&address)
        .await
        .map_err(|e| format!("connecting to {address}: {e}"))?;
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    let content = match body {
        Some((content_type, content)) => {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
                content.len()
            ));
            content
        }
        None => "",
    };
    head.push_str("\r\n");
    stream
        .write_all(format!("{head}{content}").as_bytes())
        .await
        .map_err(|e| format!("sending: {e}"))?;

    let mut raw = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let n = stream.read(&mut buf).await.map_err(|e| format!("reading: {e}"))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some((end, Some(length))) = head_end(&raw).map(|end| (end, content_length(&raw[..end]))) {
            if raw.len() >= end + 4 + length {
                raw.truncate(end + 4 + length);
                break;
            }
        }
    }
    parse(&raw)
}

/// (authority, path and query) of an `http://` URL.
fn split_url(url: &str) -> Result<(&str, &str), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs are supported, not {url:?}"))?;
    Ok(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    })
}

/// Where the head ends (the index of the blank line's `\r\n\r\n`).
fn head_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n")
}

fn content_length(head: &[u8]) -> Option<usize> {
    String::from_utf8_lossy(head).lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

fn parse(raw: &[u8]) -> Result<Response, String> {
    let end = head_end(raw).ok_or("the connection closed before the response's head was complete")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|_| version.starts_with("HTTP/"))
        .ok_or_else(|| format!("not an HTTP response: {status_line:?}"))?;
    let body = &raw[end + 4..];
    if let Some(length) = content_length(&raw[..end]) {
        if body.len() < length {
            return Err(format!(
                "the connection closed after {} of {length} body bytes",
                body.len()
            ));
        }
    }
    Ok(Response {
        status,
        reason: parts.next().unwrap_or_default().trim().to_string(),
        body: String::from_utf8_lossy(body).into_owned(),
    })
}

/// The text of the element with `id="<id>"` in an HTML page: tags dropped, the usual entities
/// decoded, whitespace collapsed. `None` when there is no such element.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{id}\""))?;
    let open_end = at + html[at..].find('>')? + 1;
    let tag_start = html[..at].rfind('<')?;
    let tag: String = html[tag_start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let close = format!("</{tag}>");
    let inner = &html[open_end..open_end + html[open_end..].find(&close)?];
    let mut text = String::new();
    let mut in_tag = false;
    for c in inner.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let decoded = [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#34;", "\""),
        ("&#39;", "'"),
        ("&#x27;", "'"),
        ("&#x2f;", "/"),
        ("&#x2F;", "/"),
        ("&amp;", "&"),
    ]
    .iter()
    .fold(text, |t, (entity, c)| t.replace(entity, c));
    Some(decoded.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::{content_length, element_text, parse, split_url};

    #[test]
    fn urls_split_into_authority_and_target() {
        assert_eq!(
            split_url("http://127.0.0.1:4512/approvals/ab?x=1").unwrap(),
            ("127.0.0.1:4512", "/approvals/ab?x=1")
        );
        assert_eq!(split_url("http://localhost").unwrap(), ("localhost", "/"));
        assert!(split_url("https://example.com/").is_err());
    }

    #[test]
    fn responses_parse_and_short_bodies_are_errors() {
        let r = parse(b"HTTP/1.1 409 Conflict\r\ncontent-length: 2\r\n\r\nok").unwrap();
        assert_eq!((r.status, r.reason.as_str(), r.body.as_str()), (409, "Conflict", "ok"));
        assert_eq!(r.status_line(), "409 Conflict");
        assert!(parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok").is_err());
        assert!(parse(b"garbage\r\n\r\n").is_err());
        assert_eq!(content_length(b"HTTP/1.1 200 OK\r\nCONTENT-LENGTH:  12"), Some(12));
    }

    #[test]
    fn the_status_element_text_is_found_and_decoded() {
        let page = r#"<h1>Approved</h1>
  <div class="banner ok" id="status">Approved. It&#x27;s <b>done</b> &amp;
     verified.</div><p>x</p>"#;
        assert_eq!(
            element_text(page, "status").as_deref(),
            Some("Approved. It's done & verified.")
        );
        assert_eq!(element_text(page, "missing"), None);
    }
}
