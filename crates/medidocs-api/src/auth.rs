//! Who is calling. Locally: HS256 development tokens signed with a key kept in the data dir
//! (`medidocs token`). In AWS: API Gateway's JWT authorizer has verified the Cognito token
//! and the function reads the verified claims it passes along (`GatewayClaims`).

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, header};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use medidocs_core::access::{Principal, Role, validate_subject};
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

/// Turns a request's headers (and, behind API Gateway, its verified claims) into a caller.
pub trait Authenticator: Send + Sync {
    fn authenticate(
        &self,
        headers: &HeaderMap,
        claims: Option<&Claims>,
    ) -> Result<Principal, Problem>;
}

/// Claims already verified upstream (API Gateway's JWT authorizer), as strings.
#[derive(Debug, Clone, Default)]
pub struct Claims(pub HashMap<String, String>);

/// The role from verified claims: `custom:role`, `role`, or a Cognito group named after a
/// role (`cognito:groups` arrives as `[doctor]` or `doctor` depending on the token).
pub fn role_from_claims(claims: &Claims) -> Option<Role> {
    let c = &claims.0;
    if let Some(r) = c.get("custom:role").or_else(|| c.get("role")) {
        return Role::parse(r.trim());
    }
    let groups = c.get("cognito:groups")?;
    let roles: Vec<Role> = groups
        .trim_matches(|ch| ch == '[' || ch == ']')
        .split([',', ' '])
        .filter_map(|g| Role::parse(g.trim().trim_matches('"')))
        .collect();
    // A token in two role groups is ambiguous: refuse rather than guess.
    match roles.as_slice() {
        [one] => Some(*one),
        _ => None,
    }
}

/// Who a verified token names. User pools are regional and each gives its own `sub`, so an
/// account created in both regions' pools carries one stable id in `custom:medidocs_id`
/// (ID tokens carry custom attributes); without it, the `sub` is the id.
pub fn principal_id(claims: &Claims) -> Result<String, Problem> {
    let id = claims
        .0
        .get("custom:medidocs_id")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| claims.0.get("sub"))
        .cloned()
        .ok_or_else(|| Problem::unauthenticated("malformed_token", "the token has no subject"))?;
    validate_subject(&id).map_err(|e| Problem::unauthenticated("malformed_token", e))?;
    Ok(id)
}

/// The longest a token may live: `exp` at most this long after `iat`.
pub const MAX_TOKEN_LIFETIME: u64 = 30 * 86_400;
/// How far a token's `iat` or `nbf` may be ahead of this server's clock.
pub const CLOCK_SKEW: u64 = 60;

/// The server's own bounds on a token's times, whatever its issuer chose: issued (`iat`)
/// and valid from (`nbf`) no later than now plus [`CLOCK_SKEW`], expiring (`exp`) at most
/// [`MAX_TOKEN_LIFETIME`] after it was issued. `exp` itself is checked by the verifier.
pub fn check_token_times(
    iat: Option<u64>,
    nbf: Option<u64>,
    exp: u64,
    now: u64,
) -> Result<(), Problem> {
    let iat = iat.ok_or_else(|| {
        Problem::unauthenticated(
            "malformed_token",
            "the token does not say when it was issued",
        )
    })?;
    if iat > now + CLOCK_SKEW || nbf.is_some_and(|n| n > now + CLOCK_SKEW) {
        return Err(Problem::unauthenticated(
            "token_not_yet_valid",
            "the token is not valid yet",
        ));
    }
    if exp.saturating_sub(iat) > MAX_TOKEN_LIFETIME {
        return Err(Problem::unauthenticated(
            "token_lifetime_too_long",
            "the token lives longer than 30 days",
        ));
    }
    Ok(())
}

/// Behind API Gateway: the authorizer verified signature, expiry, issuer and audience.
pub struct GatewayClaims;

impl Authenticator for GatewayClaims {
    fn authenticate(
        &self,
        _headers: &HeaderMap,
        claims: Option<&Claims>,
    ) -> Result<Principal, Problem> {
        let claims = claims.ok_or_else(|| {
            Problem::unauthenticated("missing_token", "the request carries no verified token")
        })?;
        let sub = principal_id(claims)?;
        // The authorizer checked `exp` and `nbf` against its clock; the lifetime and
        // an `iat` in the future are this service's rules.
        let time = |k: &str| claims.0.get(k).and_then(|v| v.trim().parse::<u64>().ok());
        let exp = time("exp").ok_or_else(|| {
            Problem::unauthenticated("malformed_token", "the token does not say when it expires")
        })?;
        check_token_times(time("iat"), time("nbf"), exp, now())?;
        let role = role_from_claims(claims).ok_or_else(|| {
            Problem::forbidden(
                "no_role",
                "the token names no single role (patient, doctor or staff)",
            )
        })?;
        Ok(Principal { sub, role })
    }
}

/// What a development token says.
#[derive(Debug, Serialize, Deserialize)]
struct TokenClaims {
    sub: String,
    role: String,
    iss: String,
    aud: String,
    iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    exp: u64,
}

const ISSUER: &str = "medidocs-local";
const AUDIENCE: &str = "medidocs-api";

/// Signs and verifies development tokens (HS256) with a key from the data dir.
pub struct DevTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl DevTokens {
    pub fn new(key: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
        }
    }

    /// A token for `sub` in `role`, valid for `ttl`.
    pub fn mint(&self, sub: &str, role: Role, ttl: Duration) -> Result<String, String> {
        let iat = now();
        self.mint_between(sub, role, iat, iat + ttl.as_secs())
    }

    /// A token issued and expiring at the given Unix times (seconds).
    pub fn mint_between(
        &self,
        sub: &str,
        role: Role,
        iat: u64,
        exp: u64,
    ) -> Result<String, String> {
        self.mint_with(sub, role, Some(iat), None, exp)
    }

    /// A token with every time claim chosen (`iat` and `nbf` may be left out).
    pub fn mint_with(
        &self,
        sub: &str,
        role: Role,
        iat: Option<u64>,
        nbf: Option<u64>,
        exp: u64,
    ) -> Result<String, String> {
        validate_subject(sub)?;
        let claims = TokenClaims {
            sub: sub.into(),
            role: role.as_str().into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat,
            nbf,
            exp,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| e.to_string())
    }

    pub fn verify(&self, token: &str) -> Result<Principal, Problem> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[ISSUER]);
        v.set_audience(&[AUDIENCE]);
        v.leeway = 30;
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data =
            jsonwebtoken::decode::<TokenClaims>(token, &self.decoding, &v).map_err(|e| match e
                .kind()
            {
                ErrorKind::ExpiredSignature => {
                    Problem::unauthenticated("expired_token", "the token has expired")
                }
                ErrorKind::InvalidSignature => Problem::unauthenticated(
                    "bad_signature",
                    "the token's signature does not verify",
                ),
                ErrorKind::InvalidAlgorithm => Problem::unauthenticated(
                    "bad_signature",
                    "the token is not signed with the expected algorithm",
                ),
                ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience => Problem::unauthenticated(
                    "bad_signature",
                    "the token was not issued for this service",
                ),
                _ => Problem::unauthenticated("malformed_token", "the token cannot be read"),
            })?;
        let c = data.claims;
        check_token_times(c.iat, c.nbf, c.exp, now())?;
        let role = Role::parse(&c.role).ok_or_else(|| {
            Problem::forbidden(
                "no_role",
                "the token names no role (patient, doctor or staff)",
            )
        })?;
        validate_subject(&c.sub).map_err(|e| Problem::unauthenticated("malformed_token", e))?;
        Ok(Principal { sub: c.sub, role })
    }
}

/// The bearer token of a request, or why there is none.
pub fn bearer(headers: &HeaderMap) -> Result<&str, Problem> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        Problem::unauthenticated("missing_token", "send Authorization: Bearer <token>")
    })?;
    let value = value.to_str().map_err(|_| {
        Problem::unauthenticated("malformed_token", "the Authorization header is not text")
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(Problem::unauthenticated(
            "malformed_token",
            "the Authorization header is not a bearer token",
        )),
    }
}

impl Authenticator for DevTokens {
    fn authenticate(
        &self,
        headers: &HeaderMap,
        _claims: Option<&Claims>,
    ) -> Result<Principal, Problem> {
        self.verify(bearer(headers)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(pairs: &[(&str, &str)]) -> Claims {
        Claims(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn roles_from_cognito_claims() {
        assert_eq!(
            role_from_claims(&c(&[("cognito:groups", "[doctor]")])),
            Some(Role::Doctor)
        );
        assert_eq!(
            role_from_claims(&c(&[("cognito:groups", "staff")])),
            Some(Role::Staff)
        );
        assert_eq!(
            role_from_claims(&c(&[("custom:role", "patient")])),
            Some(Role::Patient)
        );
        assert_eq!(
            role_from_claims(&c(&[("cognito:groups", "[doctor staff]")])),
            None
        );
        assert_eq!(
            role_from_claims(&c(&[("cognito:groups", "[admins]")])),
            None
        );
        assert_eq!(role_from_claims(&c(&[])), None);
    }

    #[test]
    fn the_stable_id_outlives_the_regional_subject() {
        let both = c(&[("sub", "9f1c-us-east-1"), ("custom:medidocs_id", "p-1234")]);
        assert_eq!(principal_id(&both).unwrap(), "p-1234");
        assert_eq!(principal_id(&c(&[("sub", "9f1c")])).unwrap(), "9f1c");
        let blank = c(&[("sub", "9f1c"), ("custom:medidocs_id", " ")]);
        assert_eq!(principal_id(&blank).unwrap(), "9f1c");
        assert!(principal_id(&c(&[("custom:medidocs_id", "../x")])).is_err());
        assert!(principal_id(&c(&[])).is_err());
    }

    #[test]
    fn tokens_verify_with_their_key_only() {
        let a = DevTokens::new(b"0123456789abcdef0123456789abcdef");
        let b = DevTokens::new(b"fedcba9876543210fedcba9876543210");
        let t = a
            .mint("d-17", Role::Doctor, Duration::from_secs(60))
            .unwrap();
        let p = a.verify(&t).unwrap();
        assert_eq!((p.sub.as_str(), p.role), ("d-17", Role::Doctor));
        assert_eq!(b.verify(&t).unwrap_err().code, "bad_signature");
        assert_eq!(a.verify("not.a.token").unwrap_err().code, "malformed_token");
        assert!(
            a.mint("../x", Role::Doctor, Duration::from_secs(60))
                .is_err()
        );
    }

    #[test]
    fn token_times_are_bounded_by_the_server() {
        let a = DevTokens::new(b"0123456789abcdef0123456789abcdef");
        let now = now();
        let code = |iat: Option<u64>, nbf: Option<u64>, exp: u64| {
            let t = a.mint_with("d-1", Role::Doctor, iat, nbf, exp).unwrap();
            a.verify(&t).err().map(|p| p.code)
        };
        assert_eq!(code(Some(now), None, now + 3600), None);
        assert_eq!(code(Some(now), None, now + MAX_TOKEN_LIFETIME), None);
        assert_eq!(
            code(Some(now), None, now + 100 * 365 * 86_400).as_deref(),
            Some("token_lifetime_too_long")
        );
        assert_eq!(
            code(Some(now + 3600), None, now + 7200).as_deref(),
            Some("token_not_yet_valid")
        );
        assert_eq!(
            code(Some(now), Some(now + 3600), now + 7200).as_deref(),
            Some("token_not_yet_valid")
        );
        assert_eq!(code(Some(now + 30), Some(now + 30), now + 3600), None);
        assert_eq!(
            code(None, None, now + 3600).as_deref(),
            Some("malformed_token")
        );
        // Behind API Gateway, the same bounds on the verified claims.
        let gw = |pairs: &[(&str, String)]| {
            let mut claims: Vec<(&str, &str)> = vec![("sub", "d-1"), ("custom:role", "doctor")];
            claims.extend(pairs.iter().map(|(k, v)| (*k, v.as_str())));
            GatewayClaims
                .authenticate(&HeaderMap::new(), Some(&c(&claims)))
                .err()
                .map(|p| p.code)
        };
        assert_eq!(
            gw(&[("iat", now.to_string()), ("exp", (now + 3600).to_string())]),
            None
        );
        assert_eq!(
            gw(&[
                ("iat", now.to_string()),
                ("exp", (now + 40 * 86_400).to_string())
            ])
            .as_deref(),
            Some("token_lifetime_too_long")
        );
    }
}
