//! The frame around every signed-in page: the firm, who is signed in, the sign-out
//! form's CSRF token, and the time zone the page's times are shown in.

use casetrail_store::Account;

use super::{OrErrorPage, PageError};
use crate::AppState;
use crate::auth::{Credential, Principal};
use crate::error::ApiResult;

/// What the page header shows.
#[derive(Debug, Clone)]
pub struct Shell {
    pub firm: String,
    pub user_name: String,
    pub user_email: String,
    pub initials: String,
    pub csrf: String,
    /// The IANA name of the account's time zone.
    pub timezone: String,
}

impl Shell {
    /// The shell for a signed-in reader, with their account.
    pub async fn load(state: &AppState, principal: &Principal) -> ApiResult<(Shell, Account)> {
        let account = state.account(principal.account_id).await?;
        let (user_name, user_email, csrf) = match &principal.credential {
            Credential::Session { session, user } => {
                (user.name.clone(), user.email.clone(), session.csrf_token.clone())
            }
            Credential::Key(_) => (String::new(), String::new(), String::new()),
        };
        let shell = Shell {
            firm: account.name.clone(),
            initials: super::format::initials(&user_name),
            user_name,
            user_email,
            csrf,
            timezone: account.timezone.name().to_string(),
        };
        Ok((shell, account))
    }

    /// [`Shell::load`] for a page handler: a failure is the unframed 500 page.
    pub async fn for_page(state: &AppState, principal: &Principal) -> Result<(Shell, Account), PageError> {
        Shell::load(state, principal).await.or_error_page(None, "load the account for a page")
    }
}
