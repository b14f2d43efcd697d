//! Streamed downloads: `GET /api/machines/{id}/export` (one machine's raw samples as
//! CSV or JSON). A blocking task reads pages of rows, each on a pooled connection held
//! only for that page, and hands encoded chunks to the response through a small
//! channel, so an export of any size never sits in memory and stops as soon as the
//! client goes away.

use actix_web::HttpResponse;
use actix_web::web::{self, Bytes};
use lunasentri_schema::api::ErrorBody;
use lunasentri_schema::sample::SCALAR_NAMES;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::access;
use super::extract::Query;
use crate::auth::AuthUser;
use crate::db::{Pool, metrics};
use crate::error::{ApiError, ApiResult};
use crate::state::State;

/// Rows read per page.
const PAGE_ROWS: i64 = 1000;
/// Bytes gathered before a chunk is handed to the response.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks waiting for a slow client before the reader waits too.
const CHANNEL_CHUNKS: usize = 4;

/// The client went away (or the stream broke): stop reading.
#[derive(Debug)]
pub struct Closed;

/// Where a blocking export writes; sends 64 KiB chunks to the response.
pub struct Sink {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl Sink {
    pub fn write(&mut self, data: &[u8]) -> Result<(), Closed> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Closed> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| Closed)
    }
}

/// Why a streamed export stopped early.
#[derive(Debug)]
pub enum StreamError {
    Closed,
    Db(String),
}

impl From<Closed> for StreamError {
    fn from(_: Closed) -> Self {
        StreamError::Closed
    }
}

impl From<diesel::result::Error> for StreamError {
    fn from(e: diesel::result::Error) -> Self {
        StreamError::Db(e.to_string())
    }
}

impl From<diesel::r2d2::PoolError> for StreamError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        StreamError::Db(e.to_string())
    }
}

/// A 200 response whose body `produce` writes from a blocking task. A database error
/// midway aborts the body (the client sees a truncated transfer, never a silent end).
pub fn stream<F>(content_type: &str, filename: Option<String>, produce: F) -> HttpResponse
where
    F: FnOnce(&mut Sink) -> Result<(), StreamError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    actix_web::rt::task::spawn_blocking(move || {
        let mut sink = Sink {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK_BYTES),
        };
        match produce(&mut sink).and_then(|()| sink.flush().map_err(StreamError::from)) {
            Ok(()) | Err(StreamError::Closed) => {}
            Err(StreamError::Db(e)) => {
                tracing::error!(error = %e, "export stopped by a database error");
                let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
            }
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut res = HttpResponse::Ok();
    res.content_type(content_type);
    if let Some(f) = filename {
        res.insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{f}\""),
        ));
    }
    res.streaming(body)
}

/// File format of a machine export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One line per sample: `ts,seq` and every scalar (no per-device detail).
    Csv,
    /// A JSON array of complete samples, as agents send them.
    #[default]
    Json,
}

/// `?format&from&to` of an export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `csv` or `json` (default `json`).
    pub format: Option<Format>,
    /// Start, epoch milliseconds (default: the oldest stored sample).
    pub from: Option<i64>,
    /// End, epoch milliseconds, exclusive (default: everything).
    pub to: Option<i64>,
}

/// Pages through one machine's raw rows in `from <= ts < to`, oldest first.
pub fn for_each_row(
    pool: &Pool,
    machine_id: i64,
    from: i64,
    to: i64,
    mut f: impl FnMut(&metrics::MetricRow) -> Result<(), StreamError>,
) -> Result<(), StreamError> {
    let mut next = from;
    loop {
        let rows = metrics::page(&mut *pool.get()?, machine_id, next, to, PAGE_ROWS)?;
        for r in &rows {
            f(r)?;
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == PAGE_ROWS => next = last.ts + 1,
            _ => return Ok(()),
        }
    }
}

/// The CSV header line.
pub fn csv_header() -> String {
    let mut h = String::from("ts,seq");
    for n in SCALAR_NAMES {
        h.push(',');
        h.push_str(n);
    }
    h.push('\n');
    h
}

/// One CSV line in `SCALAR_NAMES` order; numbers print in their shortest exact form,
/// so they parse back equal.
pub fn csv_line(r: &metrics::MetricRow) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
        r.ts,
        r.seq,
        r.cpu_pct,
        r.mem_used_pct,
        r.disk_used_pct,
        r.net_rx_bytes,
        r.net_tx_bytes,
        r.load1,
        r.load5,
        r.load15,
        r.mem_used_bytes,
        r.mem_total_bytes,
        r.swap_used_bytes,
        r.swap_total_bytes,
        r.disk_read_bps,
        r.disk_write_bps,
        r.net_rx_bps,
        r.net_tx_bps,
        r.uptime_s,
        r.procs,
    )
}

/// Export one machine's raw samples, streamed: CSV or a JSON array.
#[utoipa::path(get, path = "/api/machines/{id}/export", tag = "metrics",
    params(("id" = i64, Path, description = "Machine id"), ExportParams),
    responses((status = 200, description = "CSV (text/csv) or a JSON array of samples", content_type = "application/json"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn machine(
    state: State,
    user: AuthUser,
    id: web::Path<i64>,
    q: Query<ExportParams>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let format = q.format.unwrap_or_default();
    let (from, to) = (q.from.unwrap_or(i64::MIN), q.to.unwrap_or(i64::MAX));
    if from >= to {
        return Err(ApiError::field("from", "must be before to"));
    }
    state
        .db(move |c| access::machine(c, &user, id, "admin_export_machine"))
        .await?;
    let pool = state.pool.clone();
    Ok(match format {
        Format::Csv => stream("text/csv", Some(format!("machine-{id}.csv")), move |out| {
            out.write(csv_header().as_bytes())?;
            for_each_row(&pool, id, from, to, |r| {
                Ok(out.write(csv_line(r).as_bytes())?)
            })
        }),
        Format::Json => stream(
            "application/json",
            Some(format!("machine-{id}.json")),
            move |out| {
                out.write(b"[")?;
                let mut first = true;
                for_each_row(&pool, id, from, to, |r| {
                    if !first {
                        out.write(b",\n")?;
                    }
                    first = false;
                    let json = serde_json::to_vec(&r.to_sample()).unwrap_or_default();
                    Ok(out.write(&json)?)
                })?;
                Ok(out.write(b"]\n")?)
            },
        ),
    })
}
