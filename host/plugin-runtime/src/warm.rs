//! Warm plugin instances: a small pool of idle (store, instance) pairs per plugin version, keyed
//! by tenant, so a request borrows an instance instead of creating and dropping one.
//!
//! What keeps tenants apart:
//! - an idle instance is filed under the tenant it served ([`TenantScope`]: an account, or the
//!   operator when accounting is off) and only ever handed to a request of that tenant;
//! - the pool lives inside the version (`ProviderPlugin`, `RouterPlugin`): when the registry
//!   stops serving a version (hot swap, canary rollback, removal) its pool is closed and emptied,
//!   and it goes with the version's last `Arc`;
//! - the caller returns an instance only after a clean request: any trap, timeout, fault, or a
//!   call left unfinished (the request was cancelled) drops it instead;
//! - an instance is retired after `max_requests` requests or `max_age`, when its memories grew
//!   past their initial size by more than `max_growth_bytes`, or when it wrote to stderr.
//!
//! One short `Mutex` per version guards the pool: one lock to borrow, one to return; stores are
//! dropped outside it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::sandbox::{SandboxState, WarmLimits};

/// The tenant a request runs for: the only requests a warm instance may serve after it served
/// this one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantScope(Option<Arc<str>>);

impl TenantScope {
    /// The operator: every request when accounting is off.
    pub const OPERATOR: TenantScope = TenantScope(None);

    /// The tenant of a request of `account` (`None`: accounting is off, the operator).
    pub fn of(account: Option<&str>) -> TenantScope {
        TenantScope(account.map(Arc::from))
    }
}

/// An instance with its store, and what its retirement depends on.
pub(crate) struct Warm<I> {
    /// Its store.
    pub store: Store<SandboxState>,
    /// The instance.
    pub instance: I,
    /// A guest resource the last request left open (a stream decoder), to drop before the
    /// next request runs.
    pub leftover: Option<ResourceAny>,
    born: Instant,
    served: u32,
}

impl<I> Warm<I> {
    /// A newly instantiated instance.
    pub(crate) fn new(mut store: Store<SandboxState>, instance: I) -> Self {
        store.data_mut().instantiated();
        Warm {
            store,
            instance,
            leftover: None,
            born: Instant::now(),
            served: 0,
        }
    }

    /// Prepares it for one more request.
    fn begin_request(&mut self) {
        self.served = self.served.saturating_add(1);
        self.store.data_mut().begin_request();
    }

    /// Whether it has served its last request.
    fn retired(&self, limits: &WarmLimits) -> bool {
        self.served >= limits.max_requests
            || self.born.elapsed() >= limits.max_age
            || !self.store.data().reusable(limits.max_growth_bytes)
    }
}

/// Idle instances held by every pool of the engine, within a bound, so idle instances never take
/// the allocator's slots from live ones.
#[derive(Debug)]
pub(crate) struct IdleBudget {
    held: AtomicUsize,
    max: usize,
}

impl IdleBudget {
    /// A budget of `max` idle instances.
    pub(crate) fn new(max: usize) -> Self {
        IdleBudget {
            held: AtomicUsize::new(0),
            max,
        }
    }

    fn reserve(&self) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held < self.max).then_some(held + 1)
            })
            .is_ok()
    }

    fn release(&self, count: usize) {
        self.held.fetch_sub(count, Ordering::AcqRel);
    }
}

/// The idle instances of one plugin version.
pub(crate) struct WarmPool<I> {
    limits: WarmLimits,
    budget: Arc<IdleBudget>,
    idle: Mutex<Idle<I>>,
}

struct Idle<I> {
    /// Whether the version still serves: a closed pool keeps nothing.
    open: bool,
    tenants: HashMap<TenantScope, Tenant<I>>,
    count: usize,
    /// Advances at every borrow and return, to find the least recently used tenant.
    clock: u64,
}

struct Tenant<I> {
    instances: Vec<Warm<I>>,
    used: u64,
}

impl<I> WarmPool<I> {
    /// An empty, open pool keeping at most `limits.idle` instances, within `budget`.
    pub(crate) fn new(limits: WarmLimits, budget: Arc<IdleBudget>) -> Self {
        WarmPool {
            limits,
            budget,
            idle: Mutex::new(Idle {
                open: true,
                tenants: HashMap::new(),
                count: 0,
                clock: 0,
            }),
        }
    }

    /// An idle instance that served `scope` before, ready for one more request; `None` when
    /// there is none.
    pub(crate) fn take(&self, scope: &TenantScope) -> Option<Warm<I>> {
        let mut expired = Vec::new();
        let found = {
            let mut idle = self.lock();
            idle.clock += 1;
            let clock = idle.clock;
            let mut found = None;
            let mut taken = 0;
            if let Some(tenant) = idle.tenants.get_mut(scope) {
                tenant.used = clock;
                while let Some(warm) = tenant.instances.pop() {
                    taken += 1;
                    if warm.born.elapsed() >= self.limits.max_age {
                        expired.push(warm);
                    } else {
                        found = Some(warm);
                        break;
                    }
                }
                if tenant.instances.is_empty() {
                    idle.tenants.remove(scope);
                }
            }
            idle.count -= taken;
            self.budget.release(taken);
            found
        };
        drop(expired);
        found.map(|mut warm| {
            warm.begin_request();
            warm
        })
    }

    /// Returns an instance after a clean request of `scope`. It is dropped instead when the
    /// pool is closed, the instance is due for retirement, or no idle room is left; to make
    /// room, the least recently used tenant's oldest instance goes.
    pub(crate) fn put(&self, scope: TenantScope, warm: Warm<I>) {
        if warm.retired(&self.limits) || self.limits.idle == 0 {
            return;
        }
        let mut evicted = None;
        let refused = {
            let mut idle = self.lock();
            if !idle.open {
                Some(warm)
            } else {
                if idle.count >= self.limits.idle {
                    evicted = idle.evict_least_recent();
                    if evicted.is_some() {
                        self.budget.release(1);
                    }
                }
                if idle.count < self.limits.idle && self.budget.reserve() {
                    idle.clock += 1;
                    let clock = idle.clock;
                    idle.count += 1;
                    let tenant = idle.tenants.entry(scope).or_insert_with(|| Tenant {
                        instances: Vec::new(),
                        used: clock,
                    });
                    tenant.used = clock;
                    tenant.instances.push(warm);
                    None
                } else {
                    Some(warm)
                }
            }
        };
        drop((evicted, refused));
    }

    /// Opens the pool (the version serves) or closes and empties it (it no longer does: a hot
    /// swap, a canary rollback or a removal).
    pub(crate) fn set_open(&self, open: bool) {
        let dropped = {
            let mut idle = self.lock();
            idle.open = open;
            if open {
                HashMap::new()
            } else {
                self.budget.release(idle.count);
                idle.count = 0;
                std::mem::take(&mut idle.tenants)
            }
        };
        drop(dropped);
    }

    /// Idle instances now.
    #[cfg(test)]
    fn idle(&self) -> usize {
        self.lock().count
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle<I>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<I> Idle<I> {
    /// Takes the oldest instance of the least recently used tenant.
    fn evict_least_recent(&mut self) -> Option<Warm<I>> {
        let scope = self
            .tenants
            .iter()
            .min_by_key(|(_, tenant)| tenant.used)
            .map(|(scope, _)| scope.clone())?;
        let tenant = self.tenants.get_mut(&scope)?;
        let oldest = (!tenant.instances.is_empty()).then(|| tenant.instances.remove(0));
        if tenant.instances.is_empty() {
            self.tenants.remove(&scope);
        }
        if oldest.is_some() {
            self.count -= 1;
        }
        oldest
    }
}

impl<I> Drop for WarmPool<I> {
    fn drop(&mut self) {
        self.budget.release(self.lock().count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::{SandboxLimits, new_store};
    use switchyard_domain::config::PluginsConfig;

    fn engine() -> wasmtime::Engine {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        wasmtime::Engine::new(&config).unwrap()
    }

    fn pool(idle: usize, max_requests: u32, budget: &Arc<IdleBudget>) -> WarmPool<u32> {
        let limits = WarmLimits {
            idle,
            max_requests,
            max_age: std::time::Duration::from_secs(60),
            max_growth_bytes: 1 << 20,
        };
        WarmPool::new(limits, budget.clone())
    }

    /// A store holding instance `tag`.
    fn warm(engine: &wasmtime::Engine, tag: u32) -> Warm<u32> {
        let limits = SandboxLimits::from_config(&PluginsConfig::default(), None);
        Warm::new(new_store(engine, &limits, "test"), tag)
    }

    fn account(id: &str) -> TenantScope {
        TenantScope::of(Some(id))
    }

    #[test]
    fn an_idle_instance_serves_only_the_tenant_it_served() {
        let (engine, budget) = (engine(), Arc::new(IdleBudget::new(10)));
        let pool = pool(4, 100, &budget);
        pool.put(account("a"), warm(&engine, 1));
        assert!(pool.take(&account("b")).is_none());
        assert!(pool.take(&TenantScope::OPERATOR).is_none());
        assert_eq!(pool.take(&account("a")).map(|w| w.instance), Some(1));
        assert!(pool.take(&account("a")).is_none());
        assert_eq!(budget.held.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_least_recently_used_tenant_makes_room() {
        let (engine, budget) = (engine(), Arc::new(IdleBudget::new(10)));
        let pool = pool(2, 100, &budget);
        pool.put(account("a"), warm(&engine, 1));
        pool.put(account("b"), warm(&engine, 2));
        let again = pool.take(&account("a")).unwrap();
        pool.put(account("a"), again);
        pool.put(account("c"), warm(&engine, 3));
        assert_eq!(pool.idle(), 2);
        assert!(
            pool.take(&account("b")).is_none(),
            "b was used least recently"
        );
        assert_eq!(pool.take(&account("a")).map(|w| w.instance), Some(1));
        assert_eq!(pool.take(&account("c")).map(|w| w.instance), Some(3));
    }

    #[test]
    fn a_worn_instance_or_a_closed_pool_keeps_nothing() {
        let (engine, budget) = (engine(), Arc::new(IdleBudget::new(10)));
        let pool = pool(4, 2, &budget);
        pool.put(account("a"), warm(&engine, 1));
        let once = pool.take(&account("a")).unwrap();
        pool.put(account("a"), once);
        let twice = pool.take(&account("a")).unwrap();
        pool.put(account("a"), twice);
        assert_eq!(pool.idle(), 0, "retired after max_requests");

        pool.put(account("a"), warm(&engine, 2));
        pool.set_open(false);
        assert_eq!(pool.idle(), 0);
        pool.put(account("a"), warm(&engine, 3));
        assert!(pool.take(&account("a")).is_none());
        assert_eq!(budget.held.load(Ordering::Relaxed), 0);
        pool.set_open(true);
        pool.put(account("a"), warm(&engine, 4));
        assert_eq!(pool.take(&account("a")).map(|w| w.instance), Some(4));
    }

    #[test]
    fn the_engine_budget_bounds_every_pool_together() {
        let (engine, budget) = (engine(), Arc::new(IdleBudget::new(1)));
        let first = pool(4, 100, &budget);
        let second = pool(4, 100, &budget);
        first.put(TenantScope::OPERATOR, warm(&engine, 1));
        second.put(TenantScope::OPERATOR, warm(&engine, 2));
        assert_eq!(second.idle(), 0, "no budget left");
        drop(first);
        second.put(TenantScope::OPERATOR, warm(&engine, 3));
        assert_eq!(second.idle(), 1, "the dropped pool gave its budget back");
    }

    #[test]
    fn memory_grown_past_the_bound_retires_an_instance() {
        let (engine, budget) = (engine(), Arc::new(IdleBudget::new(10)));
        let pool = pool(4, 100, &budget);
        let mut grown = warm(&engine, 1);
        let memory = wasmtime::Memory::new(&mut grown.store, wasmtime::MemoryType::new(1, None));
        let memory = memory.unwrap();
        memory.grow(&mut grown.store, 32).unwrap(); // 2 MiB past the 1 MiB bound
        pool.put(TenantScope::OPERATOR, grown);
        assert_eq!(pool.idle(), 0);
    }
}
