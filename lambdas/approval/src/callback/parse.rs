//! Request parsing: the route, the method and the link's fields, into a typed
//! [`CallbackRequest`] or the [`RequestError`] that names what is wrong. Nothing here reads the
//! store or checks the signature: that is the decision's ([`super::decide`]).

use crate::signing::{parse_form, Action, FormError, LinkClaims};

use super::HttpRequest;

/// What the approval pages are asked, once the request is well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    /// The approval (a batch of findings on one resource), from the path.
    pub approval_id: String,
    pub intent: Intent,
    pub link: Link,
}

/// `GET` (and `HEAD`) only shows the confirmation page: mail scanners that pre-fetch links decide
/// nothing. `POST` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Show,
    Decide,
}

/// The link's fields as sent, unverified: the signature covers them with the approval id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub approver: String,
    pub action: Action,
    /// Epoch seconds after which the link is refused.
    pub expires: u64,
    /// The signing key's id (current or previous key).
    pub kid: String,
    pub sig: String,
}

impl CallbackRequest {
    /// The claims the link's signature must cover.
    pub fn claims(&self) -> LinkClaims {
        LinkClaims {
            approval_id: self.approval_id.clone(),
            approver: self.link.approver.clone(),
            action: self.link.action,
            expires: self.link.expires,
        }
    }
}

/// Why a request is refused before anything is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Not `/approvals/{32 hex digits}`.
    NotFound,
    /// Neither `GET`, `HEAD` nor `POST`.
    MethodNotAllowed,
    /// The query string or form body could not be parsed (too large, too many fields, bad
    /// percent-encoding, a signed field twice).
    BadForm(FormError),
    /// One of the link's fields is missing.
    Incomplete,
    /// `action` is neither `approve` nor `reject`, or `expires` is not a number.
    BadField,
}

/// The approval id of a path, if it is one: `/approvals/` then 32 hex digits.
fn approval_id(path: &str) -> Option<&str> {
    path.strip_prefix("/approvals/")
        .filter(|id| id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// Parses a request to the approval pages: the path first, then the method, then the fields (of
/// the query string for `GET`/`HEAD`, of the form body for `POST`).
pub fn parse(req: &HttpRequest) -> Result<CallbackRequest, RequestError> {
    let approval_id = approval_id(&req.path).ok_or(RequestError::NotFound)?;
    let (intent, form) = match req.method.as_str() {
        "GET" | "HEAD" => (Intent::Show, &req.query),
        "POST" => (Intent::Decide, &req.body),
        _ => return Err(RequestError::MethodNotAllowed),
    };
    let fields = parse_form(form).map_err(RequestError::BadForm)?;
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let (Some(approver), Some(action), Some(expires), Some(kid), Some(sig)) =
        (get("approver"), get("action"), get("expires"), get("kid"), get("sig"))
    else {
        return Err(RequestError::Incomplete);
    };
    let (Some(action), Ok(expires)) = (Action::parse(action), expires.parse::<u64>()) else {
        return Err(RequestError::BadField);
    };
    Ok(CallbackRequest {
        approval_id: approval_id.to_string(),
        intent,
        link: Link {
            approver: approver.to_string(),
            action,
            expires,
            kid: kid.to_string(),
            sig: sig.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::MAX_FORM_BYTES;

    const ID: &str = "0123456789abcdef0123456789abcdef";
    const FIELDS: &str = "approver=sec%40example.com&action=approve&expires=1800000000&kid=k1&sig=ab";

    fn request(method: &str, path: &str, query: &str, body: &str) -> HttpRequest {
        HttpRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            body: body.into(),
        }
    }

    fn path() -> String {
        format!("/approvals/{ID}")
    }

    #[test]
    fn a_get_of_a_link_is_a_request_to_show_its_approval() {
        let parsed = parse(&request("GET", &path(), FIELDS, "")).unwrap();
        assert_eq!(
            parsed,
            CallbackRequest {
                approval_id: ID.into(),
                intent: Intent::Show,
                link: Link {
                    approver: "sec@example.com".into(),
                    action: Action::Approve,
                    expires: 1_800_000_000,
                    kid: "k1".into(),
                    sig: "ab".into(),
                },
            }
        );
        assert_eq!(parsed.claims().approval_id, ID);
        assert_eq!(
            parse(&request("HEAD", &path(), FIELDS, "")).unwrap().intent,
            Intent::Show
        );
    }

    #[test]
    fn a_post_decides_with_the_fields_of_its_body_not_of_its_query() {
        let parsed = parse(&request("POST", &path(), "", FIELDS)).unwrap();
        assert_eq!(parsed.intent, Intent::Decide);
        assert_eq!(parsed.link.approver, "sec@example.com");
        assert_eq!(
            parse(&request("POST", &path(), FIELDS, "")),
            Err(RequestError::Incomplete)
        );
    }

    #[test]
    fn a_path_that_is_not_an_approval_is_not_found_whatever_the_method() {
        for p in [
            "/",
            "/approvals/",
            "/approvals/0123",
            &format!("/approvals/{ID}0"),
            &format!("/approvals/{}", "g".repeat(32)),
            &format!("/other/{ID}"),
            &format!("/approvals/{ID}/"),
        ] {
            assert_eq!(
                parse(&request("GET", p, FIELDS, "")),
                Err(RequestError::NotFound),
                "{p}"
            );
            assert_eq!(
                parse(&request("PUT", p, FIELDS, "")),
                Err(RequestError::NotFound),
                "{p}"
            );
        }
        assert!(parse(&request(
            "GET",
            &format!("/approvals/{}", ID.to_uppercase()),
            FIELDS,
            ""
        ))
        .is_ok());
    }

    #[test]
    fn methods_other_than_get_head_and_post_are_not_allowed() {
        for m in ["PUT", "DELETE", "PATCH", "OPTIONS", "get", ""] {
            assert_eq!(
                parse(&request(m, &path(), FIELDS, FIELDS)),
                Err(RequestError::MethodNotAllowed),
                "{m}"
            );
        }
    }

    #[test]
    fn a_form_that_cannot_be_parsed_is_refused_with_the_reason() {
        let cases = [
            (format!("{FIELDS}&sig=cd"), FormError::Duplicate("sig")),
            ("approver=%zz".to_string(), FormError::BadEncoding),
            (
                "a".repeat(MAX_FORM_BYTES + 1),
                FormError::TooLarge {
                    size: MAX_FORM_BYTES + 1,
                },
            ),
        ];
        for (form, error) in cases {
            assert_eq!(
                parse(&request("GET", &path(), &form, "")),
                Err(RequestError::BadForm(error.clone())),
                "{error}"
            );
        }
    }

    #[test]
    fn a_link_missing_a_field_is_incomplete_and_one_with_a_bad_action_or_expiry_is_malformed() {
        for missing in ["approver", "action", "expires", "kid", "sig"] {
            let form: Vec<&str> = FIELDS.split('&').filter(|p| !p.starts_with(missing)).collect();
            assert_eq!(
                parse(&request("GET", &path(), &form.join("&"), "")),
                Err(RequestError::Incomplete),
                "{missing}"
            );
        }
        for bad in [
            FIELDS.replace("action=approve", "action=Approve"),
            FIELDS.replace("action=approve", "action=delete"),
            FIELDS.replace("expires=1800000000", "expires=soon"),
            FIELDS.replace("expires=1800000000", "expires=-1"),
        ] {
            assert_eq!(
                parse(&request("GET", &path(), &bad, "")),
                Err(RequestError::BadField),
                "{bad}"
            );
        }
    }
}
