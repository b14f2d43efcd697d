//! The OpenAPI document, generated from the handlers' annotations and the schema types
//! (including the WebSocket frames), served at `/api/openapi.json` and committed as
//! `docs/api/openapi.json` (a test keeps the copy current).

use actix_web::HttpResponse;
use lunasentri_schema::{agent, alert, api, live, sample};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    admin, agent as agent_http, alert_events, alert_rules, auth, channels, enrollment, export,
    live as live_http, machines, me, metrics, ops, users,
};

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("lunasentri_session"))),
        );
        c.add_security_scheme(
            "api_key",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        c.add_security_scheme(
            "enrollment_token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The whole API.
#[derive(OpenApi)]
#[openapi(
    info(title = "LunaSentri hub API", description = "REST API, agent link and live socket of the LunaSentri hub."),
    paths(
        auth::login, auth::logout, auth::me, auth::change_password,
        users::list, users::create, users::update, users::delete,
        machines::list, machines::create, machines::get, machines::update, machines::delete,
        machines::rotate_key, machines::revoke_key, machines::latest, machines::history,
        export::machine, metrics::overview, me::export, me::delete,
        enrollment::list, enrollment::create, enrollment::delete,
        admin::audit_log, admin::get_retention, admin::put_retention,
        alert_rules::list, alert_rules::create, alert_rules::get, alert_rules::update, alert_rules::delete,
        alert_events::list, alert_events::get, alert_events::acknowledge,
        channels::list, channels::create, channels::delete, channels::test,
        agent_http::stream, agent_http::post_metrics, agent_http::health, agent_http::register,
        live_http::live,
        ops::healthz, ops::readyz, ops::metrics,
    ),
    components(schemas(
        sample::Sample, sample::DiskSample, sample::IfaceSample, sample::TempSample, sample::ProcSample,
        agent::AgentFrame, agent::Hello, agent::HubFrame,
        live::LiveClientFrame, live::LiveFrame, live::MachineSnapshot, live::MachineStatus,
        api::ErrorBody, api::ErrorDetail, api::Role, api::User, api::Machine, api::MetricSeries, api::Band,
        api::RetentionSettings, export::Format,
        alert::AlertRule, alert::AlertRuleInput, alert::AlertEvent, alert::AlertState, alert::Delivery,
        alert::Comparator, alert::Severity, alert::QuietHours, alert::Channel, alert::ChannelConfig,
        alert::CreateChannel, alert::ChannelTestResult,
    )),
    modifiers(&Security),
    security(("session" = [])),
)]
pub struct ApiDoc;

/// The document as pretty JSON.
pub fn json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

/// `GET /api/openapi.json`.
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(json())
}
