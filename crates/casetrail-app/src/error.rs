//! Why an operation of the application did not happen, in terms any adapter (HTTP,
//! pages, the command line) can show.

use casetrail_core::FieldError;
use casetrail_store::StoreError;

/// The error of every operation in this crate.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input was refused; every bad member is named.
    #[error("invalid input: {}", first_problem(.0))]
    Invalid(Vec<FieldError>),
    /// The thing named (`"user"`, `"hold"`, ...) does not exist in the caller's account.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The request is sound, but the account's state does not allow it; the message
    /// says why, in words for the caller.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(StoreError),
    /// Anything else that failed on our side; for logs only.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn first_problem(errors: &[FieldError]) -> String {
    errors.first().map_or_else(|| "invalid request".to_string(), |e| format!("{}: {}", e.field, e.message))
}

impl AppError {
    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> AppError {
        match err {
            StoreError::UnknownAccount => AppError::NotFound("account"),
            other => AppError::Store(other),
        }
    }
}

impl From<crate::writer::WriteError> for AppError {
    fn from(err: crate::writer::WriteError) -> AppError {
        match err {
            // Kept a store error, so every adapter tells "try again soon" from a failure.
            crate::writer::WriteError::Store(store) if matches!(*store, StoreError::Unavailable(_)) => {
                AppError::Store(StoreError::Unavailable(Box::new(store)))
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl AppError {
    /// Whether the operation failed only because the database is out of reach.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, AppError::Store(StoreError::Unavailable(_)))
    }
}

pub type AppResult<T> = Result<T, AppError>;
