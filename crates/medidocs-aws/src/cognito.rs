//! A Cognito user pool as the identity sync's [`AccountDirectory`]: its accounts read a
//! page at a time (`ListUsers`, then each group's members with `ListUsersInGroup`, so a
//! pool of n accounts takes about n/60 reads, not one per account), and the sync's changes
//! made with the administrators' calls. Calls are paced below Cognito's request-rate
//! quotas, which every pool of the account in the region shares with sign-ups and
//! sign-ins (docs/dr-runbook.md, "Identity"): the sync must never starve them.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::error::ProvideErrorMetadata;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, MessageActionType, UserStatusType, UserType,
};
use medidocs_core::identity::{Account, AccountDirectory, Action, ID_ATTRIBUTE, ORIGIN_ATTRIBUTE};
use medidocs_core::ports::StoreError;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::describe;

/// The groups the service gives meaning to (`core::access::Role`); other groups are not
/// copied.
pub const ROLE_GROUPS: &[&str] = &["patient", "doctor", "staff"];

/// Cognito's largest page of `ListUsers` and `ListUsersInGroup`.
const PAGE: i32 = 60;

/// One user pool.
pub struct CognitoDirectory {
    client: Client,
    pool_id: String,
    /// The least time between two calls.
    interval: Duration,
    next: Mutex<Instant>,
}

impl CognitoDirectory {
    /// `per_second`: the most calls a second this directory makes (reads and writes).
    pub fn new(client: Client, pool_id: &str, per_second: f64) -> Self {
        let interval = if per_second > 0.0 {
            Duration::from_secs_f64(1.0 / per_second)
        } else {
            Duration::ZERO
        };
        CognitoDirectory {
            client,
            pool_id: pool_id.to_string(),
            interval,
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this call's slot.
    async fn pace(&self) {
        let mut next = self.next.lock().await;
        let now = Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        }
        *next = Instant::now().max(*next) + self.interval;
    }

    async fn list_users(&self) -> Result<Vec<UserType>, StoreError> {
        let mut users = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.pace().await;
            let page = self
                .client
                .list_users()
                .user_pool_id(&self.pool_id)
                .limit(PAGE)
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(|e| error("list users", e))?;
            users.extend(page.users.unwrap_or_default());
            match page.pagination_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(users),
            }
        }
    }

    async fn members(&self, group: &str) -> Result<Vec<String>, StoreError> {
        let mut names = Vec::new();
        let mut token: Option<String> = None;
        loop {
            self.pace().await;
            let page = self
                .client
                .list_users_in_group()
                .user_pool_id(&self.pool_id)
                .group_name(group)
                .limit(PAGE)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| error("list a group's members", e))?;
            names.extend(
                page.users
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|u| u.username),
            );
            match page.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(names),
            }
        }
    }

    /// Confirms an account with a password nobody knows: a temporary one would expire, and
    /// an account waiting for its first password cannot reset it.
    async fn confirm(&self, username: &str) -> Result<(), StoreError> {
        self.pace().await;
        self.client
            .admin_set_user_password()
            .user_pool_id(&self.pool_id)
            .username(username)
            .password(Self::unknown_password())
            .permanent(true)
            .send()
            .await
            .map_err(|e| error("confirm a copy", e))?;
        Ok(())
    }

    async fn add_to_group(&self, username: &str, group: &str) -> Result<(), StoreError> {
        self.pace().await;
        self.client
            .admin_add_user_to_group()
            .user_pool_id(&self.pool_id)
            .username(username)
            .group_name(group)
            .send()
            .await
            .map_err(|e| error("add to a group", e))?;
        Ok(())
    }

    /// A password nobody is told: the copy's user signs in with a code sent to their
    /// e-mail (or sets a password of their own the same way), never with this one.
    fn unknown_password() -> String {
        format!(
            "{}{}-Aa1",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    }
}

fn attribute(name: &str, value: &str) -> AttributeType {
    AttributeType::builder()
        .name(name)
        .value(value)
        .build()
        .expect("name and value are set")
}

fn account_of(user: UserType) -> Option<Account> {
    let attrs: BTreeMap<String, String> = user
        .attributes
        .unwrap_or_default()
        .into_iter()
        .filter_map(|a| Some((a.name, a.value?)))
        .collect();
    Some(Account {
        username: user.username?,
        sub: attrs.get("sub").cloned().unwrap_or_default(),
        email: attrs.get("email").cloned(),
        email_verified: attrs.get("email_verified").map(String::as_str) == Some("true"),
        medidocs_id: attrs.get(ID_ATTRIBUTE).filter(|v| !v.is_empty()).cloned(),
        origin: attrs
            .get(ORIGIN_ATTRIBUTE)
            .filter(|v| !v.is_empty())
            .cloned(),
        groups: Default::default(),
        enabled: user.enabled,
        confirmed: user.user_status == Some(UserStatusType::Confirmed),
    })
}

/// What a refused call means for the sync: the account's own trouble (it goes on), or the
/// pool's (the run stops).
fn error<E>(
    what: &str,
    e: aws_sdk_cognitoidentityprovider::error::SdkError<
        E,
        aws_sdk_cognitoidentityprovider::config::http::HttpResponse,
    >,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().map(str::to_string);
    let status = e.raw_response().map(|r| r.status().as_u16());
    match (code.as_deref(), status) {
        // Cognito's word for going too fast (HTTP 400); LimitExceededException is a
        // resource limit, not a rate.
        (Some("TooManyRequestsException"), _) | (_, Some(429)) => StoreError::Throttled {
            source: Box::new(e),
        },
        (Some("UserNotFoundException"), _) => StoreError::not_found(what),
        (Some("UsernameExistsException" | "AliasExistsException"), _) => {
            StoreError::AlreadyExists { what: what.into() }
        }
        // Any other refusal is about this account or this request: the run goes on.
        (_, Some(400..=499)) => StoreError::InvalidInput {
            what: format!("{what}: {}", describe(&e)),
        },
        // The service failing, or not reached: the run ends, the next one carries on.
        _ => {
            let detail = describe(&e);
            StoreError::unavailable(format!("{what}: {detail}"), e)
        }
    }
}

#[async_trait]
impl AccountDirectory for CognitoDirectory {
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let mut accounts: BTreeMap<String, Account> = self
            .list_users()
            .await?
            .into_iter()
            .filter_map(account_of)
            .map(|a| (a.username.clone(), a))
            .collect();
        for group in ROLE_GROUPS {
            for name in self.members(group).await? {
                if let Some(a) = accounts.get_mut(&name) {
                    a.groups.insert(group.to_string());
                }
            }
        }
        Ok(accounts.into_values().collect())
    }

    async fn apply(&self, action: &Action) -> Result<(), StoreError> {
        let pool = &self.pool_id;
        match action {
            Action::Create(a) => {
                let mut attrs = vec![
                    attribute(ID_ATTRIBUTE, a.id()),
                    attribute(ORIGIN_ATTRIBUTE, a.origin.as_deref().unwrap_or_default()),
                ];
                if let Some(email) = &a.email {
                    attrs.push(attribute("email", email));
                    attrs.push(attribute(
                        "email_verified",
                        if a.email_verified { "true" } else { "false" },
                    ));
                }
                self.pace().await;
                // A pool that signs in by e-mail takes the e-mail as the new account's
                // name (and names it by a generated id); one that does not, the username.
                let sign_in = a.email.as_deref().unwrap_or(&a.username);
                self.client
                    .admin_create_user()
                    .user_pool_id(pool)
                    .username(sign_in)
                    .set_user_attributes(Some(attrs))
                    // No invitation: the account already exists for its user, at home.
                    .message_action(MessageActionType::Suppress)
                    .send()
                    .await
                    .map_err(|e| error("create a copy", e))?;
                self.confirm(sign_in).await?;
                for group in a
                    .groups
                    .iter()
                    .filter(|g| ROLE_GROUPS.contains(&g.as_str()))
                {
                    self.add_to_group(sign_in, group).await?;
                }
            }
            Action::Confirm { username } => self.confirm(username).await?,
            Action::SetEmail {
                username,
                email,
                verified,
            } => {
                self.pace().await;
                self.client
                    .admin_update_user_attributes()
                    .user_pool_id(pool)
                    .username(username)
                    .user_attributes(attribute("email", email))
                    .user_attributes(attribute(
                        "email_verified",
                        if *verified { "true" } else { "false" },
                    ))
                    .send()
                    .await
                    .map_err(|e| error("set a copy's e-mail", e))?;
            }
            Action::AddToGroup { username, group } => self.add_to_group(username, group).await?,
            Action::RemoveFromGroup { username, group } => {
                self.pace().await;
                self.client
                    .admin_remove_user_from_group()
                    .user_pool_id(pool)
                    .username(username)
                    .group_name(group)
                    .send()
                    .await
                    .map_err(|e| error("remove from a group", e))?;
            }
            Action::Disable { username } => {
                self.pace().await;
                self.client
                    .admin_disable_user()
                    .user_pool_id(pool)
                    .username(username)
                    .send()
                    .await
                    .map_err(|e| error("disable a copy", e))?;
            }
        }
        Ok(())
    }
}
