//! Accounts that survive a region: each region's user pool holds a copy of the other's
//! accounts, made by the identity sync, so that a doctor or patient can sign in where the
//! service is running with the same Medi-Advice id.
//!
//! The rule is a pure function of the two pools' accounts ([`plan`]): what to change in
//! each pool, and what cannot be matched (reported, never guessed). An account is changed
//! in its home region, the region it was made in; the copy in the other region carries
//! that home in `custom:origin`, and follows it:
//! - an account without a Medi-Advice id is known to the records by its `sub` (the API
//!   falls back to it); its copy carries that `sub` as its id (`custom:medidocs_id` is
//!   written once, when an account is made, so the home account is never changed);
//! - a copy is made for every home account missing from the other pool, with the same
//!   username, e-mail, id and groups, and no password anyone knows (its user signs in with
//!   a code sent to their e-mail, [`Action::Create`]);
//! - a copy's e-mail and groups follow its home account; a copy whose home account is
//!   disabled or gone is disabled. A copy is never enabled again by the sync: a disabled
//!   account may have been disabled for a reason in the region that was running (during a
//!   failover), and a person decides.
//! - accounts made in the other region (during a failover) are that region's to copy:
//!   the sync runs in both regions, each copying its own home accounts.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;

use crate::ports::StoreError;

/// The custom attribute that carries an account's Medi-Advice id (the records' subject).
pub const ID_ATTRIBUTE: &str = "custom:medidocs_id";
/// The custom attribute that names a copy's home region.
pub const ORIGIN_ATTRIBUTE: &str = "custom:origin";

/// An account in a user pool, as the sync sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub username: String,
    /// The pool's own id for the account (different in each pool).
    pub sub: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// `custom:medidocs_id`.
    pub medidocs_id: Option<String>,
    /// `custom:origin`: the home region of a copy; `None` for an account made here.
    pub origin: Option<String>,
    pub groups: BTreeSet<String>,
    pub enabled: bool,
    /// Whether it has a password of its own (Cognito's CONFIRMED), not one still to set.
    pub confirmed: bool,
}

impl Account {
    /// The name its user signs in with: the e-mail (the pools sign in by e-mail), else the
    /// username.
    pub fn sign_in(&self) -> String {
        self.email
            .as_deref()
            .unwrap_or(&self.username)
            .to_lowercase()
    }

    /// The id the records use: `custom:medidocs_id`, else the `sub`.
    pub fn id(&self) -> &str {
        self.medidocs_id.as_deref().unwrap_or(&self.sub)
    }
}

/// One change to one pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Make the copy of a home account (`origin` set, e-mail verified as at home, enabled,
    /// a random password nobody is told, in its groups).
    Create(Account),
    /// Confirm a copy left waiting for its first password (a run cut short between making
    /// it and confirming it): a random password nobody is told, as at creation.
    Confirm {
        username: String,
    },
    /// A copy's e-mail, as at home.
    SetEmail {
        username: String,
        email: String,
        verified: bool,
    },
    AddToGroup {
        username: String,
        group: String,
    },
    RemoveFromGroup {
        username: String,
        group: String,
    },
    Disable {
        username: String,
    },
}

impl Action {
    /// The account it changes.
    pub fn username(&self) -> &str {
        match self {
            Action::Confirm { username }
            | Action::SetEmail { username, .. }
            | Action::AddToGroup { username, .. }
            | Action::RemoveFromGroup { username, .. }
            | Action::Disable { username } => username,
            Action::Create(a) => &a.username,
        }
    }

    /// Its name in reports and logs (no personal data: the kind of change only).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Create(_) => "create",
            Action::Confirm { .. } => "confirm",
            Action::SetEmail { .. } => "set_email",
            Action::AddToGroup { .. } => "add_to_group",
            Action::RemoveFromGroup { .. } => "remove_from_group",
            Action::Disable { .. } => "disable",
        }
    }
}

/// Why two accounts cannot be matched: reported for a person to settle, never guessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Conflict {
    /// An account in the other pool signs in with the same name (e-mail) and has another
    /// id, or none.
    SignInTaken,
    /// An account in the other pool has the same id and was not copied from here (made
    /// there by hand, or copied from elsewhere): it is left alone.
    IdTaken,
    /// A home account without a verified e-mail: its copy could never reset its password
    /// or receive a code, so it is not copied (nor its e-mail changed) until it has one.
    UnverifiedEmail,
    /// More copies to disable than a run may disable (a home pool read empty or wrong
    /// must not disable everyone): none is disabled.
    TooManyDisables,
    /// A copy disabled in the other pool whose home account is enabled: enabling it again
    /// is a person's decision.
    DisabledCopy,
}

impl Conflict {
    pub fn as_str(self) -> &'static str {
        match self {
            Conflict::SignInTaken => "sign_in_taken",
            Conflict::IdTaken => "id_taken",
            Conflict::UnverifiedEmail => "unverified_email",
            Conflict::TooManyDisables => "too_many_disables",
            Conflict::DisabledCopy => "disabled_copy",
        }
    }
}

/// What the sync does to the two pools.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Changes to the other pool.
    pub other: Vec<Action>,
    /// What cannot be done, each with the id of the home account it is about (an opaque
    /// id, never a name or an e-mail), for a person to settle.
    pub conflicts: Vec<(String, Conflict)>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.other.is_empty()
    }
}

/// The most copies one run disables: a few percent of them, at least ten.
pub fn disable_limit(copies: usize) -> usize {
    (copies / 20).max(10)
}

/// Two e-mails as a sign-in compares them.
fn same_email(a: Option<&str>, b: Option<&str>) -> bool {
    a.map(str::to_lowercase) == b.map(str::to_lowercase)
}

/// What to change so that the other pool holds a copy of every account made in the home
/// pool (`home_region`'s), and each copy follows its home account. Only copies made from
/// here (`custom:origin` = `home_region`) are ever changed.
pub fn plan(home_region: &str, home: &[Account], other: &[Account]) -> Plan {
    let mut out = Plan::default();
    let ours = |a: &&Account| a.origin.as_deref() == Some(home_region);
    let copies: BTreeMap<&str, &Account> = other
        .iter()
        .filter(ours)
        .filter_map(|a| a.medidocs_id.as_deref().map(|id| (id, a)))
        .collect();
    let others_ids: BTreeSet<&str> = other
        .iter()
        .filter(|a| !ours(a))
        .filter_map(|a| a.medidocs_id.as_deref())
        .collect();
    let by_sign_in: BTreeMap<String, &Account> = other.iter().map(|a| (a.sign_in(), a)).collect();
    let mut matched: BTreeSet<&str> = BTreeSet::new();
    let mut disables = Vec::new();
    // The home pool's own accounts (not copies of the other's).
    for account in home.iter().filter(|a| a.origin.is_none()) {
        let id = account.id();
        let verified = account.email.is_some() && account.email_verified;
        let Some(copy) = copies.get(id) else {
            if others_ids.contains(id) {
                out.conflicts.push((id.to_string(), Conflict::IdTaken));
            } else if by_sign_in.contains_key(&account.sign_in()) {
                out.conflicts.push((id.to_string(), Conflict::SignInTaken));
            } else if !account.enabled {
                // A disabled account is not copied: it could not sign in anyway.
            } else if !verified {
                out.conflicts
                    .push((id.to_string(), Conflict::UnverifiedEmail));
            } else {
                out.other.push(Action::Create(Account {
                    sub: String::new(),
                    medidocs_id: Some(id.to_string()),
                    origin: Some(home_region.to_string()),
                    ..account.clone()
                }));
            }
            continue;
        };
        matched.insert(copy.username.as_str());
        // The copy's own username: a pool that signs in by e-mail names each account by a
        // generated id of its own.
        let username = copy.username.clone();
        if !copy.confirmed {
            out.other.push(Action::Confirm {
                username: username.clone(),
            });
        }
        let email_differs = !same_email(account.email.as_deref(), copy.email.as_deref())
            || copy.email_verified != account.email_verified;
        match (&account.email, verified) {
            (Some(email), true) if email_differs => out.other.push(Action::SetEmail {
                username: username.clone(),
                email: email.clone(),
                verified: true,
            }),
            // An e-mail changed at home and not verified yet: the copy keeps the last
            // verified one.
            _ if email_differs => out
                .conflicts
                .push((id.to_string(), Conflict::UnverifiedEmail)),
            _ => {}
        }
        for group in account.groups.difference(&copy.groups) {
            out.other.push(Action::AddToGroup {
                username: username.clone(),
                group: group.clone(),
            });
        }
        for group in copy.groups.difference(&account.groups) {
            out.other.push(Action::RemoveFromGroup {
                username: username.clone(),
                group: group.clone(),
            });
        }
        match (account.enabled, copy.enabled) {
            (false, true) => disables.push(Action::Disable { username }),
            (true, false) => out.conflicts.push((id.to_string(), Conflict::DisabledCopy)),
            _ => {}
        }
    }
    // Copies made from here whose home account is gone.
    for copy in other.iter().filter(ours) {
        if !matched.contains(copy.username.as_str()) && copy.enabled {
            disables.push(Action::Disable {
                username: copy.username.clone(),
            });
        }
    }
    let copies_here = other.iter().filter(ours).count();
    if disables.len() > disable_limit(copies_here) {
        out.conflicts
            .push((String::new(), Conflict::TooManyDisables));
    } else {
        out.other.extend(disables);
    }
    out
}

/// A user pool: its accounts, and the changes the sync makes to it.
#[async_trait]
pub trait AccountDirectory: Send + Sync {
    /// Every account, with its groups.
    async fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// Makes one change.
    async fn apply(&self, action: &Action) -> Result<(), StoreError>;
}

/// What one run of the sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub home_accounts: usize,
    pub other_accounts: usize,
    /// Changes made, by kind.
    pub applied: BTreeMap<&'static str, usize>,
    /// Changes left for the next run (the run's budget of changes was spent, or the pool
    /// throttled or failed).
    pub deferred: usize,
    /// Changes the pool refused, by kind (planned again next run).
    pub failed: BTreeMap<&'static str, usize>,
    /// Accounts that cannot be matched, by kind of conflict.
    pub conflicts: BTreeMap<&'static str, usize>,
    /// The ids of the home accounts in conflict (opaque ids, at most [`REPORTED_IDS`]),
    /// so that a person can find and settle them.
    pub conflict_ids: Vec<(&'static str, String)>,
}

/// The most conflict ids a run's report names.
pub const REPORTED_IDS: usize = 50;

/// One run: reads both pools at once, plans, and makes at most `budget` changes to the
/// other, while `keep_going()` says there is time. A throttled or unavailable pool ends
/// the run; a change refused for one account is counted and the run goes on. What is left
/// is planned again next run: the plan depends only on the pools, so a run cut short
/// loses nothing.
pub async fn sync(
    home_region: &str,
    home: &dyn AccountDirectory,
    other: &dyn AccountDirectory,
    budget: usize,
    keep_going: &(dyn Fn() -> bool + Send + Sync),
) -> Result<SyncReport, StoreError> {
    let (home_accounts, other_accounts) = tokio::try_join!(home.accounts(), other.accounts())?;
    let plan = plan(home_region, &home_accounts, &other_accounts);
    let mut report = SyncReport {
        home_accounts: home_accounts.len(),
        other_accounts: other_accounts.len(),
        ..SyncReport::default()
    };
    for (id, conflict) in &plan.conflicts {
        *report.conflicts.entry(conflict.as_str()).or_default() += 1;
        if report.conflict_ids.len() < REPORTED_IDS && !id.is_empty() {
            report.conflict_ids.push((conflict.as_str(), id.clone()));
        }
    }
    let mut stopped = false;
    for (i, action) in plan.other.iter().enumerate() {
        if stopped || i >= budget || !keep_going() {
            report.deferred += 1;
            continue;
        }
        match other.apply(action).await {
            Ok(()) => *report.applied.entry(action.kind()).or_default() += 1,
            // The pool is busy or down: the rest waits for the next run.
            Err(StoreError::Throttled { .. } | StoreError::Unavailable { .. }) => {
                stopped = true;
                report.deferred += 1;
            }
            // This account only (say, made in between by someone else).
            Err(_) => *report.failed.entry(action.kind()).or_default() += 1,
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(username: &str, id: Option<&str>, origin: Option<&str>, groups: &[&str]) -> Account {
        Account {
            username: username.into(),
            sub: format!("sub-{username}-{}", origin.unwrap_or("here")),
            email: Some(format!("{username}@example.ie")),
            email_verified: true,
            medidocs_id: id.map(str::to_string),
            origin: origin.map(str::to_string),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            enabled: true,
            confirmed: true,
        }
    }

    #[test]
    fn a_home_account_is_copied_once_with_its_id_and_groups() {
        let home = [account("aoife", Some("d-1"), None, &["doctor"])];
        let plan1 = plan("eu-west-1", &home, &[]);
        let [Action::Create(copy)] = plan1.other.as_slice() else {
            panic!("{plan1:?}");
        };
        assert_eq!(copy.medidocs_id.as_deref(), Some("d-1"));
        assert_eq!(copy.origin.as_deref(), Some("eu-west-1"));
        assert!(copy.groups.contains("doctor"));
        // Once copied, nothing more to do.
        let other = [account(
            "aoife",
            Some("d-1"),
            Some("eu-west-1"),
            &["doctor"],
        )];
        assert!(plan("eu-west-1", &home, &other).is_empty());
    }

    #[test]
    fn an_account_without_an_id_is_copied_with_its_sub_as_the_id() {
        let home = [account("p-77", None, None, &["patient"])];
        let p = plan("eu-west-1", &home, &[]);
        let [Action::Create(copy)] = p.other.as_slice() else {
            panic!("{p:?}");
        };
        assert_eq!(copy.medidocs_id.as_deref(), Some("sub-p-77-here"));
        // The copy answers to the same id as its home account does.
        let mut made = copy.clone();
        made.sub = "another-sub".into();
        assert_eq!(made.id(), home[0].id());
        assert!(plan("eu-west-1", &home, &[made]).is_empty());
    }

    #[test]
    fn a_copy_follows_its_home_account_but_is_never_enabled_again() {
        let mut home = account("ciara", Some("d-2"), None, &["doctor"]);
        home.email = Some("ciara@new.example.ie".into());
        home.groups = ["staff".to_string()].into();
        let copy = account("ciara", Some("d-2"), Some("eu-west-1"), &["doctor"]);
        let p = plan(
            "eu-west-1",
            std::slice::from_ref(&home),
            std::slice::from_ref(&copy),
        );
        let kinds: Vec<&str> = p.other.iter().map(Action::kind).collect();
        assert_eq!(kinds, ["set_email", "add_to_group", "remove_from_group"]);
        // Disabled at home: disabled in the copy.
        home.enabled = false;
        let p = plan(
            "eu-west-1",
            std::slice::from_ref(&home),
            std::slice::from_ref(&copy),
        );
        assert!(p.other.contains(&Action::Disable {
            username: "ciara".into()
        }));
        // Disabled in the copy only: reported, not undone.
        home.enabled = true;
        let mut disabled = copy.clone();
        disabled.enabled = false;
        disabled.groups = home.groups.clone();
        disabled.email = home.email.clone();
        let p = plan("eu-west-1", &[home], &[disabled]);
        assert!(p.other.is_empty());
        assert_eq!(p.conflicts, [("d-2".to_string(), Conflict::DisabledCopy)]);
    }

    /// A pool in memory that can be told to throttle after some changes.
    struct Pool {
        accounts: std::sync::Mutex<Vec<Account>>,
        throttle_after: Option<usize>,
        applied: std::sync::Mutex<usize>,
    }

    #[async_trait]
    impl AccountDirectory for Pool {
        async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
            Ok(self.accounts.lock().unwrap().clone())
        }
        async fn apply(&self, action: &Action) -> Result<(), StoreError> {
            let mut applied = self.applied.lock().unwrap();
            if self.throttle_after.is_some_and(|n| *applied >= n) {
                return Err(StoreError::Throttled {
                    source: "TooManyRequestsException".into(),
                });
            }
            *applied += 1;
            if let Action::Create(a) = action {
                self.accounts.lock().unwrap().push(a.clone());
            }
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_run_stops_at_its_budget_or_when_throttled_and_the_next_finishes() {
        let pool = |accounts: Vec<Account>, throttle_after| Pool {
            accounts: std::sync::Mutex::new(accounts),
            throttle_after,
            applied: std::sync::Mutex::new(0),
        };
        let home = pool(
            (0..5)
                .map(|i| {
                    account(
                        &format!("u{i}"),
                        Some(&format!("p-{i}")),
                        None,
                        &["patient"],
                    )
                })
                .collect(),
            None,
        );
        let other = pool(vec![], Some(3));
        let first = sync("eu-west-1", &home, &other, 4, &|| true).await.unwrap();
        assert_eq!(first.applied.get("create"), Some(&3));
        // The fourth was throttled; the fifth is past it.
        assert_eq!(first.deferred, 2);
        let other = pool(other.accounts.into_inner().unwrap(), None);
        let second = sync("eu-west-1", &home, &other, 1, &|| true).await.unwrap();
        assert_eq!(
            (second.applied.get("create"), second.deferred),
            (Some(&1), 1)
        );
        let third = sync("eu-west-1", &home, &other, 10, &|| true)
            .await
            .unwrap();
        assert_eq!((third.applied.get("create"), third.deferred), (Some(&1), 0));
        let done = sync("eu-west-1", &home, &other, 10, &|| true)
            .await
            .unwrap();
        assert!(done.applied.is_empty() && done.deferred == 0);
        assert_eq!(done.other_accounts, 5);
    }

    #[test]
    fn copies_of_gone_accounts_are_disabled_and_strangers_are_left_alone() {
        let other = [
            account("gone", Some("d-3"), Some("eu-west-1"), &["doctor"]),
            // Made in the recovery region during a failover: its own sync copies it back.
            account("new", Some("p-9"), None, &["patient"]),
            // Made there by hand, without an id; and one with an id of ours.
            account("manual", None, None, &["doctor"]),
            account("twin", Some("d-5"), None, &["doctor"]),
        ];
        let home = [
            // A copy of the recovery region's account: not this region's to copy.
            account("new", Some("p-9"), Some("us-east-1"), &["patient"]),
            // Same e-mail as an account there with no id; same id as one made there.
            account("manual", Some("d-4"), None, &["doctor"]),
            account("twin-home", Some("d-5"), None, &["doctor"]),
        ];
        let p = plan("eu-west-1", &home, &other);
        assert_eq!(
            p.other,
            [Action::Disable {
                username: "gone".into()
            }]
        );
        assert_eq!(
            p.conflicts,
            [
                ("d-4".to_string(), Conflict::SignInTaken),
                ("d-5".to_string(), Conflict::IdTaken)
            ]
        );
    }

    #[test]
    fn an_unverified_e_mail_is_not_copied_and_a_half_made_copy_is_confirmed() {
        let mut home = account("una", Some("p-1"), None, &["patient"]);
        home.email_verified = false;
        let p = plan("eu-west-1", std::slice::from_ref(&home), &[]);
        assert!(p.other.is_empty());
        assert_eq!(
            p.conflicts,
            [("p-1".to_string(), Conflict::UnverifiedEmail)]
        );
        // A copy made but never confirmed (the run ended in between): confirmed, and put
        // in its group.
        home.email_verified = true;
        let mut copy = account("una", Some("p-1"), Some("eu-west-1"), &[]);
        copy.confirmed = false;
        let p = plan("eu-west-1", &[home], &[copy]);
        let kinds: Vec<&str> = p.other.iter().map(Action::kind).collect();
        assert_eq!(kinds, ["confirm", "add_to_group"]);
    }

    #[test]
    fn a_home_pool_read_empty_disables_nobody() {
        let other: Vec<Account> = (0..40)
            .map(|i| {
                account(
                    &format!("u{i}"),
                    Some(&format!("p-{i}")),
                    Some("eu-west-1"),
                    &[],
                )
            })
            .collect();
        let p = plan("eu-west-1", &[], &other);
        assert!(p.other.is_empty());
        assert_eq!(p.conflicts, [(String::new(), Conflict::TooManyDisables)]);
        // A few gone at once are disabled.
        let p = plan("eu-west-1", &other[3..], &other[..]);
        assert_eq!(p.other.len(), 0, "copies are not home accounts");
        let home: Vec<Account> = other[3..]
            .iter()
            .map(|a| Account {
                origin: None,
                ..a.clone()
            })
            .collect();
        let p = plan("eu-west-1", &home, &other);
        assert_eq!(p.other.len(), 3);
    }
}
