//! What the served OpenAPI document says beyond each handler's own annotation: how to
//! authenticate, and the answers every operation can give for want of credentials.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// The one operation that needs no credentials (docs/API.md §2).
const OPEN: &str = "/api/v1/openapi.json";
/// The one operation any valid key or session may call, so it never answers 403.
const ANY_CREDENTIAL: &str = "/api/v1/activity-types";

/// Adds the bearer scheme of docs/API.md §3 and, to every operation that needs
/// credentials, its `401` and (where some credential is not enough) `403`. Done on the
/// whole document so that no handler's annotation can forget them.
pub fn with_credentials(mut doc: OpenApi) -> OpenApi {
    let bearer = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("ctk_...").build();
    doc.components.get_or_insert_with(Default::default).add_security_scheme("api_key", SecurityScheme::Http(bearer));
    for (path, item) in doc.paths.paths.iter_mut().filter(|(path, _)| path.as_str() != OPEN) {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            operation.security = Some(vec![SecurityRequirement::new("api_key", Vec::<String>::new())]);
            let responses = &mut operation.responses.responses;
            responses
                .entry("401".into())
                .or_insert_with(|| error("No credentials, or unknown, revoked or expired ones"));
            if path != ANY_CREDENTIAL {
                responses
                    .entry("403".into())
                    .or_insert_with(|| error("The caller's role or key scope does not allow this"));
            }
        }
    }
    doc
}

fn error(description: &str) -> RefOr<utoipa::openapi::Response> {
    let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorResponse"))).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/json", body).build())
}
