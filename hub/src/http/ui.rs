//! The dashboard (built into `frontend/dist`, embedded in release builds), SPA route
//! fallback, the agent installer at `/install.sh` and agent binaries at `/downloads/`.

use std::path::{Component, Path, PathBuf};

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;

use crate::error::ApiError;
use crate::state::State;

/// The built dashboard. Debug builds read `frontend/dist` from disk; release builds carry it.
#[derive(RustEmbed)]
#[folder = "../frontend/dist"]
#[allow_missing = true]
struct Assets;

/// The agent installer, served as-is.
const INSTALL_SH: &str = include_str!("../../../agent/install.sh");

const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>LunaSentri</title>\
<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>LunaSentri hub is running</h1>\
<p>The dashboard has not been built. Run <code>make run</code> (or <code>cd frontend &amp;&amp; npm ci &amp;&amp; \
npm run build</code>) and reload. The REST API is at <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p>";

fn mime_for(path: &str) -> &'static str {
    match Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A relative path without `..`, or `None`.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path.trim_start_matches('/'));
    p.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| p.to_path_buf())
}

fn load(dir: Option<&Path>, rel: &str) -> Option<Vec<u8>> {
    let rel_path = safe_relative(rel)?;
    match dir {
        Some(d) => std::fs::read(d.join(rel_path)).ok(),
        None => Assets::get(rel).map(|f| f.data.into_owned()),
    }
}

fn file_response(path: &str, body: Vec<u8>) -> HttpResponse {
    // Vite puts content hashes in names under assets/: cache those forever.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, mime_for(path)))
        .insert_header((CACHE_CONTROL, cache))
        .body(body)
}

/// Everything no route matched: API paths get a JSON 404, the rest is the dashboard.
pub async fn fallback(state: State, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let path = req.path();
    if path.starts_with("/api/") || path.starts_with("/agent/") || path == "/api" {
        return Err(ApiError::NotFound("endpoint"));
    }
    let dir = state.config.ui_dir_or_default();
    let rel = path.trim_start_matches('/');
    if !rel.is_empty()
        && let Some(body) = load(dir.as_deref(), rel)
    {
        return Ok(file_response(rel, body));
    }
    if rel.starts_with("assets/") {
        return Err(ApiError::NotFound("asset"));
    }
    match load(dir.as_deref(), "index.html") {
        Some(body) => Ok(file_response("index.html", body)),
        None => Ok(HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(NOT_BUILT)),
    }
}

/// `GET /install.sh`: the agent installer.
pub async fn install_sh() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/x-shellscript; charset=utf-8")
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(INSTALL_SH)
}

/// `GET /downloads/lunasentri-agent-{os}-{arch}`: the agent binary this hub ships.
/// The hub serves the agent built for its own platform, found beside its executable.
pub async fn download(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let own = format!(
        "lunasentri-agent-{}-{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    );
    if *name != own {
        return Err(ApiError::NotFound("agent binary for that platform"));
    }
    let exe = std::env::current_exe().map_err(|e| ApiError::Internal(e.to_string()))?;
    let path = exe.with_file_name("lunasentri-agent");
    let body = web::block(move || std::fs::read(path))
        .await?
        .map_err(|_| ApiError::NotFound("agent binary"))?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .body(body))
}
