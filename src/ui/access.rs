//! Who may use the page: a request must carry the access token (the printed URL's
//! `?token=`, then the HttpOnly SameSite=Strict cookie it sets, or the `X-Ferry-Token`
//! header), name this server in its Host header (no DNS rebinding), and, when it changes
//! something (any method but GET and HEAD), carry the header or come from this page's
//! own Origin: a cookie alone does not let another site post here.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;

pub const TOKEN_HEADER: &str = "x-ferry-token";
const COOKIE: &str = "ferry_token";

pub async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !app.hosts.iter().any(|h| h == host) {
        return refuse("this page answers only to 127.0.0.1 and localhost");
    }
    let by_query = query_token(req.uri().query()).is_some_and(|t| same(&t, &app.token));
    let by_header = headers
        .get(TOKEN_HEADER)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|t| same(t, &app.token));
    let by_cookie = cookie_token(headers).is_some_and(|t| same(&t, &app.token));
    if !(by_query || by_header || by_cookie) {
        return refuse("no access token: open the address `ferry ui` printed");
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    if !safe && !by_header {
        let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
        if origin != Some(app.origin.as_str()) {
            return refuse("a cross-site request is refused");
        }
    }
    if by_query && safe && !by_cookie {
        let cookie = format!("{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/", app.token);
        // The page itself: drop the token from the address bar once the cookie holds it.
        if req.uri().path() == "/" {
            return (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, "/".to_string()),
                    (header::SET_COOKIE, cookie),
                ],
            )
                .into_response();
        }
        let mut response = next.run(req).await;
        if let Ok(v) = cookie.parse() {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
        return harden(response);
    }
    harden(next.run(req).await)
}

/// Nothing from elsewhere runs in the page, nothing frames it, nothing is cached.
fn harden(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        h.insert(name, header::HeaderValue::from_static(value));
    }
    response
}

fn refuse(why: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("403 forbidden: {why}\n"),
    )
        .into_response()
}

fn query_token(query: Option<&str>) -> Option<String> {
    query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("token="))
        .map(str::to_string)
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .find_map(|kv| kv.trim().strip_prefix("ferry_token="))
        .map(str::to_string)
}

/// Equal strings, compared in a time that does not depend on where they differ.
fn same(given: &str, token: &str) -> bool {
    given.len() == token.len()
        && given
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_and_compared() {
        assert_eq!(query_token(Some("a=1&token=abc")), Some("abc".into()));
        assert_eq!(query_token(Some("tokens=abc")), None);
        assert!(same("abc", "abc"));
        assert!(!same("abd", "abc"));
        assert!(!same("ab", "abc"));
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "x=1; ferry_token=t0k".parse().unwrap());
        assert_eq!(cookie_token(&h), Some("t0k".into()));
    }
}
