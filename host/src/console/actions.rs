//! The console's two actions: replay one dead letter, or every dead letter
//! of one reason, each back onto the source it was read from (as
//! `switchyard replay` does, with the same one-step move).
//!
//! Off by default. They exist only when the config says `[console] actions
//! = true` and the environment variable `[console] token-env` names
//! (`SWITCHYARD_CONSOLE_TOKEN` unless it names another) holds a bearer token
//! of at least [`MIN_TOKEN_LEN`] characters; `actions = true` without one
//! refuses to start. A request must carry `Authorization: Bearer TOKEN`
//! (compared in constant time) and say who sends it (`by`); every action
//! is logged with who, what, and what moved.

use std::sync::Arc;

use anyhow::{anyhow, bail};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json as JsonResponse, Response};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{Console, answer, bearer};
use crate::cli::replay::{Destination, Letter, REPLAY_SCRIPT, replay as replay_all, source_stream};
use crate::config::{Role, Settings, streams_of};
use crate::pipeline::settle::{REASON_FIELD, SOURCE_FIELD};
use crate::store::BlockingConn;

/// The shortest bearer token the actions accept.
pub const MIN_TOKEN_LEN: usize = 16;

/// The actions' bearer token, when they are on.
pub struct Actions {
    token: String,
}

impl Actions {
    /// The actions `settings` turn on: `None` when off; an error naming the
    /// config file and the variable when on without a usable token.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Option<Actions>> {
        if !settings.console.actions {
            return Ok(None);
        }
        let name = &settings.console.token_env;
        let token = std::env::var(name).unwrap_or_default();
        if token.trim().chars().count() < MIN_TOKEN_LEN {
            bail!(
                "{}: [console] actions = true needs a bearer token of at least {MIN_TOKEN_LEN} characters in the environment variable {name}, which is {}",
                settings.file.display(),
                if token.is_empty() {
                    "unset or empty"
                } else {
                    "too short"
                }
            );
        }
        Ok(Some(Actions {
            token: token.trim().to_owned(),
        }))
    }

    fn allows(&self, presented: Option<&str>) -> bool {
        presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(self.token.as_bytes())))
    }
}

/// `POST /api/actions/replay`: `{"stream": DEAD-LETTER STREAM, "id": ID,
/// "by": WHO}` replays one; `{"stream", "reason", "by"}` every one whose
/// reason is exactly that.
#[derive(Debug, Deserialize)]
pub struct ReplayRequest {
    stream: String,
    id: Option<String>,
    reason: Option<String>,
    by: String,
}

pub(super) async fn replay(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    axum::Json(request): axum::Json<ReplayRequest>,
) -> Response {
    let refuse = |status: StatusCode, error: String| {
        tracing::warn!(stream = %request.stream, by = %request.by, "console action refused: {error}");
        (status, JsonResponse(json!({ "error": error }))).into_response()
    };
    let Some(actions) = &console.actions else {
        return refuse(
            StatusCode::FORBIDDEN,
            "the console's actions are off; set [console] actions = true and a bearer token to turn them on".into(),
        );
    };
    if !actions.allows(bearer(&headers)) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token (Authorization: Bearer TOKEN)".into(),
        );
    }
    if request.by.trim().is_empty() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "say who replays: `by` is empty".into(),
        );
    }
    answer(console, move |_, conn, settings| {
        let stream = &request.stream;
        if !streams_of(&settings.routes)
            .iter()
            .any(|(s, role)| s == stream && *role == Role::DeadLetters)
        {
            bail!("{stream} is not a dead-letter stream of any route");
        }
        let sources = settings.sources();
        let by = request.by.trim();
        match (&request.id, &request.reason) {
            (Some(id), None) => {
                let to = replay_one(conn, stream, id, &sources)?;
                tracing::info!(%by, %stream, entry = %id, %to, "console: replayed one dead letter");
                Ok(json!({ "replayed": 1, "to": to }))
            }
            (None, Some(reason)) => {
                let filter = (REASON_FIELD.to_owned(), reason.clone());
                let destination = Destination::OwnSource(sources);
                let tally = replay_all(conn, stream, &destination, usize::MAX, Some(&filter), false)?;
                tracing::info!(%by, %stream, %reason, moved = tally.total(), "console: replayed the dead letters of one reason: {}", tally.describe(stream));
                Ok(json!({ "replayed": tally.total(), "moved": tally.moved, "left": tally.left }))
            }
            _ => bail!("give either `id` (one dead letter) or `reason` (all of one reason)"),
        }
    })
    .await
}

/// Moves dead letter `id` of `stream` back to the source it was read from;
/// returns that source.
fn replay_one(
    conn: &mut BlockingConn,
    stream: &str,
    id: &str,
    sources: &[String],
) -> anyhow::Result<String> {
    let letter: Vec<Letter> = redis::cmd("XRANGE")
        .arg(stream)
        .arg(id)
        .arg(id)
        .query(conn)?;
    let (_, fields) = letter
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("stream {stream} has no dead letter {id} (replayed already?)"))?;
    let source = fields
        .iter()
        .find(|(k, _)| k == SOURCE_FIELD)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .ok_or_else(|| anyhow!("dead letter {id} of {stream} has no {SOURCE_FIELD} field"))?;
    let to = source_stream(&source);
    if !sources.iter().any(|s| s == to) {
        bail!("dead letter {id} of {stream} came from {to}, which no route reads");
    }
    let moved: i64 = redis::Script::new(REPLAY_SCRIPT)
        .key(stream)
        .key(to)
        .arg(id)
        .invoke(conn)?;
    match moved {
        1 => Ok(to.to_owned()),
        -1 => bail!("dead letter {id} of {stream} has no job fields to replay"),
        _ => bail!("stream {stream} has no dead letter {id} (replayed already?)"),
    }
}
