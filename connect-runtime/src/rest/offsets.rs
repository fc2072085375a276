//! `GET|PATCH|DELETE /connectors/{c}/offsets` for source connectors, with
//! Kafka Connect's bodies (`{"offsets":[{"partition":{..},"offset":{..}}]}`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use sluice_connect_api::OffsetMap;

use super::{ApiError, RestState, body};

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Entry {
    partition: OffsetMap,
    offset: Option<OffsetMap>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Offsets {
    offsets: Vec<Entry>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Message {
    message: &'static str,
}

pub(crate) async fn get_offsets(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<Json<Offsets>, ApiError> {
    let all = s.herder.offsets(&name).await?;
    Ok(Json(Offsets {
        offsets: all
            .into_iter()
            .map(|(partition, offset)| Entry {
                partition,
                offset: Some(offset),
            })
            .collect(),
    }))
}

pub(crate) async fn alter_offsets(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
    body::RawBody(bytes): body::RawBody,
) -> Result<Json<Message>, ApiError> {
    let req: Offsets = body::parse(&bytes)?;
    if req.offsets.is_empty() {
        return Err(ApiError::bad_request(
            "The offsets to be altered may not be null or empty",
        ));
    }
    let entries = req
        .offsets
        .into_iter()
        .map(|e| (e.partition, e.offset))
        .collect();
    s.herder.alter_offsets(&name, entries).await?;
    Ok(Json(Message {
        message: "The Connect framework-managed offsets for this connector have been altered successfully. \
                  However, if this connector manages offsets externally, they will need to be manually altered in the system that the connector uses.",
    }))
}

pub(crate) async fn reset_offsets(
    State(s): State<Arc<RestState>>,
    Path(name): Path<String>,
) -> Result<Json<Message>, ApiError> {
    s.herder.reset_offsets(&name).await?;
    Ok(Json(Message {
        message: "The Connect framework-managed offsets for this connector have been reset successfully. \
                  However, if this connector manages offsets externally, they will need to be manually reset in the system that the connector uses.",
    }))
}
