//! The processing check's cache. Platforms call the check on every action, so answers come from
//! memory; but an answer must never be older than a change that committed before the check
//! started (no stale allow after a withdrawal returned, on any replica).
//!
//! Each check first learns the tenant's change counter with a read that starts after the check
//! arrived. Concurrent checks share one such read (a leader reads for everyone who arrived
//! before it started), so at 64 callers the database sees a fraction of the traffic. The cache
//! then catches up to that counter from the change log, dropping what changed, and answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use dps_types::TenantId;
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::domain::{Decision, LawfulBasis, PersonState, PurposeId, decide};
use crate::store::{Store, StoreError, TenantSnapshot};

/// Most people cached per tenant; beyond it an arbitrary tenth is dropped.
const MAX_PERSONS: usize = 250_000;
/// Catching up over more changes than this drops the whole tenant instead.
const MAX_CATCH_UP: i64 = 10_000;

/// The answer to one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Decided, with the purpose's basis.
    Decided(Decision, LawfulBasis),
    /// No such purpose in the tenant.
    PurposeUnknown,
    /// No such person in the tenant.
    PersonUnknown,
}

/// Answers processing checks from a cache kept fresh by the change log.
#[derive(Debug, Clone)]
pub struct Checker {
    store: Store,
    tenants: Arc<Mutex<HashMap<TenantId, Arc<TenantCache>>>>,
}

#[derive(Debug)]
struct TenantCache {
    tenant: TenantId,
    waiters: Mutex<Waiters>,
    catching_up: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct Waiters {
    leading: bool,
    waiting: Vec<oneshot::Sender<Option<i64>>>,
}

#[derive(Debug, Default)]
struct State {
    applied: i64,
    tenant: Option<Arc<TenantSnapshot>>,
    persons: HashMap<String, Arc<PersonState>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Checker {
    /// A checker over the store.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            tenants: Arc::default(),
        }
    }

    fn tenant(&self, tenant: &TenantId) -> Arc<TenantCache> {
        lock(&self.tenants)
            .entry(tenant.clone())
            .or_insert_with(|| {
                Arc::new(TenantCache {
                    tenant: tenant.clone(),
                    waiters: Mutex::default(),
                    catching_up: tokio::sync::Mutex::new(()),
                    state: Mutex::default(),
                })
            })
            .clone()
    }

    /// Decides each `(person, purpose)` at `now`, as of every change committed before the call.
    pub async fn check(
        &self,
        tenant: &TenantId,
        items: &[(&str, PurposeId)],
        now: OffsetDateTime,
    ) -> Result<Vec<Outcome>, StoreError> {
        let cache = self.tenant(tenant);
        let target = self.counter(&cache).await?;
        self.catch_up(&cache, target).await?;
        let snapshot = self.tenant_snapshot(&cache).await?;
        let mut out = Vec::with_capacity(items.len());
        for (person, purpose) in items {
            let Some(rules) = snapshot.purposes.get(purpose) else {
                out.push(Outcome::PurposeUnknown);
                continue;
            };
            let Some(state) = self.person(&cache, person).await? else {
                out.push(Outcome::PersonUnknown);
                continue;
            };
            out.push(Outcome::Decided(
                decide(rules, &snapshot.rules, &state, now),
                rules.basis,
            ));
        }
        Ok(out)
    }

    /// The tenant's change counter, read after this call began; shared with concurrent callers.
    async fn counter(&self, cache: &Arc<TenantCache>) -> Result<i64, StoreError> {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut w = lock(&cache.waiters);
            w.waiting.push(tx);
            !std::mem::replace(&mut w.leading, true)
        };
        if lead {
            let (store, cache) = (self.store.clone(), cache.clone());
            tokio::spawn(async move {
                loop {
                    let batch = {
                        let mut w = lock(&cache.waiters);
                        if w.waiting.is_empty() {
                            w.leading = false;
                            return;
                        }
                        std::mem::take(&mut w.waiting)
                    };
                    // Every waiter in `batch` arrived before this read starts.
                    let seq = store.change_seq(&cache.tenant).await.ok();
                    for waiter in batch {
                        let _ = waiter.send(seq);
                    }
                }
            });
        }
        match rx.await {
            Ok(Some(seq)) => Ok(seq),
            // The shared read failed: read alone, to report this call's own error.
            _ => self.store.change_seq(&cache.tenant).await,
        }
    }

    async fn catch_up(&self, cache: &TenantCache, target: i64) -> Result<(), StoreError> {
        if lock(&cache.state).applied >= target {
            return Ok(());
        }
        let _one_at_a_time = cache.catching_up.lock().await;
        let applied = lock(&cache.state).applied;
        if applied >= target {
            return Ok(());
        }
        let changes = if target - applied > MAX_CATCH_UP {
            None
        } else {
            Some(
                self.store
                    .changes_between(&cache.tenant, applied, target)
                    .await?,
            )
        };
        let mut state = lock(&cache.state);
        match changes {
            None => {
                state.persons.clear();
                state.tenant = None;
            }
            Some(changes) => {
                for (kind, person) in changes {
                    match person {
                        Some(person) if kind.is_personal() => {
                            state.persons.remove(&person);
                        }
                        _ => state.tenant = None,
                    }
                }
            }
        }
        state.applied = target;
        Ok(())
    }

    async fn tenant_snapshot(
        &self,
        cache: &TenantCache,
    ) -> Result<Arc<TenantSnapshot>, StoreError> {
        if let Some(snapshot) = &lock(&cache.state).tenant {
            return Ok(snapshot.clone());
        }
        let snapshot = Arc::new(self.store.tenant_snapshot(&cache.tenant).await?);
        let mut state = lock(&cache.state);
        // A snapshot older than what the cache applied may miss a change already skipped over.
        if snapshot.seq >= state.applied {
            state.tenant = Some(snapshot.clone());
        }
        Ok(snapshot)
    }

    async fn person(
        &self,
        cache: &TenantCache,
        person: &str,
    ) -> Result<Option<Arc<PersonState>>, StoreError> {
        if let Some(state) = lock(&cache.state).persons.get(person) {
            return Ok(Some(state.clone()));
        }
        let snapshot = self.store.person_snapshot(&cache.tenant, person).await?;
        let Some(found) = snapshot.person else {
            return Ok(None);
        };
        let found = Arc::new(found);
        let mut state = lock(&cache.state);
        if snapshot.seq >= state.applied {
            if state.persons.len() >= MAX_PERSONS {
                let drop: Vec<String> = state
                    .persons
                    .keys()
                    .take(MAX_PERSONS / 10)
                    .cloned()
                    .collect();
                for key in drop {
                    state.persons.remove(&key);
                }
            }
            state.persons.insert(person.to_owned(), found.clone());
        }
        Ok(Some(found))
    }
}
