//! `POST /admin/secrets/rotate`: seals every stored secret with the
//! worker's active key (`secrets.encryption.key.id`), so that older keys
//! can then be removed from the key files.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use super::{ApiError, RestState};
use crate::herder::Rotation;

pub(crate) async fn rotate(State(s): State<Arc<RestState>>) -> Result<Json<Rotation>, ApiError> {
    let out = s.herder.rotate_secrets().await?;
    tracing::info!(
        key_id = %out.key_id,
        rewrapped = out.rewrapped.len(),
        failed = out.failed.len(),
        "stored secrets sealed with the active key"
    );
    Ok(Json(out))
}
