//! The page's routes: its three assets, the status, a transaction, and the events.

use super::events;
use crate::network::Network;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/style.css");

pub fn router(network: Arc<Network>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(INDEX) }))
        .route(
            "/app.js",
            get(|| async { asset("text/javascript", SCRIPT) }),
        )
        .route("/style.css", get(|| async { asset("text/css", STYLE) }))
        .route("/api/status", get(status))
        .route("/api/tx/{channel}/{tx_id}", get(transaction))
        .route("/api/events", get(events::stream))
        .with_state(network)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// An error as the page shows it: `{"error": "..."}`.
fn failed(status: StatusCode, error: crate::Error) -> Response {
    let body = serde_json::json!({ "error": error.to_string() });
    (status, Json(body)).into_response()
}

async fn status(State(network): State<Arc<Network>>) -> Response {
    match network.status().await {
        Ok(status) => Json(status).into_response(),
        Err(e) => failed(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}

async fn transaction(
    State(network): State<Arc<Network>>,
    Path((channel, tx_id)): Path<(String, String)>,
) -> Response {
    match network.transaction(Some(&channel), &tx_id).await {
        Ok(tx) => Json(tx).into_response(),
        Err(e @ (crate::Error::BadInput { .. } | crate::Error::UnknownChannel { .. })) => {
            failed(StatusCode::NOT_FOUND, e)
        }
        Err(e) => failed(StatusCode::SERVICE_UNAVAILABLE, e),
    }
}
