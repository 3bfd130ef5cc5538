//! Pages on another origin ([`Cors`], `ChatKitEndpoint::cors`): ChatKit usually runs on
//! the app's origin while the API lives on another (`app.example.com` →
//! `api.example.com/chatkit`). The endpoint then answers the browser's CORS preflights
//! and marks its answers (JSON, event streams, uploads, previews, devtools) for the
//! origins you list, through `tower-http`'s CORS layer.

use std::time::Duration;

use axum::http::{HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// The origins whose pages may call the endpoint, and whether with credentials.
///
/// Requests from other origins get no CORS headers, so browsers refuse their answers
/// (and their preflights fail): the list is the whole policy. Request headers are
/// allowed as the preflight asks for them (your authentication header included, and
/// `Last-Event-ID` for resumes); methods `GET`, `POST` and `PUT`.
///
/// **Credentials.** With [`credentials(true)`](Self::credentials) browsers send cookies
/// and HTTP authentication (the page's `fetch` needs `credentials: "include"`); keep it
/// off when your pages send a bearer token in a header, which needs no credentials mode.
///
/// ```
/// use chatkit_agents::http::Cors;
/// let cors = Cors::allow_origins(["https://app.example.com", "http://localhost:5173"])
///     .expect("origins")
///     .credentials(true);
/// # let _ = cors;
/// assert!(Cors::allow_origins(["*"]).is_err()); // list the origins
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Vec<HeaderValue>,
    credentials: bool,
    max_age: Duration,
}

/// An entry of [`Cors::allow_origins`] that is not an origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{origin:?} is not an origin: write scheme://host[:port] (http or https, no path, no wildcard)"
)]
pub struct InvalidOrigin {
    /// The entry.
    pub origin: String,
}

/// The default [`Cors::max_age`]: browsers reuse a preflight's answer for 10 minutes.
pub const DEFAULT_CORS_MAX_AGE: Duration = Duration::from_secs(600);

impl Cors {
    /// Allows pages of `origins` (`https://app.example.com`; exact, no wildcard).
    pub fn allow_origins<I, O>(origins: I) -> Result<Cors, InvalidOrigin>
    where
        I: IntoIterator<Item = O>,
        O: AsRef<str>,
    {
        let origins = origins
            .into_iter()
            .map(|origin| origin_header(origin.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cors {
            origins,
            credentials: false,
            max_age: DEFAULT_CORS_MAX_AGE,
        })
    }

    /// Lets browsers send cookies and HTTP authentication (default off).
    pub fn credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// How long browsers may reuse a preflight's answer (default
    /// [`DEFAULT_CORS_MAX_AGE`]).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    pub(super) fn layer(&self) -> CorsLayer {
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(self.origins.clone()))
            .allow_methods([Method::GET, Method::POST, Method::PUT])
            .allow_headers(AllowHeaders::mirror_request())
            .allow_credentials(self.credentials)
            .max_age(self.max_age)
    }
}

/// `scheme://host[:port]`, as browsers send it in `Origin`.
fn origin_header(origin: &str) -> Result<HeaderValue, InvalidOrigin> {
    let invalid = || InvalidOrigin {
        origin: origin.to_owned(),
    };
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let host_ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
    if !host_ok {
        return Err(invalid());
    }
    HeaderValue::from_str(origin).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked() {
        for good in [
            "https://app.example.com",
            "http://localhost:5173",
            "http://127.0.0.1:8000",
            "http://[::1]:3000",
        ] {
            Cors::allow_origins([good]).unwrap();
        }
        for bad in [
            "*",
            "https://*.example.com",
            "https://app.example.com/",
            "https://a/b",
            "ftp://x",
            "app.example.com",
            "https://",
            "http://a b",
            "http://a\r\nx: y",
        ] {
            assert_eq!(
                Cors::allow_origins([bad]).unwrap_err(),
                InvalidOrigin { origin: bad.into() },
                "{bad:?}"
            );
        }
    }
}
