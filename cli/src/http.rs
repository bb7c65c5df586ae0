//! The approval links, followed as a browser would (plain `http://`, as the local stack serves
//! them), through the shared client [`ar_http`]; and the status text of the page they answer.

use std::time::Duration;

pub use ar_http::Response;

/// How long a request may take, from connecting to the last byte of the response.
const TIMEOUT: Duration = Duration::from_secs(30);

/// `GET url`.
pub async fn get(url: &str) -> Result<Response, String> {
    ar_http::request("GET", url, None, TIMEOUT).await
}

/// Posts a link as a browser's form would: the link's query string as an
/// `application/x-www-form-urlencoded` body, to the link's path.
pub async fn post_link(url: &str) -> Result<Response, String> {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    ar_http::request(
        "POST",
        path,
        Some(("application/x-www-form-urlencoded", query)),
        TIMEOUT,
    )
    .await
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
    use super::element_text;

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
